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
import type { Preset } from "../preset";
import { projectPath, runsPath, tablesPath } from "../paths";
import { readJson, readJsonIfExists, writeJsonAtomic } from "../json-file";
import { UserError } from "../errors";
import { Rng, seedFrom } from "../rng";
import { backendName } from "../backend";
import { codeDigest } from "../code-digest";
import type { BatchRange, MlmData } from "../data";
import { randomChild } from "../nas/arch-space";
import type { Arch, ArchSpace, MlmBatch } from "../nas/types";
import type { Distiller } from "../train/distill";
import { Supernet } from "../nas/supernet";
import { runConfigHash, train, type TrainRun } from "../train/loop";
import type { TrainConfig } from "../train/config";
import { configHash } from "../train/checkpoint";
import { kendallTau, mean } from "../metrics";
import { agreement, computedHere, inFreshRunFolder, type Agreement } from "./verify";
import { kitFor, spaceDir, spaceOf, storedRankScore, type AnyKit, type KitModel, type SpaceConfig, type SpaceKit } from "./kit";

export interface GroundTruthConfig extends SpaceConfig {
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
  /**
   * Batches every supernet estimate and a child's loss at each budget are scored on: [0, evalBatches) of the
   * kit's scoring batches (BERT: validation; CNN: test); a child's final score too unless `finalScoreBatches`.
   */
  evalBatches: number;
  /**
   * The final score of every child (its rows' valLoss and valAccuracy): these ranges of the kit's scoring
   * batches, taken from the finished weights. Absent: the first `evalBatches` (the budgets' batches). More
   * batches cut the scoring noise of a child's score; the ranges must leave out the batches MAGIC-A chooses
   * its anchor on (RankConfig.anchorBatches, right after the first `evalBatches`), which ranking.ts checks.
   */
  finalScoreBatches?: BatchRange[];
  /** Overrides of the training config. */
  train: Partial<TrainConfig>;
}

/**
 * Per-preset defaults (our choices; the paper's benchmark trains BERT children far longer). Small: a peak
 * learning rate of 3e-3 with 6 % warmup and cosine decay over 8,000 steps (~2 epochs); calibrated on a few
 * children: 1e-3 leaves children near the unigram floor after 1,200 steps, 1e-2 diverges to it, 3e-3
 * reaches ~4.9 nats after 3,000 steps. The 3,000-step table (v2) reached a seed-to-seed tau of only 0.69.
 * Training longer barely helped (8,000 steps: per-seed noise 0.011 nats against 0.012), because most of that
 * noise was not training's: the 32 scoring batches (~5k masked tokens) estimate the difference between two
 * seeds of a child with a standard error of ~0.016 nats. So a child's final score is taken on the 215
 * validation batches that MAGIC-A's anchor choice leaves (batches 32-39 are its 8), which cut the noise to
 * ~0.007 on the first 8 children measured; the budgets and the supernets' estimates stay on the first 32.
 */
export const GROUND_TRUTH_PRESETS: Record<Preset, GroundTruthConfig> = {
  tiny: { preset: "tiny", children: 6, drawSeed: 7, steps: 20, seeds: [0, 1], budgetEvery: 10, evalBatches: 4, train: { lr: 1e-3 } },
  small: {
    preset: "small", children: 40, drawSeed: 7, steps: 8000, seeds: [0, 1], budgetEvery: 1000, evalBatches: 32,
    finalScoreBatches: [{ start: 0, count: 32 }, { start: 40, count: 183 }], // all 223 validation batches but the anchor's 32-39
    train: { lr: 3e-3, warmup: 0.06, decay: "cosine" },
  },
  paper: { preset: "paper", children: 64, drawSeed: 7, steps: 100000, seeds: [0, 1], budgetEvery: 25000, evalBatches: 6, train: {} },
};

