// Ground truth for the ranking experiments: a small NAS benchmark of our own. N children, drawn at random
// stratified by parameter count, each trained from scratch with every seed of the config (a seed sets the
// child's init, data order and masking); their validation MLM loss, averaged over seeds, is what a supernet
// should rank, and the loss at intermediate budgets shows whether the ranking has settled. Each
// (child, seed) is one resumable job with its own checkpoint; finished jobs leave a result file; the merged
// table lands atomically in data/ground-truth/ with the config hash, seeds, code version and digest,
// backend and the unigram floor, so notebooks load it instead of retraining for hours.
import { execSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import type { Preset } from "../preset";
import { projectPath, runsPath, tablesPath } from "../paths";
import { readJson, readJsonIfExists, writeJsonAtomic } from "../json-file";
import { UserError } from "../errors";
import { Rng, seedFrom } from "../rng";
import { backendName } from "../backend";
import { codeDigest } from "../code-digest";
import { unigramLoss, type MlmData } from "../data";
import { archId, flops, makeSpace, paramCount, randomArch } from "../nas/space";
import type { Arch, MlmBatch, SearchSpace } from "../nas/types";
import type { Distiller } from "../train/distill";
import { Supernet } from "../nas/supernet";
import { runConfigHash, train, type TrainRun } from "../train/loop";
import type { TrainConfig } from "../train/config";
import { configHash } from "../train/checkpoint";
import { kendallTau, mean } from "../metrics";
import { agreement, inFreshRunFolder } from "./verify";

export interface GroundTruthConfig {
  preset: Preset;
  /** N: children in the benchmark. */
  children: number;
  /** Seed of the stratified draw of the children. */
  drawSeed: number;
  /** Training steps per child (the same budget for all; the learning-rate schedule ends here). */
  steps: number;
  /** Every child is trained once per seed; a seed sets init, data order and masking. */
  seeds: number[];
  /**
   * Validation loss is recorded every this many steps (the budgets of the settling analysis). They are points
   * of the one run whose schedule ends at `steps`, not separately scheduled shorter runs: our choice, to
   * keep the cost at one run per (child, seed).
   */
  budgetEvery: number;
  /** Validation batches every child (and every supernet estimate) is scored on: batches [0, evalBatches). */
  evalBatches: number;
  /** Overrides of the training config. */
  train: Partial<TrainConfig>;
}

/**
 * Per-preset defaults (our choices; the paper's benchmark trains BERT children far longer). Small: a peak
 * learning rate of 3e-3 with 6 % warmup and cosine decay over 3,000 steps (0.76 epoch, so no child sees a
 * batch twice); calibrated on a few children: 1e-3 leaves children near the unigram floor after 1,200
 * steps, 1e-2 diverges to it, 3e-3 reaches ~4.9 nats after 3,000 steps.
 */
export const GROUND_TRUTH_PRESETS: Record<Preset, GroundTruthConfig> = {
  tiny: { preset: "tiny", children: 6, drawSeed: 7, steps: 20, seeds: [0, 1], budgetEvery: 10, evalBatches: 4, train: { lr: 1e-3 } },
  small: {
    preset: "small", children: 40, drawSeed: 7, steps: 3000, seeds: [0, 1], budgetEvery: 600, evalBatches: 32,
    train: { lr: 3e-3, warmup: 0.06, decay: "cosine" },
  },
  paper: { preset: "paper", children: 64, drawSeed: 7, steps: 100000, seeds: [0, 1], budgetEvery: 25000, evalBatches: 6, train: {} },
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
  /** Validation loss after each budget (step -> loss), the last being `steps`. */
  budgets: Record<string, number>;
  backend: string;
}

export interface GroundTruthTable {
  version: 2;
  preset: Preset;
  configHash: string;
  config: GroundTruthConfig;
  space: SearchSpace;
  /** Git commit of the code that merged the table. */
  codeVersion: string;
  /** Digest of the result-affecting sources (lib/code-digest.ts) that merged the table. */
  codeDigest: string;
  createdAt: string;
  /** Validation loss of the training set's smoothed unigram distribution: the floor to beat. */
  unigramLoss: number;
  rows: GroundTruthRow[];
}

/**
 * N children spread over sizes: draw a pool of 50 N uniform children, sort by parameter count, cut it into
 * N equal bins and take one child at random from each (our stratification); returned in a shuffled order,
 * so that "the first k children" is not "the k smallest".
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
  const drawn = Array.from({ length: n }, (_, i) => {
    const lo = Math.floor((i * pool.length) / n), hi = Math.floor(((i + 1) * pool.length) / n);
    return pool[lo + rng.int(hi - lo)].arch;
  });
  return rng.shuffle(drawn);
}

export interface Job {
  arch: Arch;
  seed: number;
  key: string;
}

/** Every (child, seed) job of the benchmark, in a fixed order: all children with the first seed, then the next. */
export function groundTruthJobs(config: GroundTruthConfig, space: SearchSpace): Job[] {
  const children = drawChildren(space, config.children, config.drawSeed);
  return config.seeds.flatMap((seed) => children.map((arch) => ({ arch, seed, key: `${archId(space, arch)}-seed${seed}` })));
}

/**
 * Hash of the experiment's definition (config, space, data): the identity of a committed table. The code
 * that computed it is provenance (codeDigest), checked by recomputing a unit rather than by the hash, so a
 * refactor does not orphan hours of compute.
 */
export function groundTruthHash(config: GroundTruthConfig, space: SearchSpace, data: MlmData): string {
  return configHash({ config, space, data: data.settings });
}

/** Where the jobs of a build run: keyed by the code digest and backend too, so changed code never resumes an old job. */
export function groundTruthRunDir(config: GroundTruthConfig, hash: string): string {
  return runsPath("ground-truth", `${config.preset}-${hash}-${codeDigest()}-${backendName()}`);
}

/** Where the committed table of `preset` is loaded from and written to. */
export function groundTruthTablePath(preset: Preset): string {
  return tablesPath("ground-truth", `${preset}.json`);
}

/** The checkpoint folder of `job` in the build folder `runDir`. */
export function groundTruthJobDir(runDir: string, job: Job): string {
  return path.join(runDir, "jobs", job.key);
}

/** The result file of `job` in the build folder `runDir`. */
function jobResultFile(runDir: string, job: Job): string {
  return path.join(runDir, "results", `${job.key}.json`);
}

/** The row of a finished `job` of the build folder `runDir`, or null. */
export function readGroundTruthRow(runDir: string, job: Job): GroundTruthRow | null {
  return readJsonIfExists<GroundTruthRow>(jobResultFile(runDir, job));
}

/** Stores the row of a finished `job` as its result file (the runner does; a queue producer too, for rows run elsewhere). */
export function recordGroundTruthRow(runDir: string, job: Job, row: GroundTruthRow): void {
  writeJsonAtomic(jobResultFile(runDir, job), row, 1);
}

/**
 * The untrained run of `job` (a fresh child with the job's seed, the config's recipe) without its checkpoint
 * folder: what runGroundTruthJob trains, and what pre-trains the GLUE sweep's models (glue-sweep.ts).
 */
export function groundTruthJobRun(config: GroundTruthConfig, data: MlmData, job: Job): TrainRun & { model: Supernet } {
  const space = makeSpace(config.preset, data.vocabSize);
  const model = new Supernet({ space, seed: job.seed, only: job.arch });
  return {
    model,
    arch: job.arch,
    data: { trainBatch: (s) => data.trainBatch(s, job.seed), validation: data.validationBatches(config.evalBatches) },
    config: { ...config.train, steps: config.steps, seed: job.seed, evalEvery: config.budgetEvery, checkpointEvery: config.budgetEvery },
    hashExtra: { data: data.settings, job: job.key },
  };
}

/** Knowledge distillation into a job's model (compression.ts): builds the run's Distiller; the caller of the factory disposes it. */
export type JobDistill = (student: Supernet) => Distiller<MlmBatch>;

/** The config hash of `job`'s run (the hash its checkpoint carries; with `distill`, the KD run's), without training. */
export function groundTruthJobHash(config: GroundTruthConfig, data: MlmData, job: Job, distill?: JobDistill): string {
  const run = groundTruthJobRun(config, data, job);
  const kd = distill?.(run.model);
  try {
    return runConfigHash({ ...run, distill: kd });
  } finally {
    kd?.dispose();
    run.model.dispose();
    tf.dispose(run.data.validation.flatMap((b) => [b.inputs, b.labels, b.weights]));
  }
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
  options: {
    onStep?: (step: number) => void;
    stopAfter?: number;
    runDir?: string;
    /** Knowledge distillation into the job's model: its Distiller, disposed after the run. */
    distill?: JobDistill;
  } = {},
): Promise<GroundTruthRow | null> {
  const runDir = options.runDir ?? groundTruthRunDir(config, hash);
  const finished = readGroundTruthRow(runDir, job);
  if (finished) return finished;
  const run = groundTruthJobRun(config, data, job);
  const { model } = run;
  const space = model.space;
  const t0 = Date.now();
  const distill = options.distill?.(model);
  const result = await train({
    ...run,
    distill,
    checkpointDir: groundTruthJobDir(runDir, job),
    progress: false,
    stopAfter: options.stopAfter,
    onStep: (e) => options.onStep?.(e.step),
  }).finally(() => distill?.dispose());
  const last = result.history[result.history.length - 1];
  model.dispose();
  tf.dispose(run.data.validation.flatMap((b) => [b.inputs, b.labels, b.weights]));
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
    budgets: Object.fromEntries(result.history.flatMap((h) => (h.valLoss === undefined ? [] : [[String(h.step), h.valLoss]]))),
    backend: backendName(),
  };
  recordGroundTruthRow(runDir, job, row);
  return row;
}

