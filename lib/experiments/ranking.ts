// Experiments 02-04: does a supernet trained with scheme X rank the ground-truth children correctly?
// Each (scheme, seed) trains one supernet (same steps, and for one seed the same data order, for every
// scheme), scores every ground-truth child with inherited weights on the same validation batches as the
// ground truth, and compares its losses with the ground truth (mean over the ground truth's seeds) by
// Kendall tau, Spearman rho and precision@k, with bootstrap CIs over children, next to zero-cost baselines
// (parameters, FLOPs, op counts, a random order). Results are cached per (scheme, seed) under runs/rank/,
// keyed by a config hash, the code digest and the backend. The hash covers which children are scored and on
// which batches, not the ground truth's losses: a rebuilt ground truth of the same children rescores every
// result without training (`rebaseRankResult`, `npm run magic -- rank-rebase`).
import * as fs from "node:fs";
import * as path from "node:path";
import type { Preset } from "../preset";
import { runsPath, tablesPath } from "../paths";
import type { MlmData } from "../data";
import { Coverage } from "../nas/samplers";
import type { Arch, ArchSpace, MlmBatch } from "../nas/types";
import type { ImageBatch } from "../data/images";
import type { CnnSupernet } from "../nas/cnn-supernet";
import { loadWeights, runConfigHash, train, type HistoryEntry } from "../train/loop";
import { isFinishedCheckpoint } from "../train/checkpoint";
import type { Supernet } from "../nas/supernet";
import type { TrainConfig } from "../train/config";
import { bootstrapCI, kendallTau, precisionAtK, spearman } from "../metrics";
import { groundTruthChildren, codeVersion, finalScoreRanges, spaceFlag, type GroundTruthTable } from "./ground-truth";
import { agreement, computedHere, inFreshRunFolder, readCommittedUnit, type CommittedProvenance, type UnitCheck } from "./verify";
import { baselineStats, type BaselineStat } from "./baselines";
import { backendName } from "../backend";
import { codeDigest } from "../code-digest";
import { readJsonIfExists, writeJsonAtomic } from "../json-file";
import { recomputeRequested } from "../env";
import { UserError } from "../errors";
import { supernetRun, type SchemeSpec } from "./supernet-run";
import { kitFor, spaceDir, storedArchSpace, type AnyKit, type BertKit, type CnnKit, type KitModel, type SpaceConfig, type SpaceKit } from "./kit";

export type { SchemeSpec };

/**
 * Our defaults for MAGIC-A: λ = 0.5, the best of 8 children re-evaluated every 100 steps on the anchor
 * batches (RankConfig.anchorBatches, disjoint from the scoring batches).
 */
const ALIGN = { kind: "best" as const, lambda: 0.5, poolSize: 8, refreshEvery: 100 };

/**
 * Forward passes of a MAGIC-A step relative to a uniform step, counting a forward+backward as 3 forwards:
 * (3 for the child + 1 for the anchor's forward + 8 pool children x 8 anchor batches / 100 steps) / 3.
 * `uniform-matched` trains uniform for this many more steps: the compute-matched control of MAGIC-A.
 */
export const MAGIC_A_FORWARD_RATIO = (3 + 1 + (8 * 8) / 100) / 3;

export const SCHEMES: Record<string, SchemeSpec> = {
  uniform: { sampler: "uniform" },
  fairnas: { sampler: "fairnas" },
  "magic-t": { sampler: "magic-t", m: 1 },
  "magic-a": { sampler: "uniform", align: ALIGN },
  "magic-at": { sampler: "magic-t", m: 1, align: ALIGN },
  // ours, not the paper's: one change per step with even coverage (samplers.ts BalancedMagicTSampler)
  "magic-t-balanced": { sampler: "magic-t-balanced" },
  "magic-at-balanced": { sampler: "magic-t-balanced", align: ALIGN },
  // control: uniform with as many forward passes as MAGIC-A
  "uniform-matched": { sampler: "uniform", stepsFactor: MAGIC_A_FORWARD_RATIO },
  // ablations
  "magic-t-m2": { sampler: "magic-t", m: 2 },
  "magic-t-mL": { sampler: "magic-t", m: "L" },
  "magic-a-lambda0.1": { sampler: "uniform", align: { ...ALIGN, lambda: 0.1 } },
  "magic-a-lambda2": { sampler: "uniform", align: { ...ALIGN, lambda: 2 } },
  "magic-a-random": { sampler: "uniform", align: { ...ALIGN, kind: "random" } },
  "magic-a-largest": { sampler: "uniform", align: { ...ALIGN, kind: "largest" } },
};

