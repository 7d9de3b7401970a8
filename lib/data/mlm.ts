// Masked-language-model batches. The token stream of a split is packed into fixed windows
// [CLS] t_1 .. t_{T-2} [SEP] (no padding, sentence boundaries not marked: our choice, the most tokens per
// FLOP), and tokens are masked as in BERT. Everything is a pure function of (seed, step): batch k of the
// training order and its masking are computed directly, so a resumed run sees exactly the data it would
// have seen, without replaying batches 0..k-1.
import * as tf from "@tensorflow/tfjs";
import { Rng, seedFrom } from "../rng";
import type { MlmBatch } from "../nas/types";
import { NUM_SPECIAL, SPECIAL, type WordPieceTokenizer } from "./wordpiece";

export interface MaskingConfig {
  /** Probability that a (non-special) token is selected for prediction (BERT: 15 %). */
  selectProb: number;
  /** Of the selected: fraction replaced by [MASK] (80 %) and by a random non-special token (10 %); the rest kept. */
  maskFrac: number;
  randomFrac: number;
  /** Select one token in a row that drew none, so no sequence (or tiny batch) has zero loss weight. Our choice. */
  atLeastOne: boolean;
}

export const MASKING_DEFAULTS: MaskingConfig = { selectProb: 0.15, maskFrac: 0.8, randomFrac: 0.1, atLeastOne: true };

// Salts keep the order, training-mask and validation-mask streams of one seed independent.
const ORDER_SALT = 0x0bde;
const TRAIN_MASK_SALT = 0x3a5c;
const VALID_MASK_SALT = 0x7e11;

/** One batch as flat row-major arrays of [B, T]; the tensor form is `toMlmBatch`. */
export interface MlmArrays {
  batchSize: number;
  seqLen: number;
  inputs: Int32Array; // [B*T] ids after masking
  labels: Int32Array; // [B*T] original ids (everywhere)
  weights: Float32Array; // [B*T] 1 at selected positions
}

/** Concatenated token ids of normalised sentences (as `loadCorpus` returns them), in order. */
export function encodeStream(tokenizer: WordPieceTokenizer, sentences: readonly string[]): Int32Array {
  let out = new Int32Array(1 << 16);
  let n = 0;
  for (const s of sentences) {
    for (const id of tokenizer.encodeNormalized(s)) {
      if (n === out.length) {
        const grown = new Int32Array(2 * out.length);
        grown.set(out);
        out = grown;
      }
      out[n++] = id;
    }
  }
  return out.slice(0, n);
}

/** A token stream viewed as packed windows of length T: row i = [CLS] stream[i(T-2) .. (i+1)(T-2)) [SEP]. */
export class PackedSequences {
  readonly count: number;
  private perm: { seed: number; epoch: number; order: Uint32Array } | null = null;

  constructor(
    readonly stream: Int32Array,
    readonly seqLen: number,
  ) {
    if (!Number.isInteger(seqLen) || seqLen < 3) throw new Error(`PackedSequences: seqLen must be >= 3, got ${seqLen}`);
    this.count = Math.floor(stream.length / (seqLen - 2)); // the tail shorter than a window is dropped
  }

  /** Writes row `i` into `out` at `offset` (T ids). */
  copyRow(i: number, out: Int32Array, offset: number): void {
    const body = this.seqLen - 2;
    out[offset] = SPECIAL.CLS;
    out.set(this.stream.subarray(i * body, (i + 1) * body), offset + 1);
    out[offset + this.seqLen - 1] = SPECIAL.SEP;
  }

  /** The shuffled row order of one epoch, a function of (seed, epoch); the last one is memoised. */
  epochOrder(seed: number, epoch: number): Uint32Array {
    if (this.perm && this.perm.seed === seed && this.perm.epoch === epoch) return this.perm.order;
    const order = new Uint32Array(this.count);
    for (let i = 0; i < this.count; i++) order[i] = i;
    const rng = new Rng(seedFrom(seed, ORDER_SALT, epoch));
    for (let i = this.count - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      const t = order[i];
      order[i] = order[j];
      order[j] = t;
    }
    this.perm = { seed, epoch, order };
    return order;
  }
}

/**
 * BERT masking of rows of ids ([rows*T]; `tokens` is not modified): each non-special token is selected with
 * `selectProb`; selected ones become [MASK], a random non-special token, or stay, in 80/10/10 proportion.
 * Special tokens ([PAD], [UNK], [CLS], [SEP], [MASK]) are never selected.
 */
