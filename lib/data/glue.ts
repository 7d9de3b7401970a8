// GLUE tasks from the copies in data/glue/ (data/glue/README.md: provenance, licences, subsets): each task's
// files parsed in their own format into labelled sentences (pairs), with the train/dev splits of GLUE where
// the copy has them and a fixed, seeded dev split carved from train where it does not (MRPC, CoLA, QQP);
// QNLI-style pairs are derived from a SQuAD subset (lib/data/qnli.ts). A malformed row is skipped and
// reported (file, line, count), never silently.
import * as fs from "node:fs";
import * as path from "node:path";
import { projectPath } from "../paths";
import { Rng } from "../rng";
import type { GlueMetric } from "../metrics";
import { UserError } from "../errors";
import { qnliFromSquad } from "./qnli";

export const GLUE_TASKS = ["sst2", "mrpc", "stsb", "qqp", "rte", "cola", "qnli"] as const;
export type GlueTask = (typeof GLUE_TASKS)[number];


/** data/glue/ of the repository. */
export const GLUE_DIR = projectPath("data", "glue");

/** Seed of the dev splits carved from train (our choice; fixed so every run scores on the same rows). */
export const GLUE_SPLIT_SEED = 20220717;

/** One labelled example: a sentence, or a pair (a, b). */
export interface GlueExample {
  a: string;
  b?: string;
  /** Class id (0..numLabels-1), or the similarity score 0..5 for STS-B. */
  label: number;
}

/** A row the loader skipped: where, and why. */
export interface SkippedRow {
  file: string;
  /** 1-based line number in the file (in a SQuAD JSON file: the 1-based question number). */
  line: number;
  reason: string;
}

/** What every task's spec says. */
interface CommonSpec {
  /** Folder under data/glue/. */
  folder: string;
  /** Label text -> id; a regression task (STS-B) reads a number in [0, 5] instead. */
  labels: Record<string, number> | "score";
  /** GLUE's metrics of the task (its GLUE score is their mean: F1 and accuracy for MRPC and QQP, Pearson and Spearman for STS-B). */
  metrics: GlueMetric[];
}

/** A task in tab-separated files. */
interface TsvSpec extends CommonSpec {
  format: "tsv";
  /** Train files (concatenated) and the dev file, or the number of train rows carved off as dev. */
  train: string[];
  dev: string | { carve: number };
  header: boolean;
  /** Tab-separated fields per row. */
  fields: number;
  /** Sentence A, sentence B (pair tasks) and label columns. */
  columns: { a: number; b?: number; label: number };
}

/** QNLI-style pairs derived from a SQuAD JSON file (lib/data/qnli.ts); the last `devArticles` articles are dev. */
interface SquadSpec extends CommonSpec {
  format: "squad";
  file: string;
  devArticles: number;
}

type TaskSpec = TsvSpec | SquadSpec;

const BINARY = { "0": 0, "1": 1 };
/** GLUE's label order of RTE and QNLI. */
export const ENTAILMENT = { entailment: 0, not_entailment: 1 };

export const GLUE_SPECS: Record<GlueTask, TaskSpec> = {
  sst2: { format: "tsv", folder: "SST-2", train: ["train.tsv"], dev: "dev.tsv", header: true, fields: 2, columns: { a: 0, label: 1 }, labels: BINARY, metrics: ["accuracy"] },
  // GLUE's dev split is 408 pairs of the MSRP train file (its own id list is not in the copy: a seeded carve of the same size).
  mrpc: {
    format: "tsv", folder: "MRPC", train: ["msr_paraphrase_train.txt"], dev: { carve: 408 }, header: true, fields: 5,
    columns: { a: 3, b: 4, label: 0 }, labels: BINARY, metrics: ["f1", "accuracy"],
  },
  stsb: {
    format: "tsv", folder: "STS-B", train: ["train.tsv"], dev: "dev.tsv", header: true, fields: 10,
    columns: { a: 7, b: 8, label: 9 }, labels: "score", metrics: ["pearson", "spearman"],
  },
  qqp: { format: "tsv", folder: "QQP", train: ["pairs.tsv"], dev: { carve: 2000 }, header: false, fields: 6, columns: { a: 3, b: 4, label: 5 }, labels: BINARY, metrics: ["f1", "accuracy"] },
  // The copy re-splits GLUE's RTE train+dev into train/dev/test (all labelled): train + test train, dev scores.
  rte: {
    format: "tsv", folder: "RTE", train: ["train.tsv", "test.tsv"], dev: "dev.tsv", header: true, fields: 4,
    columns: { a: 1, b: 2, label: 3 }, labels: ENTAILMENT, metrics: ["accuracy"],
  },
  // GLUE's CoLA dev has 1,043 sentences; the copy has train only: a seeded carve of that size.
  cola: { format: "tsv", folder: "CoLA", train: ["train.tsv"], dev: { carve: 1043 }, header: false, fields: 2, columns: { a: 0, label: 1 }, labels: BINARY, metrics: ["matthews"] },
  // As GLUE built QNLI from SQuAD: (question, sentence of its paragraph, does the sentence hold the answer).
  qnli: { format: "squad", folder: "QNLI", file: "squad-v2-dev-subset.json", devArticles: 1, labels: ENTAILMENT, metrics: ["accuracy"] },
};

/** Classes of a task's head; 1 = regression (STS-B). */
export function numLabels(task: GlueTask): number {
  const { labels } = GLUE_SPECS[task];
  return labels === "score" ? 1 : new Set(Object.values(labels)).size;
}