export function parseScheme(name: string): SchemeSpec {
  const spec = SCHEMES[name];
  if (!spec) throw new Error(`unknown scheme '${name}'; use one of: ${Object.keys(SCHEMES).join(", ")}`);
  return spec;
}

export interface RankConfig extends SpaceConfig {
  /** Supernet training steps, the same for every scheme. */
  steps: number;
  /** Seeds of the main schemes (each sets init, data order, masking, sampler and anchor pool). */
  seeds: number[];
  /** Seeds of the ablations (m, lambda, anchor). */
  ablationSeeds: number[];
  /** k of precision@k (fraction of the true top-k among the supernet's top-k). */
  topK: number;
  /** Log the live interference every M steps (0 = off). */
  monitorEvery: number;
  /** Bootstrap resamples for the CIs over children. */
  resamples: number;
  /** MAGIC-A: batches the anchor is chosen on, disjoint from the scoring batches (kit.anchorBatches). */
  anchorBatches: number;
  /** Steps before the last at which every child is also scored (the budget curve of tau vs training). */
  budgets: number[];
  train: Partial<TrainConfig>;
}

/** Per-preset defaults (our choices). */
export const RANK_PRESETS: Record<Preset, RankConfig> = {
  tiny: { preset: "tiny", steps: 20, seeds: [1, 2], ablationSeeds: [1], topK: 2, monitorEvery: 2, resamples: 200, anchorBatches: 2, budgets: [10], train: { lr: 1e-3, evalEvery: 0 } },
  small: {
    preset: "small", steps: 1200, seeds: [1, 2, 3, 4, 5, 6], ablationSeeds: [1, 2, 3], topK: 8, monitorEvery: 20, resamples: 1000, anchorBatches: 8, budgets: [300, 600],
    train: { lr: 1e-3, evalEvery: 400 },
  },
  paper: {
    preset: "paper", steps: 100000, seeds: [1, 2, 3, 4, 5], ablationSeeds: [1, 2, 3], topK: 10, monitorEvery: 500, resamples: 1000, anchorBatches: 2, budgets: [25000, 50000],
    train: { evalEvery: 5000 },
  },
};

/**
 * The CNN space's ranking (our choices): tiny exercises the code; small is sized in the README's "CNN compute
 * estimate" (not run yet). The CNN runs the five schemes of the issue (uniform, FairNAS, MAGIC-T, MAGIC-A, MAGIC-AT).
 */
export const CNN_RANK_PRESETS: Record<Preset, RankConfig> = {
  tiny: { preset: "tiny", space: "cnn", steps: 12, seeds: [1, 2], ablationSeeds: [1], topK: 2, monitorEvery: 2, resamples: 200, anchorBatches: 2, budgets: [6], train: { lr: 3e-3, evalEvery: 0 } },
  small: {
    preset: "small", space: "cnn", steps: 600, seeds: [1, 2, 3], ablationSeeds: [1], topK: 8, monitorEvery: 20, resamples: 1000, anchorBatches: 4, budgets: [300],
    train: { lr: 3e-3, evalEvery: 0 },
  },
  paper: {
    preset: "paper", space: "cnn", steps: 100000, seeds: [1, 2, 3], ablationSeeds: [1], topK: 10, monitorEvery: 500, resamples: 1000, anchorBatches: 4, budgets: [25000, 50000],
    train: { evalEvery: 0 },
  },
};

/** The ranking presets of a space. */
export function rankPresets(config: { space?: "cnn" }): Record<Preset, RankConfig> {
  return config.space === "cnn" ? CNN_RANK_PRESETS : RANK_PRESETS;
}

/** The schemes the CNN space compares (the five), over CNN_RANK_PRESETS seeds. */
export const CNN_SCHEMES = ["uniform", "fairnas", "magic-t", "magic-a", "magic-at"];

/**
 * Which schemes each ranking notebook compares: `main` over RankConfig.seeds, `ablation` over ablationSeeds.
 * One list for the notebooks and for the builder of the committed tables (`npm run magic -- rank-all`).
 */
