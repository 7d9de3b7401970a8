// Experiment 01: interference between children (the paper's Section 3), our reconstruction, measured on the
// final supernets of the ranking runs (experiments 02-04: the same (scheme, seed) units, no separate training).
// 1. One fixed set of child pairs (seeded by pairSeed): for every shared layer l and k = 1..L-1, P pairs that
//    share the op at l and differ in exactly k other layers (lib/interference.ts).
// 2. The base scheme (uniform, the paper's SPOS) is measured on every pair, over several supernet seeds: both
//    observations, with clustered intervals, within-k and partial correlations.
// 3. Every scheme is measured on the same yardstick subset (a few k, the first pairs of each cell) over the
//    same seeds: does a scheme's trained supernet interfere less on the same pairs, and does that go with tau?
// Each (scheme, seed) unit is cached under runs/interference/ and committed under data/interference/<preset>/
// (keyed by a config hash that includes the ranking run's); notebook 01 loads the committed units and
// recomputes one end to end (training its supernet from scratch) to show they still hold.
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { backendName } from "../backend";
import { codeDigest } from "../code-digest";
import { type Preset } from "../preset";
import { runsPath, tablesPath } from "../paths";
import { readJsonIfExists, writeJsonAtomic } from "../json-file";
import { recomputeRequested } from "../env";
import { UserError } from "../errors";
import { Rng, seedFrom } from "../rng";
import { bootstrapCI, mean, partialSpearman, spearman } from "../metrics";
import { clusteredBootstrap } from "../paired";
import type { MlmData } from "../data";
import { SPACE_PRESETS } from "../nas/space";
import { cnnLayers, makeCnnSpace } from "../nas/cnn-space";
import type { ArchSpace } from "../nas/types";
import { configHash } from "../train/checkpoint";
import { progress } from "../progress";
import {
  compareOnSamePairs,
  measurePair,
  pairClusters,
  samplePairs,
  summarizePairs,
  type InterferenceSummary,
  type LayeredModel,
  type MeasuredPair,
  type PairResult,
  type PairSpec,
  type SchemeDifference,
} from "../interference";
import { codeVersion, spaceFlag, type GroundTruthTable } from "./ground-truth";
import { rankedSupernet, rankPresets, rankRunHash, rankScheme, type RankedSupernet, type RankResult } from "./ranking";
import { kitFor, spaceDir, type AnyKit, type SpaceConfig } from "./kit";
import { agreement, computedHere, inFreshRunFolder, readCommittedUnit, type CommittedProvenance, type UnitCheck } from "./verify";

export interface InterferenceConfig extends SpaceConfig {
  /** Supernet seeds: every scheme is analysed on its ranking units with these seeds (>= 3 for the clustered intervals). */
  seeds: number[];
  /**
   * Schemes (of the ranking runner, lib/experiments/ranking.ts SCHEMES) whose trained supernets are compared. The
   * first is the base: it is measured on every pair (both observations) and the others are compared with it.
   */
  schemes: string[];
  /** Seed of the pair draws: the same pairs for every scheme and every supernet seed. */
  pairSeed: number;
  /** P: pairs per (shared layer, k) cell of the full analysis (base scheme). */
  pairsPerCell: number;
  /** The common yardstick: the k values measured under every scheme ... */
  yardstickKs: number[];
  /** ... and how many of each (layer, k) cell's pairs (the first ones, <= pairsPerCell). */
  yardstickPairs: number;
  /** Scoring batches (BERT validation, CNN test) the pairs cycle through (pair i of the set uses batch i mod n; A and B share it). */
  analysisBatches: number;
  /** Bootstrap resamples for every CI. */
  resamples: number;
}

const SCHEMES = ["uniform", "fairnas", "magic-t", "magic-a", "magic-at"];

/** Per-preset defaults (our choices); the ranking runs' budgets and seeds are RANK_PRESETS'. */
export const INTERFERENCE_PRESETS: Record<Preset, InterferenceConfig> = {
  tiny: { preset: "tiny", seeds: [1, 2], schemes: SCHEMES, pairSeed: 0, pairsPerCell: 2, yardstickKs: [1, 2, 3], yardstickPairs: 1, analysisBatches: 2, resamples: 200 },
  small: { preset: "small", seeds: [1, 2, 3], schemes: SCHEMES, pairSeed: 0, pairsPerCell: 8, yardstickKs: [1, 2, 4, 7], yardstickPairs: 4, analysisBatches: 8, resamples: 1000 },
  paper: { preset: "paper", seeds: [1, 2, 3], schemes: SCHEMES, pairSeed: 0, pairsPerCell: 8, yardstickKs: [1, 2, 4, 8, 16, 23], yardstickPairs: 4, analysisBatches: 6, resamples: 1000 },
};