/** The git commit of the checkout (+dirty-lib when lib/ has uncommitted changes), for provenance. */
export function codeVersion(): string {
  try {
    const head = execSync("git rev-parse --short HEAD", { cwd: projectPath(), stdio: ["ignore", "pipe", "ignore"] }).toString().trim();
    const dirty = execSync("git status --porcelain -- lib", { cwd: projectPath(), stdio: ["ignore", "pipe", "ignore"] }).toString().trim();
    return dirty ? `${head}+dirty-lib` : head;
  } catch {
    return "unknown (not a git checkout)";
  }
}

/**
 * Merges the finished result files into the versioned table (atomically); throws if jobs are missing.
 * `built` names the build's folder and the digest of the code that trained it (default: this process's).
 */
export function mergeGroundTruth(
  config: GroundTruthConfig,
  space: SearchSpace,
  data: MlmData,
  hash: string,
  built: { runDir: string; codeDigest: string } = { runDir: groundTruthRunDir(config, hash), codeDigest: codeDigest() },
): GroundTruthTable {
  const rows = groundTruthJobs(config, space).map((job) => {
    const file = jobResultFile(built.runDir, job);
    if (!fs.existsSync(file)) throw new Error(`ground truth: job ${job.key} has no result yet (${file})`);
    return readJson<GroundTruthRow>(file);
  });
  const table: GroundTruthTable = {
    version: 2,
    preset: config.preset,
    configHash: hash,
    config,
    space,
    codeVersion: codeVersion(),
    codeDigest: built.codeDigest,
    createdAt: new Date().toISOString(),
    unigramLoss: unigramLoss(data, config.evalBatches),
    rows,
  };
  writeJsonAtomic(groundTruthTablePath(config.preset), table, 1);
  return table;
}