/**
 * The CNN space's ground truth (our choices). tiny exercises the code in seconds. small: sized in the README's
 * "CNN compute estimate" from step times measured on a quiet machine (0.11 CPU s per child step); 600 steps
 * (0.7 epoch), budgets every 150 steps on the 16 scoring batches the supernet estimates use, and the final
 * score (test accuracy) on 150 test batches (9,600 of the 10,000 test images: the scoring set's noise dominated
 * the BERT ground truth's seed noise). The learning rate is not calibrated. paper: ImageNet-sized, not runnable here.
 */
export const CNN_GROUND_TRUTH_PRESETS: Record<Preset, GroundTruthConfig> = {
  tiny: { preset: "tiny", space: "cnn", children: 4, drawSeed: 7, steps: 12, seeds: [0, 1], budgetEvery: 6, evalBatches: 2, train: { lr: 3e-3 } },
  small: {
    preset: "small", space: "cnn", children: 32, drawSeed: 7, steps: 600, seeds: [0, 1], budgetEvery: 150, evalBatches: 16,
    finalScoreBatches: [{ start: 0, count: 150 }], // MAGIC-A's CNN anchor is chosen on validation images, so every test batch may score
    train: { lr: 3e-3, warmup: 0.06, decay: "cosine" },
  },
  paper: { preset: "paper", space: "cnn", children: 64, drawSeed: 7, steps: 100000, seeds: [0, 1], budgetEvery: 25000, evalBatches: 32, train: {} },
};

/** The ground-truth presets of a space. */
export function groundTruthPresets(config: { space?: "cnn" }): Record<Preset, GroundTruthConfig> {
  return config.space === "cnn" ? CNN_GROUND_TRUTH_PRESETS : GROUND_TRUTH_PRESETS;
}

export interface GroundTruthRow {
  arch: Arch;
  id: string;
  seed: number;
  /** Loss on the final score's batches (finalScoreRanges; BERT: validation MLM loss; CNN: test cross-entropy, BN recalibrated). */
  valLoss: number;
  /** Accuracy on them (BERT: masked tokens; CNN: test accuracy, the CNN ranking score). */
  valAccuracy: number;
  params: number;
  flops: number;
  /** Wall time of the process that finished the job (only the remainder if it resumed). */
  seconds: number;
  /** Step the finishing process resumed from (0: trained in one go). */
  resumedFrom: number;
  steps: number;
  /**
   * Loss after each budget (step -> loss) on the first `evalBatches` scoring batches, the last being `steps`
   * (so with finalScoreBatches the last budget is not valLoss: it is the same weights on fewer batches).
   */
  budgets: Record<string, number>;
  /**
   * CNN rows only: test accuracy after each budget (step -> accuracy), so that the settling analysis ranks by the
   * CNN ranking key (the error 1 - accuracy) at every budget. BERT rows have none (they rank by `budgets`' loss),
   * so committed BERT tables are unchanged.
   */
  budgetAccuracy?: Record<string, number>;
  backend: string;
  /** Where its sums ran (`backendPlatform()`); rows computed before it was recorded lack it. */
  platform?: string;
}

export interface GroundTruthTable {
  version: 2;
  preset: Preset;
  configHash: string;
  config: GroundTruthConfig;
  /** The space definition (BERT SearchSpace; CNN CnnSpace when config.space is "cnn"). */
  space: object;
  /** Git commit of the code that merged the table. */
  codeVersion: string;
  /** Digest of the result-affecting sources (lib/code-digest.ts) that merged the table. */
  codeDigest: string;
  createdAt: string;
  /** The loss floor to beat: BERT the training set's smoothed unigram distribution; CNN chance, ln(classes). */
  unigramLoss: number;
  rows: GroundTruthRow[];
}

/**
 * N children spread over sizes: draw a pool of 50 N uniform children, sort by parameter count, cut it into
 * N equal bins and take one child at random from each (our stratification); returned in a shuffled order,
 * so that "the first k children" is not "the k smallest".
 */