/** The CNN space's interference analysis (our choices): fewer pairs per cell than BERT's (a CNN pair costs more). */
export const CNN_INTERFERENCE_PRESETS: Record<Preset, InterferenceConfig> = {
  tiny: { preset: "tiny", space: "cnn", seeds: [1, 2], schemes: SCHEMES, pairSeed: 0, pairsPerCell: 1, yardstickKs: [1, 2, 3], yardstickPairs: 1, analysisBatches: 2, resamples: 200 },
  small: { preset: "small", space: "cnn", seeds: [1, 2, 3], schemes: SCHEMES, pairSeed: 0, pairsPerCell: 2, yardstickKs: [1, 2, 4, 7], yardstickPairs: 1, analysisBatches: 8, resamples: 1000 },
  paper: { preset: "paper", space: "cnn", seeds: [1, 2, 3], schemes: SCHEMES, pairSeed: 0, pairsPerCell: 4, yardstickKs: [1, 2, 4, 8, 16, 20], yardstickPairs: 2, analysisBatches: 8, resamples: 1000 },
};

/** The preset's config (of the BERT space, or with `space` "cnn" the CNN space's) with `overrides`; a bad field is a UserError naming it. */
export function interferenceConfig(preset: Preset, overrides: Partial<InterferenceConfig> = {}, space?: "cnn"): InterferenceConfig {
  const config: InterferenceConfig = { ...(space === "cnn" ? CNN_INTERFERENCE_PRESETS : INTERFERENCE_PRESETS)[preset], ...overrides };
  const layers = space === "cnn" ? cnnLayers(makeCnnSpace(preset)).length : SPACE_PRESETS[preset].layers;
  const badK = config.yardstickKs.filter((k) => !Number.isInteger(k) || k < 1 || k > layers - 1);
  if (badK.length) throw new UserError(`interference: yardstickKs must be integers in [1, ${layers - 1}] (${layers} sub-layers), got ${badK.join(", ")}`);
  if (!Number.isInteger(config.pairsPerCell) || config.pairsPerCell < 1) throw new UserError(`interference: pairsPerCell must be a positive integer, got ${config.pairsPerCell}`);
  if (!Number.isInteger(config.yardstickPairs) || config.yardstickPairs < 1 || config.yardstickPairs > config.pairsPerCell) {
    throw new UserError(`interference: yardstickPairs must be an integer in [1, pairsPerCell = ${config.pairsPerCell}], got ${config.yardstickPairs}`);
  }
  if (config.seeds.length === 0 || config.schemes.length === 0) throw new UserError("interference: seeds and schemes must not be empty");
  return config;
}

/** A pair of the fixed set, with its position in its (layer, k) cell and its batch. */
export type IndexedPair = PairSpec & { index: number; batch: number };

/**
 * The fixed pair set: for every (layer, k) cell, `pairsPerCell` pairs drawn from `pairSeed`; pair i of the
 * whole set is measured on batch i mod analysisBatches, whoever measures it.
 */
export function pairSet(space: ArchSpace, config: InterferenceConfig): IndexedPair[] {
  const rng = new Rng(seedFrom(config.pairSeed, 0x1f));
  const layers = space.choices.length;
  const cells = Array.from({ length: layers }, (_, l) => Array.from({ length: layers - 1 }, (_, i) => samplePairs(space, l, i + 1, config.pairsPerCell, rng)));
  return cells.flat(1).flatMap((cell) => cell.map((p, index) => ({ ...p, index }))).map((p, i) => ({ ...p, batch: i % config.analysisBatches }));
}

/** The pairs `scheme` is measured on: all for the base scheme, the yardstick subset for the others. */
function pairsFor(config: InterferenceConfig, scheme: string, all: IndexedPair[]): IndexedPair[] {
  return scheme === config.schemes[0] ? all : all.filter((p) => onYardstick(config, p));
}

function onYardstick(config: InterferenceConfig, p: { k: number; index: number }): boolean {
  return config.yardstickKs.includes(p.k) && p.index < config.yardstickPairs;
}