/** The committed table if it matches this config; null if absent, or of another config when `otherConfig` is "ignore" (a build). */
export function loadGroundTruth(
  config: GroundTruthConfig,
  hash: string,
  options: { otherConfig: "error" | "ignore" } = { otherConfig: "error" },
): GroundTruthTable | null {
  const file = groundTruthTablePath(config.preset);
  if (!fs.existsSync(file)) return null;
  const table = readJson<GroundTruthTable>(file);
  if (table.configHash === hash) return table;
  if (options.otherConfig === "ignore") return null;
  throw new UserError(`${file} was computed for config hash ${table.configHash}, the current config hashes to ${hash}; ` +
    `rebuild it with \`npm run magic -- ground-truth --preset ${config.preset}\` (resumable)`);
}

/** One child of the table: its loss averaged over the seeds (the ground truth a supernet should rank). */
export interface GroundTruthChild {
  arch: Arch;
  id: string;
  params: number;
  flops: number;
  /** Mean validation loss over the seeds. */
  valLoss: number;
  /** Validation loss per seed, in `config.seeds` order. */
  perSeed: number[];
  /** Mean over seeds of the loss at each budget. */
  budgets: Record<string, number>;
}

/** The children in draw order, each with its losses averaged over the table's seeds. */
export function groundTruthChildren(table: GroundTruthTable): GroundTruthChild[] {
  const bySeed = table.config.seeds.map((seed) => new Map(table.rows.filter((r) => r.seed === seed).map((r) => [r.id, r])));
  return [...bySeed[0].values()].map((first) => {
    const rows = bySeed.map((m, i) => {
      const row = m.get(first.id);
      if (!row) throw new Error(`ground truth: child ${first.id} has no row for seed ${table.config.seeds[i]}`);
      return row;
    });
    const budgets = Object.fromEntries(Object.keys(first.budgets).map((b) => [b, mean(rows.map((r) => r.budgets[b]))]));
    return { arch: first.arch, id: first.id, params: first.params, flops: first.flops, valLoss: mean(rows.map((r) => r.valLoss)), perSeed: rows.map((r) => r.valLoss), budgets };
  });
}

