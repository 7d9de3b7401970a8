// One entry point for the notebooks and the training loop: corpus -> tokenizer (cached) -> packed token
// streams -> seeded, resumable MLM batches, with per-preset sizes.
import { currentPreset, type Preset } from "../preset";
import type { MlmBatch } from "../nas/types";
import { loadCorpus, type Corpus } from "./corpus";
import { loadOrTrainTokenizer, resolveTokenizerSettings, type TokenizerSettings } from "./tokenizer";
import {
  encodeStream,
  MASKING_DEFAULTS,
  PackedSequences,
  toMlmBatch,
  trainBatchArrays,
  validationBatchArrays,
  validationBatchCount,
  type MaskingConfig,
  type MlmArrays,
} from "./mlm";
import { NUM_SPECIAL, type WordPieceTokenizer } from "./wordpiece";

export interface DataSettings {
  tokenizer: Partial<TokenizerSettings>;
  /** Sequence length T, [CLS] and [SEP] included. */
  seqLen: number;
  batchSize: number;
  /** Default seed of the training order and masking; runs pass their own seed to `trainBatch`. */
  seed: number;
  /** Seed of the fixed validation masking, independent of `seed` so runs with other seeds share one validation set. */
  validationSeed: number;
  /** Default number of validation batches (capped at the number available). */
  validationBatches: number;
  masking: MaskingConfig;
}

/** What `prepareMlmData` lets a caller change; nested objects are merged field by field. */
export type DataOverrides = Partial<Omit<DataSettings, "masking">> & { masking?: Partial<MaskingConfig> };

const COMMON = { seed: 0, validationSeed: 20220717, masking: MASKING_DEFAULTS };

/**
 * Per-preset defaults. The paper pretrains with T=128 and a 30k BERT vocabulary; the vocabulary sizes here
 * are our choice for a 3M-word corpus (1024 keeps tiny's embedding and softmax cheap).
 */
export const DATA_PRESETS: Record<Preset, DataSettings> = {
  tiny: { ...COMMON, tokenizer: { vocabSize: 1024 }, seqLen: 32, batchSize: 8, validationBatches: 4 },
  small: { ...COMMON, tokenizer: { vocabSize: 4096 }, seqLen: 32, batchSize: 32, validationBatches: 16 },
  paper: { ...COMMON, tokenizer: { vocabSize: 8192 }, seqLen: 128, batchSize: 256, validationBatches: 6 }, // all 6
};

export interface MlmData {
  settings: DataSettings;
  tokenizer: WordPieceTokenizer;
  vocabSize: number;
  seqLen: number;
  batchSize: number;
  /** Packed rows of each split. */
  train: PackedSequences;
  validation: PackedSequences;
  /** Whole validation batches available. */
  numValidationBatches: number;
  stats: {
    corpus: Corpus["stats"];
    tokenizerFile: string;
    tokenizerCached: boolean;
    trainTokens: number;
    validationTokens: number;
    seconds: number;
  };
  /**
   * Training batch `step` of the order and masking drawn from `seed` (default settings.seed), as arrays or
   * tensors: a pure function of (seed, step), so a run's seed changes its data order as well as its init.
   */
  trainArrays(step: number, seed?: number): MlmArrays;
  trainBatch(step: number, seed?: number): MlmBatch;
  /**
   * `n` (default settings.validationBatches) fixed validation batches from batch `start` (default 0), capped
   * at numValidationBatches: disjoint ranges give disjoint batches (e.g. scoring vs anchor selection).
   */
  validationArrays(n?: number, start?: number): MlmArrays[];
  validationBatches(n?: number, start?: number): MlmBatch[];
  /** One line for people. */
  summary: string;
}