/** Measures `pairs` on `model` (pair p on batches[p.batch]), yielding to the event loop between pairs. */
export async function measurePairs<B>(model: LayeredModel<B>, pairs: IndexedPair[], batches: B[], seed: number, label: string): Promise<MeasuredPair[]> {
  const bar = progress({ total: pairs.length, label });
  const results: MeasuredPair[] = [];
  for (const [i, spec] of pairs.entries()) {
    const { index, batch, ...pair } = spec;
    results.push({ ...measurePair(model, pair, batches[batch]), seed, batch, index });
    bar.update(i + 1, { cos: results[i].gradCosine.toFixed(3) });
    await new Promise((r) => setImmediate(r)); // lets a notebook kernel send its output (and see an interrupt)
  }
  bar.stop();
  return results;
}

/**
 * Measures `pairsPerCell` pairs for every (shared layer, k) cell on `model`, cycling through `batches`;
 * the pair draws are seeded by (seed, step). (Notebook 03's mechanism check.)
 */
export async function measureCells<B>(model: LayeredModel<B>, batches: B[], pairsPerCell: number, seed: number, step: number): Promise<PairResult[]> {
  const layers = model.archSpace.choices.length;
  const rng = new Rng(seedFrom(seed, step, 0x1f));
  const specs = Array.from({ length: layers }, (_, l) => Array.from({ length: layers - 1 }, (_, i) => samplePairs(model.archSpace, l, i + 1, pairsPerCell, rng))).flat(2);
  const indexed = specs.map((p, i) => ({ ...p, index: 0, batch: i % batches.length }));
  return (await measurePairs(model, indexed, batches, seed, `pairs @ step ${step}`)).map(({ seed: _s, batch: _b, index: _i, ...pair }) => pair);
}

/** One (scheme, seed): the pairs measured on that ranking unit's final supernet, and which supernet it was. */
export interface InterferenceUnit extends CommittedProvenance {
  /** "cnn" for the CNN space; absent for BERT (as units were before spaces existed). */
  space?: "cnn";
  scheme: string;
  seed: number;
  preset: Preset;
  pairs: MeasuredPair[];
  /**
   * The supernet measured: its ranking run (config hash, steps) and its mean loss. Its Kendall tau is read from
   * the ranking result (it depends on the ground truth, which these numbers do not).
   */
  supernet: {
    rankConfigHash: string;
    steps: number;
    /** Mean validation MLM loss of the ground-truth children with its weights (the ground truth's scoring batches). */
    meanSupernetLoss: number;
    /** Where its weights came from (lib/experiments/ranking.ts RankedSupernet.origin). */
    origin: string;
  };
  /** Seconds spent measuring the pairs (not loading or training the supernet). */
  measureSeconds: number;
}

/** Where the committed unit of (scheme, seed) lives: data/interference/<preset>/<scheme>-seed<seed>.json (CNN: cnn-<preset>/). A bare preset means BERT. */
export function committedInterferenceFile(config: Preset | SpaceConfig, scheme: string, seed: number): string {
  return tablesPath("interference", spaceDir(typeof config === "string" ? { preset: config } : config), `${scheme}-seed${seed}.json`);
}

/** The hash of what a unit's numbers depend on: its pairs, batches and the ranking run (itself a hash of config, data, code-independent inputs). */
function unitHash(config: InterferenceConfig, scheme: string, rankHash: string): string {
  const full = scheme === config.schemes[0];
  return configHash({
    pairSeed: config.pairSeed,
    pairsPerCell: config.pairsPerCell,
    analysisBatches: config.analysisBatches,
    measured: full ? "all" : { ks: config.yardstickKs, pairs: config.yardstickPairs },
    rankHash,
  });
}

/**
 * The interference unit of (scheme, seed): the committed one (unless `useCommitted` is false or MAGIC_RECOMPUTE=1;
 * one of another configuration is an error naming the fix), else a cached one under runs/, else measured now
 * on the ranking unit's trained supernet (lib/experiments/ranking.ts rankedSupernet). `runRoot` moves the
 * runs (verification uses a fresh one).
 */