/** Kendall tau between two seeds' losses over all children, at the final budget or at `budget` steps. */
export function seedToSeedTau(table: GroundTruthTable, budget?: string): { tau: number; children: number; seeds: [number, number] } {
  const [a, b] = table.config.seeds;
  const loss = (r: GroundTruthRow) => (budget === undefined ? r.valLoss : r.budgets[budget]);
  const second = new Map(table.rows.filter((r) => r.seed === b).map((r) => [r.id, loss(r)]));
  const both = table.rows.filter((r) => r.seed === a && second.has(r.id));
  const tau = both.length >= 2 ? kendallTau(both.map(loss), both.map((r) => second.get(r.id)!)) : NaN;
  return { tau, children: both.length, seeds: [a, b] };
}

/**
 * How the ranking settles with the budget: per budget, the seed-to-seed tau, the median loss over children
 * and the tau between this budget's and the previous budget's mean-over-seeds ranking.
 */
export function budgetSettling(table: GroundTruthTable): { steps: number; seedToSeedTau: number; medianLoss: number; tauWithPrevious: number | null }[] {
  const children = groundTruthChildren(table);
  const budgets = Object.keys(children[0].budgets).sort((x, y) => Number(x) - Number(y));
  return budgets.map((b, i) => {
    const losses = children.map((c) => c.budgets[b]);
    const sorted = [...losses].sort((x, y) => x - y);
    return {
      steps: Number(b),
      seedToSeedTau: seedToSeedTau(table, b).tau,
      medianLoss: sorted[Math.floor(sorted.length / 2)],
      tauWithPrevious: i === 0 ? null : kendallTau(losses, children.map((c) => c.budgets[budgets[i - 1]])),
    };
  });
}

/** What `verifyGroundTruth` found: the committed row and the one recomputed from scratch now. */
export interface GroundTruthCheck {
  job: string;
  committed: { valLoss: number; budgets: Record<string, number>; backend: string };
  recomputed: { valLoss: number; budgets: Record<string, number>; backend: string };
  /** Largest absolute difference over the final and budget losses. */
  maxAbsDiff: number;
  /** 0 (bit-equal required) on the committed table's backend, else the stated cross-backend tolerance. */
  tolerance: number;
  ok: boolean;
  seconds: number;
}

/**
 * Recomputes job `index` of the committed table end to end in a fresh folder (no cache, no checkpoint) and
 * compares it with the committed row: bit-equal on the same backend, within CROSS_BACKEND_TOLERANCE (verify.ts) on another.
 * This is how the main job shows that the current code still produces the committed numbers.
 */
export async function verifyGroundTruth(table: GroundTruthTable, data: MlmData, index = 0): Promise<GroundTruthCheck> {
  const space = makeSpace(table.preset, data.vocabSize);
  const job = groundTruthJobs(table.config, space)[index];
  const committed = table.rows.find((r) => r.id === archId(space, job.arch) && r.seed === job.seed);
  if (!committed) throw new Error(`ground truth ${table.preset}: job ${job.key} is not in the committed table`);
  const { value: row, seconds } = await inFreshRunFolder(`ground-truth-${table.preset}-${job.key}`, async (runDir) =>
    (await runGroundTruthJob(table.config, data, job, table.configHash, { runDir }))!,
  );
  const budgets = Object.keys(committed.budgets);
  const losses = (r: GroundTruthRow) => [r.valLoss, ...budgets.map((b) => r.budgets[b])];
  return {
    job: job.key,
    committed: { valLoss: committed.valLoss, budgets: committed.budgets, backend: committed.backend },
    recomputed: { valLoss: row.valLoss, budgets: row.budgets, backend: row.backend },
    ...agreement(losses(committed), losses(row), row.backend === committed.backend),
    seconds,
  };
}