/** Loads corpus and tokenizer and packs both splits (2-3 s on 2 cores with a cached tokenizer). */
export function prepareMlmData(
  preset: Preset = currentPreset(),
  overrides: DataOverrides = {},
  options: { cacheDir?: string } = {},
): MlmData {
  const t0 = Date.now();
  const base = DATA_PRESETS[preset];
  const settings: DataSettings = {
    ...base,
    ...overrides,
    tokenizer: { ...base.tokenizer, ...overrides.tokenizer },
    masking: { ...base.masking, ...overrides.masking },
  };
  const tokenizerSettings = resolveTokenizerSettings(settings.tokenizer);
  const { sources, validationFraction } = tokenizerSettings;
  const corpus = loadCorpus({ sources, validationFraction });
  const loaded = loadOrTrainTokenizer(tokenizerSettings, { cacheDir: options.cacheDir, corpus });
  const { tokenizer } = loaded;
  const train = new PackedSequences(encodeStream(tokenizer, corpus.train), settings.seqLen);
  const validation = new PackedSequences(encodeStream(tokenizer, corpus.validation), settings.seqLen);
  const batch = { batchSize: settings.batchSize, vocabSize: tokenizer.vocabSize, masking: settings.masking };
  const numValidationBatches = validationBatchCount(validation, settings.batchSize);
  const validationArrays = (n = settings.validationBatches, start = 0) =>
    Array.from({ length: Math.max(0, Math.min(n, numValidationBatches - start)) }, (_, i) =>
      validationBatchArrays(validation, settings.validationSeed, start + i, batch),
    );
  const seconds = (Date.now() - t0) / 1000;
  return {
    settings,
    tokenizer,
    vocabSize: tokenizer.vocabSize,
    seqLen: settings.seqLen,
    batchSize: settings.batchSize,
    train,
    validation,
    numValidationBatches,
    stats: {
      corpus: corpus.stats,
      tokenizerFile: loaded.file,
      tokenizerCached: loaded.cached,
      trainTokens: train.stream.length,
      validationTokens: validation.stream.length,
      seconds,
    },
    trainArrays: (step, seed = settings.seed) => trainBatchArrays(train, seed, step, batch),
    trainBatch: (step, seed = settings.seed) => toMlmBatch(trainBatchArrays(train, seed, step, batch)),
    validationArrays,
    validationBatches: (n, start) => validationArrays(n, start).map(toMlmBatch),
    summary:
      `data (${preset}): V=${tokenizer.vocabSize} T=${settings.seqLen} B=${settings.batchSize}; ` +
      `train ${train.stream.length} tokens = ${train.count} rows (${(train.count / settings.batchSize).toFixed(0)} batches/epoch), ` +
      `validation ${validation.stream.length} tokens = ${numValidationBatches} batches; ` +
      `tokenizer ${loaded.cached ? "cached" : "trained"}; ${seconds.toFixed(1)} s`,
  };
}

/** `count` consecutive batches of a fixed split from batch `start`: a set of scoring batches is a list of them. */
export interface BatchRange {
  start: number;
  count: number;
}

/**
 * Cross-entropy on the masked positions of the validation batches `ranges` of a model that ignores the
 * context: the training stream's token frequencies (add-one smoothed over the non-special ids, which are the
 * only ones masking selects). A child that has learned anything beats it; the ground truth is judged by its
 * distance below this floor.
 */
export function unigramLoss(data: MlmData, ranges: BatchRange[]): number {
  const counts = new Float64Array(data.vocabSize).fill(1);
  for (const id of data.train.stream) counts[id]++;
  let total = 0;
  for (let id = NUM_SPECIAL; id < data.vocabSize; id++) total += counts[id];
  let loss = 0, positions = 0;
  for (const { labels, weights } of ranges.flatMap((r) => data.validationArrays(r.count, r.start))) {
    for (let p = 0; p < weights.length; p++) {
      if (weights[p] === 0) continue;
      loss -= weights[p] * Math.log(counts[labels[p]] / total);
      positions += weights[p];
    }
  }
  return loss / positions;
}

export { loadCorpus, normalizeText, type Corpus, type CorpusSource } from "./corpus";
export { loadOrTrainTokenizer, type TokenizerSettings } from "./tokenizer";
export { SPECIAL, SPECIAL_TOKENS, NUM_SPECIAL, WordPieceTokenizer } from "./wordpiece";
export { MASKING_DEFAULTS, maskTokens, type MaskingConfig, type MlmArrays } from "./mlm";