export async function interferenceUnit(
  config: InterferenceConfig,
  scheme: string,
  seed: number,
  data: MlmData | AnyKit | undefined,
  gt: GroundTruthTable,
  options: { runRoot?: string; useCommitted?: boolean } = {},
): Promise<InterferenceUnit> {
  const rankConfig = rankPresets(config)[config.preset];
  const kit = kitFor(config, data);
  const hash = unitHash(config, scheme, rankRunHash(rankConfig, scheme, seed, kit, gt));
  if (options.useCommitted !== false && !recomputeRequested()) {
    const committed = readCommittedUnit<InterferenceUnit>(committedInterferenceFile(config, scheme, seed), hash,
      `npm run magic -- interference --preset ${config.preset}${spaceFlag(config)} --commit --out <file>`);
    if (committed) return committed;
  }
  const backend = backendName();
  const cacheRoot = options.runRoot ? path.join(options.runRoot, "interference") : runsPath("interference");
  const cacheFile = path.join(cacheRoot, spaceDir(config), `${scheme}-seed${seed}-${hash}-${codeDigest()}-${backend}.json`);
  const cached = readJsonIfExists<InterferenceUnit>(cacheFile);
  if (cached) return { ...cached, source: "cache" };
  // The analysis batches are the first scoring batches (BERT: validation, as before kits; CNN: test).
  const supernet = (await rankedSupernet(rankConfig, scheme, seed, kit as never, gt, { runRoot: options.runRoot })) as RankedSupernet<LayeredModel<object>, object>;
  const batches = (kit as unknown as { scoringBatches(n: number): object[] }).scoringBatches(config.analysisBatches);
  try {
    const t0 = Date.now();
    const pairs = await measurePairs(supernet.model, pairsFor(config, scheme, pairSet(supernet.model.archSpace, config)), batches, seed, `${scheme} seed ${seed} pairs`);
    const unit: InterferenceUnit = {
      ...(config.space ? { space: config.space } : {}),
      scheme,
      seed,
      preset: config.preset,
      pairs,
      supernet: {
        rankConfigHash: supernet.rank.configHash,
        steps: supernet.rank.steps,
        meanSupernetLoss: supernet.rank.meanSupernetLoss,
        origin: supernet.origin,
      },
      measureSeconds: (Date.now() - t0) / 1000,
      configHash: hash,
      codeDigest: codeDigest(),
      ...computedHere(),
    };
    writeJsonAtomic(cacheFile, unit);
    return { ...unit, source: "computed" };
  } finally {
    tf.dispose(batches.flatMap((b) => Object.values(b).filter((v): v is tf.Tensor => v instanceof tf.Tensor)));
    supernet.release();
  }
}

/** Writes `unit` as the committed table of its (scheme, seed), with the commit it was computed at. */
export function commitInterferenceUnit(unit: InterferenceUnit): string {
  const file = committedInterferenceFile({ preset: unit.preset, space: unit.space }, unit.scheme, unit.seed);
  const { source: _source, ...rest } = unit;
  writeJsonAtomic(file, { ...rest, codeVersion: codeVersion(), createdAt: new Date().toISOString() });
  return file;
}

/** The numbers of a unit compared on recomputation, in one flat list (pair order). */
function unitNumbers(unit: InterferenceUnit): number[] {
  return unit.pairs.flatMap((p) => [p.gradCosine, p.matrixGradCosine, p.inputCosine, p.outputCosine, p.outputGradCosine]);
}

/** What `verifyInterferenceUnit` found. */
export interface InterferenceCheck extends UnitCheck {
  /** Numbers compared (5 per pair). */
  numbers: number;
}

/**
 * Recomputes (scheme, seed) end to end in a fresh folder: trains its supernet from scratch through the ranking
 * runner (no run, no cache, no committed unit) and measures the same pairs; compares every number with `committed`.
 */
export async function verifyInterferenceUnit(config: InterferenceConfig, committed: InterferenceUnit, data: MlmData | AnyKit | undefined, gt: GroundTruthTable): Promise<InterferenceCheck> {
  const { value: fresh, seconds } = await inFreshRunFolder(`interference-${committed.scheme}-seed${committed.seed}`, (runRoot) =>
    interferenceUnit(config, committed.scheme, committed.seed, data, gt, { runRoot, useCommitted: false }),
  );
  if (fresh.supernet.origin !== "trained") throw new Error(`verifyInterferenceUnit: the supernet was not retrained (${fresh.supernet.origin})`);
  const a = unitNumbers(committed), b = unitNumbers(fresh);
  if (a.length !== b.length) throw new Error(`verifyInterferenceUnit: ${a.length} committed numbers vs ${b.length} recomputed`);
  return { scheme: committed.scheme, seed: committed.seed, numbers: a.length, ...agreement(a, b, committed, fresh), seconds };
}