export function drawChildren(space: ArchSpace, n: number, seed: number): Arch[] {
  const rng = new Rng(seedFrom(seed, 0x67));
  const seen = new Set<string>();
  const pool: { arch: Arch; params: number }[] = [];
  for (let tries = 0; pool.length < 50 * n && tries < 500 * n; tries++) {
    const arch = randomChild(space, rng);
    const id = space.archId(arch);
    if (seen.has(id)) continue;
    seen.add(id);
    pool.push({ arch, params: space.paramCount(arch) });
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
export function groundTruthJobs(config: GroundTruthConfig, space: ArchSpace): Job[] {
  const children = drawChildren(space, config.children, config.drawSeed);
  return config.seeds.flatMap((seed) => children.map((arch) => ({ arch, seed, key: `${space.archId(arch)}-seed${seed}` })));
}

/**
 * Hash of the experiment's definition (config, space, data): the identity of a committed table. The code
 * that computed it is provenance (codeDigest), checked by recomputing a unit rather than by the hash, so a
 * refactor does not orphan hours of compute.
 */
export function groundTruthHash(config: GroundTruthConfig, kit: AnyKit): string {
  return configHash({ config, space: kit.space, data: kit.dataIdentity });
}

/** Where the jobs of a build run: keyed by the code digest and backend too, so changed code never resumes an old job. */
export function groundTruthRunDir(config: GroundTruthConfig, hash: string): string {
  return runsPath("ground-truth", `${spaceDir(config)}-${hash}-${codeDigest()}-${backendName()}`);
}

/** Where the committed table of a space's preset is loaded from and written to: data/ground-truth/<preset>.json (BERT), cnn-<preset>.json. */
export function groundTruthTablePath(config: SpaceConfig): string {
  return tablesPath("ground-truth", `${spaceDir(config)}.json`);
}

/** The `--space` option naming a config's space in a command (empty for the default, BERT). */
export function spaceFlag(config: SpaceConfig): string {
  return config.space ? ` --space ${config.space}` : "";
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
 * folder: what runGroundTruthJob trains, and what pre-trains the GLUE sweep's models (glue-sweep.ts). `source`:
 * the space's kit, or for BERT its MLM data.
 */
export function groundTruthJobRun<B extends object = MlmBatch, M extends KitModel<B> = KitModel<B>>(
  config: GroundTruthConfig,
  source: MlmData | SpaceKit<B, M>,
  job: Job,
): TrainRun<B> & { model: M; kit: SpaceKit<B, M> } {
  const kit = kitFor(config, source as MlmData | AnyKit) as unknown as SpaceKit<B, M>;
  const model = kit.model(job.seed, job.arch);
  return {
    kit,
    model,
    arch: job.arch,
    data: { trainBatch: (s) => kit.trainBatch(s, job.seed), validation: kit.scoringBatches(config.evalBatches) },
    config: { ...config.train, steps: config.steps, seed: job.seed, evalEvery: config.budgetEvery, checkpointEvery: config.budgetEvery },
    hashExtra: { data: kit.dataIdentity, job: job.key },
  };
}

/** Knowledge distillation into a BERT job's model (compression.ts): builds the run's Distiller; the caller of the factory disposes it. */
export type JobDistill = (student: Supernet) => Distiller<MlmBatch>;

/** The job's model as the BERT supernet a JobDistill distils into (only the BERT space has a teacher). */
function distillStudent(model: unknown): Supernet {
  if (!(model instanceof Supernet)) throw new Error("knowledge distillation is for the BERT space: this job's model is not a BERT supernet");
  return model;
}

/** The config hash of `job`'s run (the hash its checkpoint carries; with `distill`, the KD run's), without training. */
export function groundTruthJobHash(config: GroundTruthConfig, source: MlmData | AnyKit, job: Job, distill?: JobDistill): string {
  const run = groundTruthJobRun(config, source as MlmData, job);
  const kd = distill?.(distillStudent(run.model));
  try {
    return runConfigHash({ ...run, distill: kd });
  } finally {
    kd?.dispose();
    run.model.dispose();
    run.kit.disposeBatches(run.data.validation);
  }
}

/** The scoring batch ranges of a child's final score: GroundTruthConfig.finalScoreBatches, else the first evalBatches. */
export function finalScoreRanges(config: GroundTruthConfig): BatchRange[] {
  return config.finalScoreBatches ?? [{ start: 0, count: config.evalBatches }];
}

/** Throws one error naming the range when a final-score range asks for scoring batches the kit does not have (before any training). */
export function checkFinalScoreBatches(config: GroundTruthConfig, kit: { numScoringBatches: number }): void {
  for (const r of finalScoreRanges(config)) {
    if (!(Number.isInteger(r.start) && Number.isInteger(r.count) && r.start >= 0 && r.count > 0 && r.start + r.count <= kit.numScoringBatches)) {
      throw new Error(`ground truth ${config.preset}: finalScoreBatches range {start ${r.start}, count ${r.count}} is outside the ` +
        `${kit.numScoringBatches} scoring batches of this data; fix GroundTruthConfig.finalScoreBatches`);
    }
  }
}

/** A child's final score on the scoring batch `ranges` (the weights as trained). */
function finalScore<B extends object>(kit: SpaceKit<B, KitModel<B>>, model: KitModel<B>, arch: Arch, ranges: BatchRange[]) {
  const batches = ranges.flatMap((r) => kit.scoringBatches(r.count, r.start));
  try {
    const { loss, accuracy } = model.evaluate(arch, batches);
    return { valLoss: loss, valAccuracy: accuracy };
  } finally {
    kit.disposeBatches(batches);
  }
}

/**
 * Trains one job from scratch (resuming its checkpoint) and writes its result file; returns the row, or null
 * when `stopAfter` stopped it early (it resumes from its checkpoint next time).
 */
export async function runGroundTruthJob(
  config: GroundTruthConfig,
  source: MlmData | AnyKit,
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
  const run = groundTruthJobRun(config, source as MlmData, job);
  const { model } = run;
  const space = model.archSpace;
  const t0 = Date.now();
  const distill = options.distill?.(distillStudent(model));
  const result = await train({
    ...run,
    distill,
    checkpointDir: groundTruthJobDir(runDir, job),
    progress: false,
    stopAfter: options.stopAfter,
    onStep: (e) => options.onStep?.(e.step),
  }).finally(() => distill?.dispose());
  const last = result.history[result.history.length - 1];
  const final = result.done && config.finalScoreBatches ? finalScore(run.kit, model, job.arch, config.finalScoreBatches) : last;
  model.dispose();
  run.kit.disposeBatches(run.data.validation);
  if (!result.done) return null;
  if (final?.valLoss === undefined || final.valAccuracy === undefined) throw new Error(`ground truth ${job.key}: no final validation`);
  const row: GroundTruthRow = {
    arch: job.arch,
    id: space.archId(job.arch),
    seed: job.seed,
    valLoss: final.valLoss,
    valAccuracy: final.valAccuracy,
    params: space.paramCount(job.arch),
    flops: space.flops(job.arch),
    seconds: (Date.now() - t0) / 1000,
    resumedFrom: result.resumedFrom,
    steps: config.steps,
    budgets: Object.fromEntries(result.history.flatMap((h) => (h.valLoss === undefined ? [] : [[String(h.step), h.valLoss]]))),
    ...(spaceOf(config) === "cnn"
      ? { budgetAccuracy: Object.fromEntries(result.history.flatMap((h) => (h.valAccuracy === undefined ? [] : [[String(h.step), h.valAccuracy]]))) }
      : {}),
    ...computedHere(),
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
  kit: AnyKit,
  hash: string,
  built: { runDir: string; codeDigest: string } = { runDir: groundTruthRunDir(config, hash), codeDigest: codeDigest() },
): GroundTruthTable {
  const rows = groundTruthJobs(config, kit.archSpace).map((job) => {
    const file = jobResultFile(built.runDir, job);
    if (!fs.existsSync(file)) throw new Error(`ground truth: job ${job.key} has no result yet (${file})`);
    return readJson<GroundTruthRow>(file);
  });
  const table: GroundTruthTable = {
    version: 2,
    preset: config.preset,
    configHash: hash,
    config,
    space: kit.space,
    codeVersion: codeVersion(),
    codeDigest: built.codeDigest,
    createdAt: new Date().toISOString(),
    unigramLoss: kit.lossFloor(finalScoreRanges(config)),
    rows,
  };
  writeJsonAtomic(groundTruthTablePath(config), table, 1);
  return table;
}

/** The committed table if it matches this config; null if absent, or of another config when `otherConfig` is "ignore" (a build). */
export function loadGroundTruth(
  config: GroundTruthConfig,
  hash: string,
  options: { otherConfig: "error" | "ignore" } = { otherConfig: "error" },
): GroundTruthTable | null {
  const file = groundTruthTablePath(config);
  if (!fs.existsSync(file)) return null;
  const table = readJson<GroundTruthTable>(file);
  if (table.configHash === hash) return table;
  if (options.otherConfig === "ignore") return null;
  throw new UserError(`${file} was computed for config hash ${table.configHash}, the current config hashes to ${hash}; ` +
    `rebuild it with \`npm run magic -- ground-truth --preset ${config.preset}${spaceFlag(config)}\` (resumable)`);
}

/** One child of the table: its loss averaged over the seeds (the ground truth a supernet should rank). */
export interface GroundTruthChild {
  arch: Arch;
  id: string;
  params: number;
  flops: number;
  /** Mean validation loss over the seeds. */
  valLoss: number;
  /** Mean over the seeds of the ranking key, lower is better: BERT the loss (= valLoss), CNN the test error 1 - accuracy. */
  score: number;
  /** Validation loss per seed, in `config.seeds` order. */
  perSeed: number[];
  /** Mean over seeds of the loss at each budget. */
  budgets: Record<string, number>;
  /** Mean over seeds of the ranking key at each budget (BERT: = budgets; CNN: the test error 1 - accuracy). */
  budgetScores: Record<string, number>;
}

/**
 * The ranking key of `row` after `budget` steps, lower is better: BERT the loss there, CNN the test error
 * 1 - accuracy there (a CNN row without budgetAccuracy is from before it was recorded: an error naming the rebuild).
 */
export function budgetRankScore(config: GroundTruthConfig, row: GroundTruthRow, budget: string): number {
  if (spaceOf(config) === "bert") return row.budgets[budget];
  const accuracy = row.budgetAccuracy?.[budget];
  if (accuracy === undefined) {
    throw new UserError(`ground-truth row ${row.id} seed ${row.seed} has no test accuracy at budget ${budget} (a table from before budgetAccuracy); ` +
      `rebuild it with \`MAGIC_RECOMPUTE=1 npm run magic -- ground-truth --preset ${config.preset}${spaceFlag(config)}\``);
  }
  return 1 - accuracy;
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
    const steps = Object.keys(first.budgets);
    const budgets = Object.fromEntries(steps.map((b) => [b, mean(rows.map((r) => r.budgets[b]))]));
    const budgetScores = Object.fromEntries(steps.map((b) => [b, mean(rows.map((r) => budgetRankScore(table.config, r, b)))]));
    const score = mean(rows.map((r) => storedRankScore(table.config, r)));
    return {
      arch: first.arch, id: first.id, params: first.params, flops: first.flops, valLoss: mean(rows.map((r) => r.valLoss)), score,
      perSeed: rows.map((r) => r.valLoss), budgets, budgetScores,
    };
  });
}

/**
 * Kendall tau between two seeds' rankings over all children by the ranking key (BERT loss, CNN test error): at
 * the final budget, or at `budget` steps.
 */
export function seedToSeedTau(table: GroundTruthTable, budget?: string): { tau: number; children: number; seeds: [number, number] } {
  const [a, b] = table.config.seeds;
  const loss = (r: GroundTruthRow) => (budget === undefined ? storedRankScore(table.config, r) : budgetRankScore(table.config, r, budget));
  const second = new Map(table.rows.filter((r) => r.seed === b).map((r) => [r.id, loss(r)]));
  const both = table.rows.filter((r) => r.seed === a && second.has(r.id));
  const tau = both.length >= 2 ? kendallTau(both.map(loss), both.map((r) => second.get(r.id)!)) : NaN;
  return { tau, children: both.length, seeds: [a, b] };
}

/**
 * How the ranking settles with the budget: per budget, the seed-to-seed tau, the median loss over children
 * and the tau between this budget's and the previous budget's mean-over-seeds ranking (taus by the ranking key:
 * BERT loss, CNN test error).
 */
export function budgetSettling(table: GroundTruthTable): { steps: number; seedToSeedTau: number; medianLoss: number; tauWithPrevious: number | null }[] {
  const children = groundTruthChildren(table);
  const budgets = Object.keys(children[0].budgets).sort((x, y) => Number(x) - Number(y));
  return budgets.map((b, i) => {
    const sorted = children.map((c) => c.budgets[b]).sort((x, y) => x - y);
    const scores = children.map((c) => c.budgetScores[b]);
    return {
      steps: Number(b),
      seedToSeedTau: seedToSeedTau(table, b).tau,
      medianLoss: sorted[Math.floor(sorted.length / 2)],
      tauWithPrevious: i === 0 ? null : kendallTau(scores, children.map((c) => c.budgetScores[budgets[i - 1]])),
    };
  });
}

/** What `verifyGroundTruth` found: the committed row and the one recomputed from scratch now. */
export interface GroundTruthCheck extends Agreement {
  job: string;
  committed: { valLoss: number; budgets: Record<string, number>; backend: string };
  recomputed: { valLoss: number; budgets: Record<string, number>; backend: string };
  /** Agreement over the final and budget losses (CNN: and accuracies). */
  seconds: number;
}

/**
 * Recomputes job `index` of the committed table end to end in a fresh folder (no cache, no checkpoint) and
 * compares it with the committed row: bit-equal on the same platform, else within CROSS_PLATFORM_TOLERANCE (`agreement`, verify.ts).
 * This is how the main job shows that the current code still produces the committed numbers.
 */
export async function verifyGroundTruth(table: GroundTruthTable, source: MlmData | AnyKit, index = 0): Promise<GroundTruthCheck> {
  const kit = kitFor(table.config, source);
  const job = groundTruthJobs(table.config, kit.archSpace)[index];
  const committed = table.rows.find((r) => r.id === kit.archSpace.archId(job.arch) && r.seed === job.seed);
  if (!committed) throw new Error(`ground truth ${table.preset}: job ${job.key} is not in the committed table`);
  const { value: row, seconds } = await inFreshRunFolder(`ground-truth-${table.preset}-${job.key}`, async (runDir) =>
    (await runGroundTruthJob(table.config, kit, job, table.configHash, { runDir }))!,
  );
  const budgets = Object.keys(committed.budgets);
  // CNN rows: their accuracies too (the ranking key), final and per budget.
  const accuracies = (r: GroundTruthRow) => (committed.budgetAccuracy ? [r.valAccuracy, ...budgets.map((b) => r.budgetAccuracy?.[b] ?? NaN)] : []);
  const losses = (r: GroundTruthRow) => [r.valLoss, ...budgets.map((b) => r.budgets[b]), ...accuracies(r)];
  return {
    job: job.key,
    committed: { valLoss: committed.valLoss, budgets: committed.budgets, backend: committed.backend },
    recomputed: { valLoss: row.valLoss, budgets: row.budgets, backend: row.backend },
    ...agreement(losses(committed), losses(row), committed, row),
    seconds,
  };
}
