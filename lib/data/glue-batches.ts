// Padded batches of GLUE examples for fine-tuning: [CLS] a [SEP] (b [SEP]) with segment ids, padded with [PAD]
// after the real tokens up to the batch's longest example rounded up to a multiple of LENGTH_BUCKET (dynamic
// lengths: a batch of short sentences does not pay for maxLen positions), with a mask of the real tokens.
// Training batch k is a pure function of (seed, k), each epoch a fresh permutation, so a resumed run sees the
// data an uninterrupted one would.
import * as tf from "@tensorflow/tfjs";
import { Rng, seedFrom } from "../rng";
import { SPECIAL, type WordPieceTokenizer } from "./wordpiece";
import type { GlueExample } from "./glue";

/** Batch lengths are rounded up to a multiple of this (fewer distinct shapes, so the backends reuse buffers). */
export const LENGTH_BUCKET = 8;

const ORDER_SALT = 0x61e0;

/** One example as model input. */
export interface EncodedExample {
  ids: number[];
  segments: number[];
  /** Class id, or the STS-B score. */
  label: number;
}

/** One padded batch as flat row-major arrays of [B, T]. */
export interface GlueArrays {
  batchSize: number;
  seqLen: number;
  inputs: Int32Array; // [B*T] ids, [PAD] after the real tokens
  segments: Int32Array; // [B*T] 0 = sentence A (with [CLS]), 1 = sentence B
  mask: Float32Array; // [B*T] 1 at real tokens, 0 at padding
  labels: Float32Array; // [B]
}

/** A batch as tensors (owned by the caller). */
export interface GlueBatch {
  inputs: tf.Tensor2D; // [B, T] int32
  segments: tf.Tensor2D; // [B, T] int32
  mask: tf.Tensor2D; // [B, T] float32
  labels: tf.Tensor1D; // [B] int32 class ids, or float32 scores (regression)
}

/** Examples encoded with `tokenizer` at most `maxLen` ids each; `truncated` counts those that were cut. */
export function encodeExamples(tokenizer: WordPieceTokenizer, examples: readonly GlueExample[], maxLen: number): { encoded: EncodedExample[]; truncated: number } {
  let truncated = 0;
  const encoded = examples.map((e) => {
    const p = tokenizer.encodePair(e.a, e.b, maxLen);
    if (p.truncated) truncated++;
    return { ids: p.ids, segments: p.segments, label: e.label };
  });
  return { encoded, truncated };
}

/** Examples `indices` padded to their longest, rounded up to LENGTH_BUCKET (at most `maxLen`). */
export function padBatch(examples: readonly EncodedExample[], indices: readonly number[], maxLen: number): GlueArrays {
  const longest = Math.max(...indices.map((i) => examples[i].ids.length));
  if (longest > maxLen) throw new Error(`padBatch: an example has ${longest} ids, more than maxLen ${maxLen}`);
  const T = Math.min(maxLen, Math.ceil(longest / LENGTH_BUCKET) * LENGTH_BUCKET);
  const B = indices.length;
  const inputs = new Int32Array(B * T).fill(SPECIAL.PAD);
  const segments = new Int32Array(B * T);
  const mask = new Float32Array(B * T);
  const labels = new Float32Array(B);
  indices.forEach((i, b) => {
    const e = examples[i];
    inputs.set(e.ids, b * T);
    segments.set(e.segments, b * T);
    mask.fill(1, b * T, b * T + e.ids.length);
    labels[b] = e.label;
  });
  return { batchSize: B, seqLen: T, inputs, segments, mask, labels };
}

/** Tensors of a batch; labels int32 for classification, float32 for regression. */
export function toGlueBatch(a: GlueArrays, regression: boolean): GlueBatch {
  const shape: [number, number] = [a.batchSize, a.seqLen];
  return {
    inputs: tf.tensor2d(a.inputs, shape, "int32"),
    segments: tf.tensor2d(a.segments, shape, "int32"),
    mask: tf.tensor2d(a.mask, shape, "float32"),
    labels: regression ? tf.tensor1d(a.labels, "float32") : tf.tensor1d(Int32Array.from(a.labels), "int32"),
  };
}

/** Training batch `step` of `seed`: positions step*B .. of the endless sequence of epochs, each a fresh permutation. */
export function trainBatchIndices(count: number, batchSize: number, seed: number, step: number): number[] {
  if (count < 1) throw new Error("trainBatchIndices: no training examples");
  const out: number[] = [];
  let order: number[] | null = null;
  let orderEpoch = -1;
  for (let b = 0; b < batchSize; b++) {
    const position = step * batchSize + b;
    const epoch = Math.floor(position / count);
    if (epoch !== orderEpoch) {
      order = new Rng(seedFrom(seed, ORDER_SALT, epoch)).shuffle(Array.from({ length: count }, (_, i) => i));
      orderEpoch = epoch;
    }
    out.push(order![position % count]);
  }
  return out;
}

/** The dev examples in order, in batches of `batchSize` (the last one smaller). */
export function evalBatchIndices(count: number, batchSize: number): number[][] {
  return Array.from({ length: Math.ceil(count / batchSize) }, (_, k) =>
    Array.from({ length: Math.min(batchSize, count - k * batchSize) }, (_, i) => k * batchSize + i),
  );
}

/** Disposes every tensor of `batches`. */
export function disposeGlueBatches(batches: readonly GlueBatch[]): void {
  tf.dispose(batches.flatMap((b) => [b.inputs, b.segments, b.mask, b.labels]));
}