export function maskTokens(
  tokens: Int32Array,
  seqLen: number,
  vocabSize: number,
  rng: Rng,
  masking: MaskingConfig = MASKING_DEFAULTS,
): MlmArrays {
  if (tokens.length % seqLen !== 0) throw new Error(`maskTokens: ${tokens.length} ids are not rows of ${seqLen}`);
  const inputs = Int32Array.from(tokens);
  const labels = Int32Array.from(tokens);
  const weights = new Float32Array(tokens.length);
  const replace = (p: number) => {
    weights[p] = 1;
    const r = rng.next();
    if (r < masking.maskFrac) inputs[p] = SPECIAL.MASK;
    else if (r < masking.maskFrac + masking.randomFrac) inputs[p] = NUM_SPECIAL + rng.int(vocabSize - NUM_SPECIAL);
  };
  for (let row = 0; row < tokens.length; row += seqLen) {
    let selected = 0;
    let eligible = 0;
    for (let p = row; p < row + seqLen; p++) {
      if (tokens[p] < NUM_SPECIAL) continue;
      eligible++;
      if (rng.next() < masking.selectProb) {
        replace(p);
        selected++;
      }
    }
    if (masking.atLeastOne && selected === 0 && eligible > 0) {
      let k = rng.int(eligible);
      for (let p = row; p < row + seqLen; p++) {
        if (tokens[p] >= NUM_SPECIAL && k-- === 0) {
          replace(p);
          break;
        }
      }
    }
  }
  return { batchSize: tokens.length / seqLen, seqLen, inputs, labels, weights };
}

export interface BatchOptions {
  batchSize: number;
  vocabSize: number;
  masking?: MaskingConfig;
}

/**
 * Training batch `step` for `seed`: positions step*B .. step*B+B-1 of the endless sequence of epochs,
 * each epoch a fresh permutation of the rows; masking drawn from an RNG seeded by (seed, step).
 */
export function trainBatchArrays(data: PackedSequences, seed: number, step: number, options: BatchOptions): MlmArrays {
  const { batchSize: B, vocabSize } = options;
  const T = data.seqLen;
  if (!Number.isInteger(step) || step < 0) throw new Error(`trainBatchArrays: step must be an integer >= 0, got ${step}`);
  if (data.count < 1) throw new Error("trainBatchArrays: the training stream is shorter than one sequence");
  const tokens = new Int32Array(B * T); // [B*T]
  for (let b = 0; b < B; b++) {
    const position = step * B + b;
    const epoch = Math.floor(position / data.count);
    data.copyRow(data.epochOrder(seed, epoch)[position % data.count], tokens, b * T);
  }
  return maskTokens(tokens, T, vocabSize, new Rng(seedFrom(seed, TRAIN_MASK_SALT, step)), options.masking);
}

/** Validation batches available: whole batches of rows in stream order. */
export function validationBatchCount(data: PackedSequences, batchSize: number): number {
  return Math.floor(data.count / batchSize);
}

/** Validation batch `index`: rows index*B .. in order, masking fixed by (validationSeed, index). */
export function validationBatchArrays(data: PackedSequences, validationSeed: number, index: number, options: BatchOptions): MlmArrays {
  const { batchSize: B, vocabSize } = options;
  const T = data.seqLen;
  if (!(index >= 0 && index < validationBatchCount(data, B))) {
    throw new Error(`validationBatchArrays: index ${index} outside [0, ${validationBatchCount(data, B)})`);
  }
  const tokens = new Int32Array(B * T); // [B*T]
  for (let b = 0; b < B; b++) data.copyRow(index * B + b, tokens, b * T);
  return maskTokens(tokens, T, vocabSize, new Rng(seedFrom(validationSeed, VALID_MASK_SALT, index)), options.masking);
}

/** Tensors of a batch (owned by the caller). */
export function toMlmBatch(a: MlmArrays): MlmBatch {
  const shape: [number, number] = [a.batchSize, a.seqLen];
  return {
    inputs: tf.tensor2d(a.inputs, shape, "int32"), // [B, T]
    labels: tf.tensor2d(a.labels, shape, "int32"), // [B, T]
    weights: tf.tensor2d(a.weights, shape, "float32"), // [B, T]
  };
}
