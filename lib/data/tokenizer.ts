// The project's tokenizer: WordPiece (lib/data/wordpiece.ts) trained on the train split of the corpus and
// cached in data/tokenizer/ under a hash of the settings that made it, so a fresh clone loads it instead
// of retraining (training takes about a second, but a committed vocabulary pins every result to it).
import * as path from "path";
import { createHash } from "crypto";
import { CORPUS_DEFAULTS, loadCorpus, type Corpus, type CorpusSource } from "./corpus";
import { pretokenize, trainWordPiece, WordPieceTokenizer } from "./wordpiece";
import { projectPath } from "../paths";
import { readJsonIfExists, writeJsonAtomic } from "../json-file";

/** Bump when training or normalisation changes, so old caches are not reused. */
export const TOKENIZER_ALGORITHM = "wordpiece-bpe";
export const TOKENIZER_VERSION = 1;

export interface TokenizerSettings {
  vocabSize: number;
  sources: CorpusSource[];
  validationFraction: number;
  /** Cap on training pre-tokens; above it every k-th sentence is used. The full train split is ~3.05M. */
  maxWords: number;
  /** Rarer characters are left out of the alphabet (their words become [UNK]). Our choice. */
  minCharCount: number;
}

export const TOKENIZER_DEFAULTS: TokenizerSettings = {
  vocabSize: 4096,
  sources: [...CORPUS_DEFAULTS.sources],
  validationFraction: CORPUS_DEFAULTS.validationFraction,
  maxWords: 4_000_000, // above the corpus size: training on all of it takes ~1 s, a cap is not needed
  minCharCount: 20,
};

/** data/tokenizer/ of the repository. */
export const TOKENIZER_CACHE_DIR = projectPath("data", "tokenizer");

export interface TokenizerFile {
  algorithm: string;
  version: number;
  settings: TokenizerSettings;
  /** Pre-tokens and distinct word types the vocabulary was learned from. */
  trainWords: number;
  trainTypes: number;
  vocab: string[];
}

export interface LoadedTokenizer {
  tokenizer: WordPieceTokenizer;
  settings: TokenizerSettings;
  /** The cache file read or written. */
  file: string;
  /** True when loaded from the cache, false when trained now. */
  cached: boolean;
  trainWords: number;
  trainTypes: number;
}

/** Settings with defaults filled in and a stable key order (the hash input). */
export function resolveTokenizerSettings(settings: Partial<TokenizerSettings> = {}): TokenizerSettings {
  const s = { ...TOKENIZER_DEFAULTS, ...settings };
  return {
    vocabSize: s.vocabSize,
    sources: [...s.sources],
    validationFraction: s.validationFraction,
    maxWords: s.maxWords,
    minCharCount: s.minCharCount,
  };
}

/** The cache file name: vocabulary size for people, a hash of settings and algorithm version for safety. */
export function tokenizerFileName(settings: TokenizerSettings): string {
  const key = JSON.stringify({ algorithm: TOKENIZER_ALGORITHM, version: TOKENIZER_VERSION, settings });
  const hash = createHash("sha256").update(key).digest("hex").slice(0, 12);
  return `wordpiece-${settings.vocabSize}-${hash}.json`;
}

/** Word counts of the train split, strided down to about `maxWords` pre-tokens if it is larger. */
export function countWords(sentences: readonly string[], maxWords: number): { counts: Map<string, number>; words: number } {
  const tokens = sentences.map(pretokenize);
  const total = tokens.reduce((n, t) => n + t.length, 0);
  const stride = Math.max(1, Math.ceil(total / maxWords));
  const counts = new Map<string, number>();
  let words = 0;
  for (let i = 0; i < tokens.length; i += stride) {
    for (const w of tokens[i]) counts.set(w, (counts.get(w) ?? 0) + 1);
    words += tokens[i].length;
  }
  return { counts, words };
}

/** Trains a tokenizer on the train split of `corpus` (loaded from the settings when not given). */
export function trainTokenizer(settings: TokenizerSettings, corpus?: Corpus): TokenizerFile {
  const c = corpus ?? loadCorpus({ sources: settings.sources, validationFraction: settings.validationFraction });
  const { counts, words } = countWords(c.train, settings.maxWords);
  const tokenizer = trainWordPiece(counts, { vocabSize: settings.vocabSize, minCharCount: settings.minCharCount });
  return {
    algorithm: TOKENIZER_ALGORITHM,
    version: TOKENIZER_VERSION,
    settings,
    trainWords: words,
    trainTypes: counts.size,
    vocab: [...tokenizer.vocab],
  };
}

function sameSettings(a: TokenizerSettings, b: TokenizerSettings): boolean {
  return JSON.stringify(resolveTokenizerSettings(a)) === JSON.stringify(b);
}

/**
 * Loads the cached tokenizer of `settings`, or trains it and writes the cache atomically (temp file +
 * rename, so concurrent processes never read half a file). A given `corpus` must match the settings.
 */
export function loadOrTrainTokenizer(
  settings: Partial<TokenizerSettings> = {},
  options: { cacheDir?: string; corpus?: Corpus } = {},
): LoadedTokenizer {
  const s = resolveTokenizerSettings(settings);
  const dir = options.cacheDir ?? TOKENIZER_CACHE_DIR;
  const file = path.join(dir, tokenizerFileName(s));
  const saved = readJsonIfExists<TokenizerFile>(file);
  if (saved) {
    if (saved.algorithm !== TOKENIZER_ALGORITHM || saved.version !== TOKENIZER_VERSION || !sameSettings(saved.settings, s)) {
      throw new Error(`${file}: cache does not match its settings; delete it to retrain`);
    }
    const tokenizer = new WordPieceTokenizer(saved.vocab);
    return { tokenizer, settings: s, file, cached: true, trainWords: saved.trainWords, trainTypes: saved.trainTypes };
  }
  const corpus = options.corpus;
  if (corpus) {
    const cs = corpus.stats;
    if (cs.sources.join() !== s.sources.join() || cs.validationFraction !== s.validationFraction) {
      throw new Error("loadOrTrainTokenizer: the given corpus was loaded with other sources or split");
    }
  }
  const trained = trainTokenizer(s, corpus);
  writeJsonAtomic(file, trained, 1);
  const tokenizer = new WordPieceTokenizer(trained.vocab);
  return { tokenizer, settings: s, file, cached: false, trainWords: trained.trainWords, trainTypes: trained.trainTypes };
}