export const RANKING_PLAN: Record<string, { main: string[]; ablation: string[] }> = {
  "02-magic-t": { main: ["uniform", "fairnas", "magic-t", "magic-t-balanced"], ablation: ["magic-t-m2", "magic-t-mL"] },
  "03-magic-a": { main: ["uniform", "magic-a", "uniform-matched"], ablation: ["magic-a-lambda0.1", "magic-a-lambda2", "magic-a-random", "magic-a-largest"] },
  "04-magic-at": { main: ["uniform", "fairnas", "magic-t", "magic-a", "magic-at", "magic-t-balanced", "magic-at-balanced"], ablation: [] },
};

/** Every distinct (scheme, seed) of RANKING_PLAN under `config`, in plan order (the CNN space: CNN_SCHEMES x seeds). */
export function plannedUnits(config: RankConfig): { scheme: string; seed: number }[] {
  if (config.space === "cnn") return CNN_SCHEMES.flatMap((scheme) => config.seeds.map((seed) => ({ scheme, seed })));
  const seen = new Set<string>();
  const units: { scheme: string; seed: number }[] = [];
  for (const { main, ablation } of Object.values(RANKING_PLAN)) {
    for (const [schemes, seeds] of [[main, config.seeds], [ablation, config.ablationSeeds]] as const) {
      for (const scheme of schemes) for (const seed of seeds) {
        if (seen.has(`${scheme}/${seed}`)) continue;
        seen.add(`${scheme}/${seed}`);
        units.push({ scheme, seed });
      }
    }
  }
  return units;
}

export interface RankChild {
  arch: Arch;
  id: string;
  /** The ranking key with inherited supernet weights, lower is better: BERT validation MLM loss; CNN test error (BN recalibrated). */
  supernet: number;
  /** The same key trained from scratch, mean over the ground truth's seeds (GroundTruthChild.score). */
  groundTruth: number;
  params: number;
  flops: number;
}

export interface RankResult extends CommittedProvenance {
  /** "cnn" for the CNN space; absent for BERT (as results were before spaces existed). */
  space?: "cnn";
  scheme: string;
  seed: number;
  preset: Preset;
  steps: number;
  children: RankChild[];
  kendallTau: number;
  spearman: number;
  precisionAtK: Record<string, number>;
  ci: { kendallTau: [number, number]; spearman: [number, number] };
  /** Zero-cost predictors scored against the same ground truth (what the supernet has to beat). */
  baselines: BaselineStat[];
  /** Mean of the children's supernet ranking key (BERT validation loss, CNN test error): a scale, not a ranking, measure. */
  meanSupernetLoss: number;
  /** How often each (layer, op) was trained. */
  coverage: number[][];
  /** Live interference monitor: (step, cosine) pairs. */
  monitor: { step: number; cosine: number }[];
  /** The budget curve: every child's supernet loss (children order) after `step` training steps, the last being the final. */
  budgetScores: { step: number; supernet: number[] }[];
  secondsPerStep: number;
  /**
   * Config hash of the ground-truth table that the `groundTruth` column and every statistic against it (tau,
   * rho, P@k, intervals, baselines) come from; the supernet scores do not depend on it.
   */
  groundTruthHash: string;
  /** Committed results rescored against a newer ground truth (`rank-rebase`): when. */
  rebasedAt?: string;
}

/** Tau, rho, P@k and their CIs from per-child values (the recomputation the notebooks show). */
export function rankStats(children: RankChild[], topK: number, resamples: number, seed: number) {
  const s = children.map((c) => c.supernet), g = children.map((c) => c.groundTruth);
  const k = Math.min(topK, children.length);
  return {
    kendallTau: kendallTau(s, g),
    spearman: spearman(s, g),
    precisionAtK: { [String(k)]: precisionAtK(s, g, k) },
    ci: {
      kendallTau: bootstrapCI([s, g], (a, b) => kendallTau(a, b), { resamples, seed }),
      spearman: bootstrapCI([s, g], (a, b) => spearman(a, b), { resamples, seed }),
    },
  };
}

/** A kit as the ranking runner handles it: any batches, any model (the public functions keep their space's types). */
type LooseKit = SpaceKit<object, KitModel<object>>;

/** The kit of `config`'s space (MLM data for BERT, as callers from before kits pass; a kit; nothing for the CNN). */
function looseKit(config: RankConfig, source: MlmData | AnyKit | undefined): LooseKit {
  return kitFor(config, source) as unknown as LooseKit;
}

