// Latency of children on our engine: milliseconds per forward batch of a fixed shape on the current tfjs
// backend (`native` in practice), the median of repeated runs after warm-ups. What is timed is the encoder
// (embeddings, embedding LayerNorm and the child's sub-layers, `Supernet.hidden`) plus reading h_L back: the
// part that differs between children and that a compressed model runs downstream; the MLM head (the same
// [D, V] projection for every child) is not part of a deployed student.
// Timings drift by up to 1.5x on this 2-core VM as other processes come and go, so a latency budget must
// compare children measured in the same run (latencyTable interleaves them for that reason), never a
// number measured now against one measured earlier.
import * as tf from "@tensorflow/tfjs";
import { median } from "mathjs";
import type { Arch, SearchSpace } from "./types";
import { Supernet } from "./supernet";
import { archId, flops, paramCount, validateArch } from "./space";
import { Rng, seedFrom } from "../rng";

/** The measured shape and repetitions; defaults are our choices. */
export interface LatencyArgs {
  /** Sequences per forward batch (default 32: the small preset's training batch). */
  batchSize: number;
  /** Tokens per sequence (default: the space's seqLen, T of the preset). */
  seqLen?: number;
  /** Untimed forwards of each child before timing (default 3): first-call kernel setup, buffer-pool growth. */
  warmup: number;
  /** Timed forwards of each child; the median is reported (default 15). */
  repeats: number;
  /** Seed of the token ids and of the children's weights (values do not change the work done). Default 0. */
  seed: number;
}

export const DEFAULT_LATENCY_ARGS: LatencyArgs = { batchSize: 32, warmup: 3, repeats: 15, seed: 0 };

export interface LatencyRow {
  arch: Arch;
  archId: string;
  /** Parameters of the child (space.ts paramCount). */
  params: number;
  /** Forward FLOPs per sequence (space.ts flops). */
  flops: number;
  /** Median of `samplesMs`: milliseconds per forward batch of [batchSize, seqLen] tokens. */
  medianMs: number;
  /** Every timed forward, in order of measurement. */
  samplesMs: number[];
  batchSize: number;
  seqLen: number;
  /** The tfjs backend the forwards ran on. */
  backend: string;
}

function resolve(space: SearchSpace, partial: Partial<LatencyArgs>): Required<LatencyArgs> {
  const a = { ...DEFAULT_LATENCY_ARGS, seqLen: space.seqLen, ...partial };
  const int = (name: keyof LatencyArgs, v: number, min: number) => {
    if (!Number.isInteger(v) || v < min) throw new Error(`latency: ${name} must be an integer >= ${min}, got ${v}`);
  };
  int("batchSize", a.batchSize, 1);
  int("seqLen", a.seqLen, 1);
  int("warmup", a.warmup, 0);
  int("repeats", a.repeats, 1);
  if (a.seqLen > space.seqLen) throw new Error(`latency: seqLen ${a.seqLen} exceeds the space's ${space.seqLen} positions`);
  return a;
}

/** Milliseconds of one encoder forward of `arch` on `inputs`, its result read back and every tensor disposed. */
function timeForward(model: Supernet, arch: Arch, inputs: tf.Tensor2D): number {
  const start = process.hrtime.bigint();
  tf.tidy(() => {
    const hidden = model.hidden(arch, inputs);
    hidden[hidden.length - 1].dataSync(); // forces the computation on lazy backends; a [B, T, D] copy, cheap
  });
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/**
 * Latency of each child of `archs` in `space` (a fresh standalone model each, weights from `seed`): all are
 * warmed up, then timed round-robin (repeat r of every child before repeat r + 1), so a slow phase of the
 * machine hits every child alike; each row's `medianMs` is the median of its repeats. Rows in input order.
 */
export function latencyTable(space: SearchSpace, archs: Arch[], args: Partial<LatencyArgs> = {}): LatencyRow[] {
  const a = resolve(space, args);
  archs.forEach((arch) => validateArch(space, arch));
  const rng = new Rng(seedFrom(a.seed, 0x1a7));
  const ids = Array.from({ length: a.batchSize * a.seqLen }, () => rng.int(space.vocabSize));
  const inputs = tf.tensor2d(ids, [a.batchSize, a.seqLen], "int32");
  const models = archs.map((arch) => new Supernet({ space, seed: a.seed, only: arch }));
  try {
    models.forEach((m, i) => {
      for (let w = 0; w < a.warmup; w++) timeForward(m, archs[i], inputs);
    });
    const samples = archs.map((): number[] => []);
    for (let r = 0; r < a.repeats; r++) models.forEach((m, i) => samples[i].push(timeForward(m, archs[i], inputs)));
    return archs.map((arch, i) => ({
      arch: [...arch],
      archId: archId(space, arch),
      params: paramCount(space, arch),
      flops: flops(space, arch),
      medianMs: median(samples[i]) as number,
      samplesMs: samples[i],
      batchSize: a.batchSize,
      seqLen: a.seqLen,
      backend: tf.getBackend(),
    }));
  } finally {
    inputs.dispose();
    models.forEach((m) => m.dispose());
  }
}

/** Latency of one child (latencyTable of one arch). */
export function measureLatency(space: SearchSpace, arch: Arch, args: Partial<LatencyArgs> = {}): LatencyRow {
  return latencyTable(space, [arch], args)[0];
}