/** True for sentence-pair tasks. */
export function isPairTask(task: GlueTask): boolean {
  const spec = GLUE_SPECS[task];
  return spec.format === "squad" || spec.columns.b !== undefined;
}

export interface GlueSplits {
  task: GlueTask;
  train: GlueExample[];
  dev: GlueExample[];
  /** Every row skipped as malformed. */
  skipped: SkippedRow[];
  /** The files read. */
  files: string[];
}

/** The task's files under `dir`; throws a UserError naming the first one missing and how to restore it. */
export function glueFiles(task: GlueTask, dir = GLUE_DIR): string[] {
  const spec = GLUE_SPECS[task];
  const names = spec.format === "squad" ? [spec.file] : [...spec.train, ...(typeof spec.dev === "string" ? [spec.dev] : [])];
  const files = names.map((n) => path.join(dir, spec.folder, n));
  const missing = files.find((f) => !fs.existsSync(f));
  if (missing) {
    throw new UserError(`GLUE ${task}: data file ${missing} is missing; restore data/glue from git (or rebuild it: npx tsx scripts/glue-data.ts)`);
  }
  return files;
}

/** Parses one file of `spec`; malformed rows go to `skipped`. */
function parseFile(file: string, spec: TsvSpec, skipped: SkippedRow[]): GlueExample[] {
  const lines = fs.readFileSync(file, "utf8").replace(/^\uFEFF/, "").split(/\r?\n/);
  if (lines.at(-1) === "") lines.pop();
  const out: GlueExample[] = [];
  const { a, b, label } = spec.columns;
  for (let i = spec.header ? 1 : 0; i < lines.length; i++) {
    const skip = (reason: string) => skipped.push({ file, line: i + 1, reason });
    const cells = lines[i].split("\t");
    if (cells.length !== spec.fields) {
      skip(`expected ${spec.fields} tab-separated fields, got ${cells.length}`);
      continue;
    }
    const textA = cells[a].trim();
    const textB = b === undefined ? undefined : cells[b].trim();
    if (!textA || textB === "") {
      skip("empty sentence");
      continue;
    }
    const raw = cells[label].trim();
    let y: number | undefined;
    if (spec.labels === "score") {
      const v = raw === "" ? NaN : Number(raw);
      y = v >= 0 && v <= 5 ? v : undefined;
    } else {
      y = spec.labels[raw];
    }
    if (y === undefined) {
      skip(`bad label '${raw.slice(0, 40)}'`);
      continue;
    }
    out.push(textB === undefined ? { a: textA, label: y } : { a: textA, b: textB, label: y });
  }
  return out;
}

/** One warning per file with skipped rows: the file, the count and the line numbers (the first few) with reasons. */
export function skippedWarnings(skipped: readonly SkippedRow[]): string[] {
  const byFile = new Map<string, SkippedRow[]>();
  for (const s of skipped) byFile.set(s.file, [...(byFile.get(s.file) ?? []), s]);
  return [...byFile].map(([file, rows]) => {
    const shown = rows.slice(0, 5).map((r) => `line ${r.line}: ${r.reason}`).join("; ");
    return `${file}: skipped ${rows.length} malformed row${rows.length === 1 ? "" : "s"} (${shown}${rows.length > 5 ? "; ..." : ""})`;
  });
}

/** Indices 0..n-1 split into `devCount` dev and the rest train, each in file order: a seeded permutation's prefix. */
export function carveDev(n: number, devCount: number, seed = GLUE_SPLIT_SEED): { train: number[]; dev: number[] } {
  if (devCount >= n) throw new Error(`carveDev: cannot carve ${devCount} dev rows from ${n}`);
  const order = new Rng(seed).shuffle(Array.from({ length: n }, (_, i) => i));
  const inDev = new Set(order.slice(0, devCount));
  return { train: order.filter((i) => !inDev.has(i)).sort((x, y) => x - y), dev: [...inDev].sort((x, y) => x - y) };
}

/**
 * Train and dev examples of `task` from `dir` (default data/glue). Malformed rows are skipped; `warn` (default
 * console.warn) gets one line per file that had any (skippedWarnings). Throws when a file is missing.
 */
export function loadGlueTask(task: GlueTask, options: { dir?: string; warn?: (line: string) => void } = {}): GlueSplits {
  const spec = GLUE_SPECS[task];
  if (!spec) throw new Error(`unknown GLUE task '${task}'; use one of: ${GLUE_TASKS.join(", ")}`);
  const dir = options.dir ?? GLUE_DIR;
  const files = glueFiles(task, dir);
  const skipped: SkippedRow[] = [];
  const warn = options.warn ?? console.warn;
  if (spec.format === "squad") {
    const { train, dev } = qnliFromSquad(files[0], spec.devArticles, skipped);
    for (const line of skippedWarnings(skipped)) warn(`warning: ${line}`);
    return { task, train, dev, skipped, files };
  }
  const trainRows = spec.train.flatMap((n) => parseFile(path.join(dir, spec.folder, n), spec, skipped));
  let train: GlueExample[], dev: GlueExample[];
  if (typeof spec.dev === "string") {
    train = trainRows;
    dev = parseFile(path.join(dir, spec.folder, spec.dev), spec, skipped);
  } else {
    const split = carveDev(trainRows.length, spec.dev.carve);
    train = split.train.map((i) => trainRows[i]);
    dev = split.dev.map((i) => trainRows[i]);
  }
  for (const line of skippedWarnings(skipped)) warn(`warning: ${line}`);
  return { task, train, dev, skipped, files };
}