/**
 * The untrained supernet run of (scheme, seed) and its folder, keyed by the training loop's own hash
 * (config, sampler, anchor, initial weights, data), so a changed config or code never meets an old run.
 * `release()` frees the model and the validation batches.
 */
function prepareScheme(config: RankConfig, scheme: string, seed: number, source: MlmData | AnyKit | undefined, gt: GroundTruthTable, runRoot = runsPath("rank")) {
  const spec = parseScheme(scheme);
  const kit = looseKit(config, source);
  if (spec.align && kit.anchorBatchesAvailable(gt.config.evalBatches) < config.anchorBatches) {
    throw new Error(`${scheme}: ${config.anchorBatches} anchor batches disjoint from the ${gt.config.evalBatches} scoring batches do not fit: ` +
      `${kit.anchorBatchesAvailable(gt.config.evalBatches)} available`);
  }
  const anchors = spec.align ? kit.anchorRange(config.anchorBatches, gt.config.evalBatches) : null;
  const overlap = anchors && finalScoreRanges(gt.config).find((r) => r.start < anchors.start + anchors.count && anchors.start < r.start + r.count);
  if (overlap) {
    throw new Error(`${scheme}: the anchor batches ${anchors.start}-${anchors.start + anchors.count - 1} overlap the ground truth's final-score batches ` +
      `${overlap.start}-${overlap.start + overlap.count - 1}: MAGIC-A would choose its anchor on batches that score the children; fix finalScoreBatches or anchorBatches`);
  }
  const validation = kit.scoringBatches(gt.config.evalBatches);
  const anchorSelection = spec.align ? kit.anchorBatches(config.anchorBatches, gt.config.evalBatches) : undefined;
  const run = supernetRun({
    kit,
    data: { trainBatch: (s) => kit.trainBatch(s, seed), validation, anchorSelection },
    scheme: spec,
    seed,
    train: { ...config.train, steps: config.steps, monitorEvery: config.monitorEvery },
    hashExtra: { data: kit.dataIdentity, scheme: spec, children: groundTruthChildren(gt).map((c) => c.id), evalBatches: gt.config.evalBatches, anchorBatches: config.anchorBatches },
  });
  const model = run.model as KitModel<object>;
  const hash = runConfigHash(run);
  const release = () => {
    model.dispose();
    kit.disposeBatches([...validation, ...(anchorSelection ?? [])]);
  };
  const backend = backendName();
  const score = (arch: Arch) => kit.rankScore(model.evaluate(arch, validation));
  return { run, kit, model, validation, hash, release, score, dir: path.join(runRoot, spaceDir(config), `${scheme}-seed${seed}-${hash}-${codeDigest()}-${backend}`) };
}

/**
 * The supernet of `scheme` with `seed`, trained for `config.steps` (resumed from its checkpoint, so a
 * finished run loads instantly). Call `release()` when done with the model.
 */
export async function trainScheme(config: RankConfig, scheme: string, seed: number, data: MlmData | BertKit, gt: GroundTruthTable) {
  const prepared = prepareScheme(config, scheme, seed, data, gt);
  const result = await trainPrepared(prepared, `${scheme} seed ${seed}`);
  return { ...prepared, model: prepared.model as unknown as Supernet, validation: prepared.validation as MlmBatch[], result };
}

/** The config hash of (scheme, seed)'s ranking run (what keys its folder and committed result), without training. */
export function rankRunHash(config: RankConfig, scheme: string, seed: number, source: MlmData | AnyKit | undefined, gt: GroundTruthTable): string {
  const prepared = prepareScheme(config, scheme, seed, source, gt);
  prepared.release();
  return prepared.hash;
}

/** Children whose supernet scores must equal the ranking result's before a run of earlier code is reused. */
const REUSE_CHECK_CHILDREN = 4;

/** A trained supernet of the ranking plan, where it came from, and its ranking result. */
export interface RankedSupernet<M = Supernet, B = MlmBatch> {
  model: M;
  /** The ranking's scoring batches (the ground truth's `evalBatches` scoring batches), freed by `release`. */
  scoring: B[];
  /** The ranking key of a child with the current weights on the scoring batches (lower is better; kit.rankScore). */
  score: (arch: Arch) => number;
  /** Its ranking result (committed, cached or computed: rankScheme). */
  rank: RankResult;
  /** The run folder whose checkpoint the weights came from. */
  checkpointDir: string;
  /**
   * `run`: the unit's own finished run folder (this code); `earlier-code run`: the same run (same config hash)
   * trained by earlier code, reused because its first children score exactly as the ranking result; `trained`:
   * trained by this call.
   */
  origin: "run" | "earlier-code run" | "trained";
  /** Frees the model and the scoring batches. */
  release: () => void;
}