export interface CheckpointAnalysis extends InterferenceSummary {
  /** Training step of the supernets analysed (the ranking runs' final step). */
  step: number;
  /** Mean over seeds of the supernets' mean validation loss over the ground-truth children. */
  valLoss?: number;
  /** Supernet seeds pooled. */
  seeds: number[];
  pairs: MeasuredPair[];
}

export interface MonitorCurve {
  /** The scheme (named `sampler` for the JSON's earlier shape). */
  sampler: string;
  /** Mean over seeds of the live cosine at each logged step. */
  points: { step: number; cosine: number }[];
  /** Mean cosine over the second half of the points (the curve settles after warmup). */
  lateMean: number;
}

/** One scheme on the yardstick: mean gradient cosine of its supernets on the common pairs, and vs the base. */
export interface SchemeRow {
  scheme: string;
  seeds: number[];
  pairs: number;
  /** Mean gradient cosine over the yardstick pairs and seeds, clustered CI (seeds, then batches). */
  meanCosine: { value: number; ci: [number, number] };
  byK: { k: number; value: number; ci: [number, number] }[];
  /** Paired with the base scheme on the same pairs and seed numbers (null for the base itself). */
  vsBase: SchemeDifference | null;
}

/** Per-scheme interference on the common yardstick and its relation to ranking quality. */
export interface SchemeSection {
  base: string;
  ks: number[];
  pairsPerCell: number;
  rows: SchemeRow[];
  /** One point per (scheme, seed): mean yardstick cosine against the unit's Kendall tau. */
  units: { scheme: string; seed: number; meanCosine: number; kendallTau: number; meanSupernetLoss: number }[];
  /**
   * Spearman of mean cosine with tau over the units, with a bootstrap CI over units (> 0: less interference, better
   * tau); `givenSeed`: the partial Spearman given the seed (a seed's data order may move both for every scheme).
   */
  tauCorrelation: { spearman: number; ci: [number, number]; givenSeed: { spearman: number; ci: [number, number] }; units: number };
}

/** Where each unit came from (notebook provenance). */
export interface UnitProvenance {
  scheme: string;
  seed: number;
  source: InterferenceUnit["source"];
  origin: string;
  configHash: string;
  codeDigest: string;
  backend: string;
  codeVersion?: string;
  createdAt?: string;
  pairs: number;
  measureSeconds: number;
}

export interface InterferenceReport {
  config: InterferenceConfig;
  space: string;
  /** The unigram floor of the scoring batches (the loss to beat), next to the supernets' losses. */
  unigramLoss: number;
  /** Both observations on the base scheme's final supernets, pooled over seeds (one entry: the final step). */
  checkpoints: CheckpointAnalysis[];
  /** The ranking runs' live monitor (consecutive children), per scheme. */
  monitor: MonitorCurve[];
  /** Per-scheme interference on the common yardstick. */
  schemes: SchemeSection;
  units: UnitProvenance[];
}

function monitorCurve(scheme: string, monitors: RankResult["monitor"][]): MonitorCurve {
  const bySteps = new Map<number, number[]>();
  for (const m of monitors) for (const p of m) bySteps.set(p.step, [...(bySteps.get(p.step) ?? []), p.cosine]);
  const points = [...bySteps.keys()].sort((a, b) => a - b).map((step) => ({ step, cosine: mean(bySteps.get(step)!) }));
  const late = points.slice(Math.floor(points.length / 2)).map((p) => p.cosine);
  return { sampler: scheme, points, lateMean: late.length ? mean(late) : NaN };
}

