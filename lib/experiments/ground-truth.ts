// Ground truth for the ranking experiments: a small NAS benchmark of our own. N children, stratified by
// parameter count, each trained from scratch with the same budget and data order; their validation MLM
// loss is what a supernet should rank. Each (child, seed) is one resumable job with its own checkpoint;
// finished jobs leave a result file; the merged table lands atomically in data/ground-truth/ with the config
// hash, seeds, code version and backend, so notebooks load it instead of retraining for hours.
import { execSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import type { Preset } from "../preset";
import { groundTruthTablesPath, projectPath, runsPath } from "../paths";
import { readJsonIfExists, writeJsonAtomic } from "../json-file";
import { Rng, seedFrom } from "../rng";
import { backendInfo } from "../backend";
import type { MlmData } from "../data";
import { archId, flops, makeSpace, paramCount, randomArch } from "../nas/space";
import type { Arch, SearchSpace } from "../nas/types";
import { Supernet } from "../nas/supernet";
import { train } from "../train/loop";
import type { TrainConfig } from "../train/config";
import { configHash } from "../train/checkpoint";
import { kendallTau } from "../metrics";

export interface GroundTruthConfig {
  preset: Preset;
  /** N: children in the benchmark. */
  children: number;
  /** Seed of the stratified draw of the children. */
  drawSeed: number;
  /** Training steps per child (same budget and data order for all). */
  steps: number;
  /** Seed of every child's init and data order. */
  seed: number;
  /** Second seed, for a few children, to measure the ground truth's own seed-to-seed tau. */
  recheckSeed: number;
  /** How many children (the first of the draw) are retrained with `recheckSeed`. */
  recheckChildren: number;
  /** Validation batches every child (and every supernet estimate) is scored on. */
  evalBatches: number;
  /** Overrides of the training config. */
  train: Partial<TrainConfig>;
}

/** Per-preset defaults (our choices; the paper's benchmark trains BERT children far longer). */
export const GROUND_TRUTH_PRESETS: Record<Preset, GroundTruthConfig> = {
  tiny: { preset: "tiny", children: 6, drawSeed: 7, steps: 20, seed: 0, recheckSeed: 1, recheckChildren: 2, evalBatches: 4, train: { lr: 1e-3, evalEvery: 0 } },
  small: { preset: "small", children: 32, drawSeed: 7, steps: 1200, seed: 0, recheckSeed: 1, recheckChildren: 8, evalBatches: 32, train: { lr: 1e-3, evalEvery: 0 } },
  paper: { preset: "paper", children: 64, drawSeed: 7, steps: 100000, seed: 0, recheckSeed: 1, recheckChildren: 16, evalBatches: 6, train: { evalEvery: 0 } },
};

export interface GroundTruthRow {
  arch: Arch;
  id: string;
  seed: number;
  valLoss: number;
  valAccuracy: number;
  params: number;
  flops: number;
  /** Wall time of the process that finished the job (only the remainder if it resumed). */
  seconds: number;
  /** Step the finishing process resumed from (0: trained in one go). */
  resumedFrom: number;
  steps: number;
  backend: string;
}

export interface GroundTruthTable {
  version: 1;
  preset: Preset;
  configHash: string;
  config: GroundTruthConfig;
  space: SearchSpace;
  codeVersion: string;
  createdAt: string;
  rows: GroundTruthRow[];
}

/**
 * N children spread over sizes: draw a pool of 50 N uniform children, sort by parameter count, cut it into
 * N equal bins and take one child at random from each (our stratification).
 */
export function drawChildren(space: SearchSpace, n: number, seed: number): Arch[] {
  const rng = new Rng(seedFrom(seed, 0x67));
  const seen = new Set<string>();
  const pool: { arch: Arch; params: number }[] = [];
  for (let tries = 0; pool.length < 50 * n && tries < 500 * n; tries++) {
    const arch = randomArch(space, rng);
    const id = archId(space, arch);
    if (seen.has(id)) continue;
    seen.add(id);
    pool.push({ arch, params: paramCount(space, arch) });
  }
  if (pool.length < n) throw new Error(`drawChildren: the space has fewer than ${n} distinct children`);
  pool.sort((a, b) => a.params - b.params);
  return Array.from({ length: n }, (_, i) => {
    const lo = Math.floor((i * pool.length) / n), hi = Math.floor(((i + 1) * pool.length) / n);
    return pool[lo + rng.int(hi - lo)].arch;
  });
}

export interface Job {
  arch: Arch;
  seed: number;
  key: string;
}

/** Every (child, seed) job of the benchmark, in a fixed order. */
export function groundTruthJobs(config: GroundTruthConfig, space: SearchSpace): Job[] {
  const children = drawChildren(space, config.children, config.drawSeed);
  const job = (arch: Arch, seed: number) => ({ arch, seed, key: `${archId(space, arch)}-seed${seed}` });
  return [...children.map((a) => job(a, config.seed)), ...children.slice(0, config.recheckChildren).map((a) => job(a, config.recheckSeed))];
}

/** Hash of everything that determines the table's numbers. */
export function groundTruthHash(config: GroundTruthConfig, space: SearchSpace, data: MlmData): string {
  return configHash({ config, space, data: data.settings });
}

export function groundTruthDirs(config: GroundTruthConfig, hash: string) {
  const run = runsPath("ground-truth", `${config.preset}-${hash}`);
  return { run, results: path.join(run, "results"), table: groundTruthTablesPath(`${config.preset}.json`) };
}

/**
 * Trains one job from scratch (resuming its checkpoint) and writes its result file; returns the row, or null
 * when `stopAfter` stopped it early (it resumes from its checkpoint next time).
 */
export async function runGroundTruthJob(
  config: GroundTruthConfig,
  data: MlmData,
  job: Job,
  hash: string,
  options: { onStep?: (step: number) => void; stopAfter?: number } = {},
): Promise<GroundTruthRow | null> {
  const dirs = groundTruthDirs(config, hash);
  const resultFile = path.join(dirs.results, `${job.key}.json`);
  const finished = readJsonIfExists<GroundTruthRow>(resultFile);
  if (finished) return finished;
  const space = makeSpace(config.preset, data.vocabSize);
  const model = new Supernet({ space, seed: job.seed, only: job.arch });
  const t0 = Date.now();
  const result = await train({
    model,
    arch: job.arch,
    data: { trainBatch: (s) => data.trainBatch(s), validation: data.validationBatches(config.evalBatches) },
    config: { ...config.train, steps: config.steps, seed: job.seed, checkpointEvery: Math.max(1, Math.round(config.steps / 5)) },
    checkpointDir: path.join(dirs.run, "jobs", job.key),
    hashExtra: { data: data.settings, job: job.key },
    progress: false,
    stopAfter: options.stopAfter,
    onStep: (e) => options.onStep?.(e.step),
  });
  const last = result.history[result.history.length - 1];
  model.dispose();
  if (!result.done) return null;
  if (last?.valLoss === undefined || last.valAccuracy === undefined) throw new Error(`ground truth ${job.key}: no final validation`);
  const row: GroundTruthRow = {
    arch: job.arch,
    id: archId(space, job.arch),
    seed: job.seed,
    valLoss: last.valLoss,
    valAccuracy: last.valAccuracy,
    params: paramCount(space, job.arch),
    flops: flops(space, job.arch),
    seconds: (Date.now() - t0) / 1000,
    resumedFrom: result.resumedFrom,
    steps: config.steps,
    backend: backendInfo()?.name ?? "unknown",
  };
  writeJsonAtomic(resultFile, row, 1);
  return row;
}

function codeVersion(): string {
  try {
    const head = execSync("git rev-parse --short HEAD", { cwd: projectPath(), stdio: ["ignore", "pipe", "ignore"] }).toString().trim();
    const dirty = execSync("git status --porcelain -- lib", { cwd: projectPath(), stdio: ["ignore", "pipe", "ignore"] }).toString().trim();
    return dirty ? `${head}+dirty-lib` : head;
  } catch {
    return "unknown (not a git checkout)";
  }
}

/** Merges the finished result files into the versioned table (atomically); throws if jobs are missing. */
export function mergeGroundTruth(config: GroundTruthConfig, space: SearchSpace, hash: string): GroundTruthTable {
  const dirs = groundTruthDirs(config, hash);
  const rows = groundTruthJobs(config, space).map((job) => {
    const file = path.join(dirs.results, `${job.key}.json`);
    if (!fs.existsSync(file)) throw new Error(`ground truth: job ${job.key} has no result yet (${file})`);
    return JSON.parse(fs.readFileSync(file, "utf8")) as GroundTruthRow;
  });
  const table: GroundTruthTable = { version: 1, preset: config.preset, configHash: hash, config, space, codeVersion: codeVersion(), createdAt: new Date().toISOString(), rows };
  writeJsonAtomic(dirs.table, table, 1);
  return table;
}

/** The committed table if it matches this config (null if absent); a mismatch is an error unless `recompute`. */
export function loadGroundTruth(config: GroundTruthConfig, hash: string): GroundTruthTable | null {
  const file = groundTruthDirs(config, hash).table;
  if (!fs.existsSync(file)) return null;
  const table = JSON.parse(fs.readFileSync(file, "utf8")) as GroundTruthTable;
  if (table.configHash !== hash) {
    throw new Error(`${file} was computed for config hash ${table.configHash}, the current config hashes to ${hash}; ` +
      "recompute it with MAGIC_RECOMPUTE=1 (npm run magic -- ground-truth)");
  }
  return table;
}

/** The primary-seed rows, one per child, in draw order. */
export function primaryRows(table: GroundTruthTable): GroundTruthRow[] {
  return table.rows.filter((r) => r.seed === table.config.seed);
}

/**
 * The ground truth's own reproducibility: Kendall tau between the two seeds' losses over the children trained
 * with both. A supernet cannot be expected to rank better than this.
 */
export function seedToSeedTau(table: GroundTruthTable): { tau: number; children: number } {
  const second = new Map(table.rows.filter((r) => r.seed === table.config.recheckSeed).map((r) => [r.id, r.valLoss]));
  const both = primaryRows(table).filter((r) => second.has(r.id));
  return { tau: both.length >= 2 ? kendallTau(both.map((r) => r.valLoss), both.map((r) => second.get(r.id)!)) : NaN, children: both.length };
}