/**
 * The final supernet of (scheme, seed) exactly as the ranking notebooks use it, for analyses of the trained
 * weights (notebook 01): the unit's finished checkpoint under runs/rank/ when present; else a finished run of
 * the same configuration hash left by earlier code (the code digest in folder names changes with any edit of
 * a result source), used only when its first REUSE_CHECK_CHILDREN children score exactly as the ranking
 * result (committed or cached) does; else trained here by rankScheme (which also writes its result, budget
 * curve included, so the ranking notebooks later load that run rather than a half-scored one).
 */
export async function rankedSupernet(config: RankConfig, scheme: string, seed: number, source: MlmData | BertKit, gt: GroundTruthTable, options?: { runRoot?: string }): Promise<RankedSupernet>;
export async function rankedSupernet(config: RankConfig, scheme: string, seed: number, source: CnnKit | undefined, gt: GroundTruthTable, options?: { runRoot?: string }): Promise<RankedSupernet<CnnSupernet, ImageBatch>>;
export async function rankedSupernet(
  config: RankConfig,
  scheme: string,
  seed: number,
  data: MlmData | AnyKit | undefined,
  gt: GroundTruthTable,
  options: { runRoot?: string } = {},
): Promise<RankedSupernet<unknown, unknown>> {
  let rank = await rankScheme(config, scheme, seed, data, gt, options);
  const prepared = prepareScheme(config, scheme, seed, data, gt, options.runRoot);
  const steps = prepared.run.config!.steps!;
  const ready = (checkpointDir: string, origin: RankedSupernet["origin"]): RankedSupernet<unknown, unknown> => {
    loadWeights(checkpointDir, prepared.model);
    return { model: prepared.model, scoring: prepared.validation, score: prepared.score, rank, checkpointDir, origin, release: prepared.release };
  };
  if (isFinishedCheckpoint(prepared.dir, prepared.hash, steps)) return ready(prepared.dir, rank.source === "computed" ? "trained" : "run");
  const parent = path.dirname(prepared.dir), backend = backendName();
  const earlier = fs.existsSync(parent)
    ? fs.readdirSync(parent).filter((name) => name.startsWith(`${scheme}-seed${seed}-${prepared.hash}-`) && name.endsWith(`-${backend}`)).sort()
    : [];
  const groundTruth = groundTruthChildren(gt).slice(0, REUSE_CHECK_CHILDREN);
  for (const name of earlier) {
    const dir = path.join(parent, name);
    if (!isFinishedCheckpoint(dir, prepared.hash, steps)) continue;
    loadWeights(dir, prepared.model);
    const scores = groundTruth.map((row) => prepared.score(row.arch));
    if (agreement(rank.children.slice(0, scores.length).map((c) => c.supernet), scores, rank, computedHere()).ok) return ready(dir, "earlier-code run");
  }
  if (rank.source !== "computed") rank = await rankScheme(config, scheme, seed, data, gt, { ...options, useCommitted: false });
  if (!isFinishedCheckpoint(prepared.dir, prepared.hash, steps)) {
    // result.json without its checkpoint: train the run again on a fresh model (prepared.model may hold another run's weights)
    const fresh = prepareScheme(config, scheme, seed, data, gt, options.runRoot);
    await trainPrepared(fresh, `${scheme} seed ${seed}`);
    fresh.release();
  }
  return ready(prepared.dir, "trained");
}

function trainPrepared(prepared: ReturnType<typeof prepareScheme>, label: string, onStep?: (entry: HistoryEntry) => void) {
  return train({ ...prepared.run, checkpointDir: prepared.dir, progress: label, onStep });
}

/**
 * Where the committed result of (scheme, seed) lives: data/ranking/<preset>/<scheme>-seed<seed>.json (BERT),
 * data/ranking/cnn-<preset>/... (CNN). A bare preset means the BERT space.
 */
export function committedRankFile(config: Preset | SpaceConfig, scheme: string, seed: number): string {
  return tablesPath("ranking", spaceDir(typeof config === "string" ? { preset: config } : config), `${scheme}-seed${seed}.json`);
}