/** `taus`: each unit's Kendall tau (its ranking result's), in `units` order. */
function schemeSection(config: InterferenceConfig, units: InterferenceUnit[], taus: number[]): SchemeSection {
  const opts = { resamples: config.resamples, seed: config.pairSeed };
  const base = config.schemes[0];
  const yardstick = (scheme: string) => units.filter((u) => u.scheme === scheme).flatMap((u) => u.pairs.filter((p) => onYardstick(config, p)));
  const basePairs = yardstick(base);
  const rows = config.schemes.map((scheme): SchemeRow => {
    const pairs = yardstick(scheme);
    const ks = config.yardstickKs;
    const stats = clusteredBootstrap(pairClusters(pairs), (ps) => [mean(ps.map((p) => p.gradCosine)), ...ks.map((k) => {
      const inK = ps.filter((p) => p.k === k);
      return inK.length ? mean(inK.map((p) => p.gradCosine)) : NaN;
    })], opts);
    return {
      scheme,
      seeds: [...new Set(pairs.map((p) => p.seed))],
      pairs: pairs.length,
      meanCosine: { value: stats[0].estimate, ci: stats[0].ci },
      byK: ks.map((k, i) => ({ k, value: stats[i + 1].estimate, ci: stats[i + 1].ci })),
      vsBase: scheme === base ? null : compareOnSamePairs(pairs, basePairs, opts),
    };
  });
  const points = units.map((u, i) => ({
    scheme: u.scheme,
    seed: u.seed,
    meanCosine: mean(u.pairs.filter((p) => onYardstick(config, p)).map((p) => p.gradCosine)),
    kendallTau: taus[i],
    meanSupernetLoss: u.supernet.meanSupernetLoss,
  }));
  const cos = points.map((p) => p.meanCosine), tau = points.map((p) => p.kendallTau);
  const indices = points.map((_, i) => i);
  const givenSeed = (idx: number[]) => partialSpearman(idx.map((i) => cos[i]), idx.map((i) => tau[i]), { strata: idx.map((i) => points[i].seed) });
  return {
    base,
    ks: config.yardstickKs,
    pairsPerCell: config.yardstickPairs,
    rows,
    units: points,
    tauCorrelation: {
      spearman: spearman(cos, tau),
      ci: bootstrapCI([cos, tau], (a, b) => spearman(a, b), opts),
      givenSeed: { spearman: givenSeed(indices), ci: bootstrapCI(indices, (s) => givenSeed(s), opts) },
      units: points.length,
    },
  };
}

/** Every unit of `config` (scheme-major), loaded or computed. */
export async function interferenceUnits(config: InterferenceConfig, data: MlmData | AnyKit | undefined, gt: GroundTruthTable, options: { useCommitted?: boolean } = {}): Promise<InterferenceUnit[]> {
  const units: InterferenceUnit[] = [];
  for (const scheme of config.schemes) for (const seed of config.seeds) units.push(await interferenceUnit(config, scheme, seed, data, gt, options));
  return units;
}

/** Runs (or loads) experiment 01 and summarises it; `units` may be passed in when already loaded. */
export async function runInterference(
  config: InterferenceConfig,
  data: MlmData | AnyKit | undefined,
  gt: GroundTruthTable,
  options: { useCommitted?: boolean; units?: InterferenceUnit[] } = {},
): Promise<InterferenceReport> {
  const units = options.units ?? (await interferenceUnits(config, data, gt, options));
  const baseUnits = units.filter((u) => u.scheme === config.schemes[0]);
  const pairs = baseUnits.flatMap((u) => u.pairs);
  // The monitor and tau come from the ranking results (committed or cached: rankScheme loads them without training).
  const monitors = new Map<string, RankResult["monitor"][]>();
  const taus: number[] = [];
  for (const u of units) {
    const rank = await rankScheme(rankPresets(config)[config.preset], u.scheme, u.seed, data, gt);
    monitors.set(u.scheme, [...(monitors.get(u.scheme) ?? []), rank.monitor]);
    taus.push(rank.kendallTau);
  }
  return {
    config,
    space: kitFor(config, data).archSpace.id,
    unigramLoss: gt.unigramLoss,
    checkpoints: [{
      step: baseUnits[0].supernet.steps,
      valLoss: mean(baseUnits.map((u) => u.supernet.meanSupernetLoss)),
      seeds: baseUnits.map((u) => u.seed),
      ...summarizePairs(pairs, { resamples: config.resamples, seed: config.pairSeed }),
      pairs,
    }],
    monitor: config.schemes.map((s) => monitorCurve(s, monitors.get(s) ?? [])),
    schemes: schemeSection(config, units, taus),
    units: units.map((u) => ({
      scheme: u.scheme, seed: u.seed, source: u.source, origin: u.supernet.origin, configHash: u.configHash, codeDigest: u.codeDigest,
      backend: u.backend, codeVersion: u.codeVersion, createdAt: u.createdAt, pairs: u.pairs.length, measureSeconds: u.measureSeconds,
    })),
  };
}

/** Writes the report (raw per-pair values included) as JSON, atomically. */
export function saveInterferenceReport(report: InterferenceReport, file: string): void {
  writeJsonAtomic(file, report);
}