/** The command that recomputes and commits (scheme, seed). */
function rankCommand(config: RankConfig, scheme: string, seed: number): string {
  return `npm run magic -- rank --scheme ${scheme} --seed ${seed} --preset ${config.preset}${spaceFlag(config)} --commit`;
}

/**
 * The committed result of (scheme, seed) when one exists for this exact configuration; null when none is
 * committed or MAGIC_RECOMPUTE=1. A committed result of another configuration is an error naming the fix.
 */
function loadCommitted(config: RankConfig, scheme: string, seed: number, hash: string): RankResult | null {
  if (recomputeRequested()) return null;
  return readCommittedUnit<RankResult>(committedRankFile(config, scheme, seed), hash, rankCommand(config, scheme, seed));
}

/**
 * Trains (or loads) the supernet of `scheme` with `seed` and ranks the ground-truth children with it. Loads,
 * in order: the committed result under data/ranking/, a finished run under runs/, else trains (resuming
 * its checkpoint). `runRoot` moves the runs (verification uses a fresh one); `onStep` hears each training step.
 */
export async function rankScheme(
  config: RankConfig,
  scheme: string,
  seed: number,
  data: MlmData | AnyKit | undefined,
  gt: GroundTruthTable,
  options: { runRoot?: string; useCommitted?: boolean; onStep?: (step: number) => void } = {},
): Promise<RankResult> {
  const prepared = prepareScheme(config, scheme, seed, data, gt, options.runRoot);
  const committed = options.useCommitted === false ? null : loadCommitted(config, scheme, seed, prepared.hash);
  const resultFile = path.join(prepared.dir, "result.json");
  if (committed && committed.groundTruthHash !== gt.configHash) {
    prepared.release();
    throw new UserError(`${committedRankFile(config, scheme, seed)} was scored against ground truth ${committed.groundTruthHash}, ` +
      `the current table is ${gt.configHash}: rescore the committed results (no training) with \`npm run magic -- rank-rebase --preset ${config.preset}${spaceFlag(config)}\``);
  }
  const cached = committed ?? readJsonIfExists<RankResult>(resultFile);
  if (cached) {
    prepared.release();
    return committed ?? { ...rebaseRankResult(config, cached, gt), source: "cache" };
  }
  const { model, hash, release, score } = prepared;
  const groundTruth = groundTruthChildren(gt);
  const scoreChildren = () => groundTruth.map((row) => score(row.arch));
  // The budget curve: scores at intermediate steps, kept in a file so a resumed run does not lose them.
  const budgetFile = path.join(prepared.dir, "budget-scores.json");
  const budgetScores = readJsonIfExists<RankResult["budgetScores"]>(budgetFile) ?? [];
  const result = await trainPrepared(prepared, `${scheme} seed ${seed}`, (entry) => {
    options.onStep?.(entry.step);
    if (!config.budgets.includes(entry.step) || budgetScores.some((b) => b.step === entry.step)) return;
    budgetScores.push({ step: entry.step, supernet: scoreChildren() });
    writeJsonAtomic(budgetFile, budgetScores);
  });
  const coverage = new Coverage(model.archSpace.choices.length, model.archSpace.choices);
  result.history.forEach((h: HistoryEntry) => coverage.add(h.arch));
  const final = scoreChildren();
  const children: RankChild[] = groundTruth.map((row, i) => ({
    arch: row.arch,
    id: row.id,
    supernet: final[i],
    groundTruth: row.score,
    params: row.params,
    flops: row.flops,
  }));
  release();
  const out: RankResult = {
    ...(config.space ? { space: config.space } : {}),
    scheme,
    seed,
    preset: config.preset,
    steps: result.step,
    children,
    ...statsAgainstGroundTruth(config, model.archSpace, children, seed),
    groundTruthHash: gt.configHash,
    meanSupernetLoss: children.reduce((a, c) => a + c.supernet, 0) / children.length,
    coverage: coverage.toJSON().counts,
    monitor: result.history.flatMap((h) => (typeof h.interference === "number" ? [{ step: h.step, cosine: h.interference }] : [])),
    budgetScores: [...budgetScores.filter((b) => b.step < result.step).sort((a, b) => a.step - b.step), { step: result.step, supernet: final }],
    secondsPerStep: result.secondsPerStep,
    configHash: hash,
    codeDigest: codeDigest(),
    ...computedHere(),
  };
  writeJsonAtomic(resultFile, out, 1);
  return { ...out, source: "computed" };
}

/** Tau, rho, P@k, their intervals and the zero-cost baselines of `children` against their `groundTruth` column. */
function statsAgainstGroundTruth(config: RankConfig, space: ArchSpace, children: RankChild[], seed: number) {
  return {
    ...rankStats(children, config.topK, config.resamples, seed),
    baselines: baselineStats(space, children.map((c) => c.arch), children.map((c) => c.groundTruth), config.topK, config.resamples, seed),
  };
}

/**
 * `result` scored against the ground-truth table `gt` (same children, e.g. trained longer): the groundTruth
 * column and every statistic against it recomputed, the supernet's own numbers (scores, budget curve,
 * coverage, monitor) kept. The same numbers as training the supernet again against `gt`.
 */
export function rebaseRankResult(config: RankConfig, result: RankResult, gt: GroundTruthTable): RankResult {
  if (result.groundTruthHash === gt.configHash) return result;
  const truth = new Map(groundTruthChildren(gt).map((c) => [c.id, c.score]));
  const children = result.children.map((c) => {
    const groundTruth = truth.get(c.id);
    if (groundTruth === undefined) throw new Error(`${result.scheme} seed ${result.seed}: child ${c.id} is not in ground truth ${gt.configHash}`);
    return { ...c, groundTruth };
  });
  return { ...result, children, ...statsAgainstGroundTruth(config, storedArchSpace(gt.config, gt.space), children, result.seed), groundTruthHash: gt.configHash };
}

/**
 * Rescores every committed result of the plan against `gt` (no training) and rewrites those scored against
 * another table; returns the files rewritten. A committed result of another configuration is an error (as
 * when loading it).
 */
export function rebaseCommittedRankResults(config: RankConfig, data: MlmData | AnyKit | undefined, gt: GroundTruthTable): string[] {
  const rewritten: string[] = [];
  for (const { scheme, seed } of plannedUnits(config)) {
    const file = committedRankFile(config, scheme, seed);
    const committed = readCommittedUnit<RankResult>(file, rankRunHash(config, scheme, seed, data, gt), rankCommand(config, scheme, seed));
    if (!committed || committed.groundTruthHash === gt.configHash) continue;
    const { source: _source, ...rest } = rebaseRankResult(config, committed, gt);
    writeJsonAtomic(file, { ...rest, rebasedAt: new Date().toISOString() }, 1);
    rewritten.push(file);
  }
  return rewritten;
}

/** Writes `result` as the committed table of its (scheme, seed), with the commit it was computed at. */
export function commitRankResult(result: RankResult): string {
  const file = committedRankFile({ preset: result.preset, space: result.space }, result.scheme, result.seed);
  const { source: _source, ...rest } = result;
  writeJsonAtomic(file, { ...rest, codeVersion: codeVersion(), createdAt: new Date().toISOString() }, 1);
  return file;
}

/** What `verifyRankUnit` found: the largest difference between committed and recomputed per-child scores. */
export type RankCheck = UnitCheck;

/**
 * Recomputes (scheme, seed) end to end in a fresh folder (no cache, no committed copy) and compares every
 * child's supernet score with `committed`: how the main job shows the committed tables still hold.
 */
export async function verifyRankUnit(config: RankConfig, committed: RankResult, data: MlmData | AnyKit | undefined, gt: GroundTruthTable): Promise<RankCheck> {
  const { value: fresh, seconds } = await inFreshRunFolder(`rank-${committed.scheme}-seed${committed.seed}`, (runRoot) =>
    rankScheme(config, committed.scheme, committed.seed, data, gt, { runRoot, useCommitted: false }),
  );
  const scores = (r: RankResult) => r.children.map((c) => c.supernet);
  return { scheme: committed.scheme, seed: committed.seed, ...agreement(scores(committed), scores(fresh), committed, fresh), seconds };
}

/** Runs (or loads) every (scheme, seed) of `plan`, in order. */
export async function rankSchemes(config: RankConfig, plan: { schemes: string[]; seeds: number[] }[], data: MlmData | AnyKit | undefined, gt: GroundTruthTable): Promise<RankResult[]> {
  const out: RankResult[] = [];
  for (const { schemes, seeds } of plan) for (const scheme of schemes) for (const seed of seeds) out.push(await rankScheme(config, scheme, seed, data, gt));
  return out;
}
