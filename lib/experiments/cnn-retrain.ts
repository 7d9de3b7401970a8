// Issue 13 item 6, last step: per scheme, the child its supernet finds under the CNN space's FLOPs budget
// (search.ts, the default budget: the median FLOPs of random children) trained from scratch with the CNN
// ground-truth recipe (the very job code of the ground truth, runGroundTruthJob) with several seeds, against a
// hand-designed MobileNetV2-like child of similar FLOPs trained the same way; compared by test accuracy (on the
// ground truth's scoring batches, BN recalibrated) mean and spread over the seeds. Every (model, seed) is a unit
// committed under data/retrain/cnn-<preset>/ with provenance, loaded like the GLUE sweep's pre-trainings
// (committed -> finished run under runs/retrain/ -> trained now, resumably), verifiable by recompute.
import * as path from "node:path";
import type { Preset } from "../preset";
import { runsPath, tablesPath } from "../paths";
import { UserError } from "../errors";
import { backendName } from "../backend";
import { codeDigest } from "../code-digest";
import { recomputeRequested } from "../env";
import { writeJsonAtomic } from "../json-file";
import type { Arch, ArchSpace } from "../nas/types";
import type { Budget } from "../nas/search";
import {
  codeVersion,
  CNN_GROUND_TRUTH_PRESETS,
  groundTruthJobHash,
  readGroundTruthRow,
  runGroundTruthJob,
  type GroundTruthRow,
  type GroundTruthTable,
  type Job,
} from "./ground-truth";
import { CNN_SEARCH_PRESETS, defaultBudget, searchScheme, type SearchResult } from "./search";
import { spaceDir, type CnnKit } from "./kit";
import { agreement, inFreshRunFolder, readCommittedUnit, type Agreement, type CommittedProvenance } from "./verify";

export interface CnnRetrainConfig {
  preset: Preset;
  space: "cnn";
  /** The schemes whose supernets search a child (CNN_SEARCH_PRESETS[preset] under its default FLOPs budget) ... */
  schemes: string[];
  /** ... with the supernet of this ranking seed. */
  searchSeed: number;
  /** Seeds every model is trained from scratch with (init, data order, augmentation); >= 2 for a spread. */
  seeds: number[];
  /** The hand-designed control: a name (it names files) and its arch id in the preset's CNN space. */
  hand: { name: string; arch: string };
}

/**
 * Per-preset comparisons (our choices). The hand-designed control is MobileNetV2-like: kernel 3, expansion 6 at
 * every layer, and skips only where the FLOPs must shrink to fit the default budget (the k3e6/skip child with the
 * most FLOPs within it; test/cnn-experiments.test.ts checks that by enumeration).
 */
export const CNN_RETRAIN_PRESETS: Record<Preset, CnnRetrainConfig> = {
  tiny: {
    preset: "tiny", space: "cnn", schemes: ["uniform", "magic-t", "magic-a", "magic-at"], searchSeed: 1, seeds: [0, 1],
    // 3,792,704 FLOPs, 13,698 parameters (budget 4,228,000 FLOPs); the one skip is the last layer.
    hand: { name: "mobilenetv2-like", arch: "k3e6-k3e6-k3e6-skip" },
  },
  small: {
    preset: "small", space: "cnn", schemes: ["uniform", "magic-t", "magic-a", "magic-at"], searchSeed: 1, seeds: [0, 1, 2],
    // 13,973,920 FLOPs, 173,210 parameters (budget 13,978,000 FLOPs); skips at the 2nd and 3rd layers of stage 2.
    hand: { name: "mobilenetv2-like", arch: "k3e6-k3e6-k3e6-skip-skip-k3e6-k3e6-k3e6" },
  },
  paper: {
    preset: "paper", space: "cnn", schemes: ["uniform", "magic-t", "magic-a", "magic-at"], searchSeed: 1, seeds: [0, 1, 2],
    // Not runnable here (ImageNet-sized): every layer k3e6.
    hand: { name: "mobilenetv2-like", arch: Array.from({ length: 21 }, () => "k3e6").join("-") },
  },
};

/** A model of the comparison: the searched child of a scheme, or the hand-designed control. */
export interface RetrainModel {
  /** `searched-<scheme>` or the hand-designed control's name. */
  name: string;
  arch: Arch;
  /** The search that found it (absent for the hand-designed control). */
  search?: { scheme: string; seed: number; configHash: string; estimatedLoss: number };
}

/** One (model, seed): the child trained from scratch with the CNN ground-truth recipe. */
export interface RetrainUnit extends CommittedProvenance {
  kind: "cnn-retrain";
  preset: Preset;
  space: "cnn";
  model: string;
  seed: number;
  arch: Arch;
  archId: string;
  params: number;
  flops: number;
  /** The run's row, as a ground-truth job's: test cross-entropy and accuracy at the end and at each budget. */
  row: GroundTruthRow;
  /** Test accuracy on the ground truth's scoring batches (row.valAccuracy), the comparison's score. */
  testAccuracy: number;
  search?: RetrainModel["search"];
}

/** The default FLOPs budget of the preset's CNN searches (search.ts defaultBudget). */
export function retrainBudget(config: CnnRetrainConfig, space: ArchSpace): Budget {
  return defaultBudget(CNN_SEARCH_PRESETS[config.preset], space);
}

/** The hand-designed control, checked against the space and the budget (a UserError naming the arch otherwise). */
export function handModel(config: CnnRetrainConfig, space: ArchSpace): RetrainModel {
  let arch: Arch;
  try {
    arch = space.parseArch(config.hand.arch);
  } catch (e) {
    throw new UserError(`CNN_RETRAIN_PRESETS.${config.preset}.hand: ${(e as Error).message}`);
  }
  const budget = retrainBudget(config, space);
  if (space.flops(arch) > budget.max) {
    throw new UserError(`the hand-designed ${config.hand.name} (${config.hand.arch}) has ${space.flops(arch)} FLOPs, over the ${budget.max} FLOPs budget; add skips`);
  }
  return { name: config.hand.name, arch };
}

/**
 * The comparison's models: per scheme the child its supernet finds under the default FLOPs budget (committed
 * searches load; missing ones run, training the ranking supernet when it is missing), then the hand-designed one.
 */
export async function retrainModels(config: CnnRetrainConfig, kit: CnnKit, gt: GroundTruthTable): Promise<{ models: RetrainModel[]; searches: SearchResult[] }> {
  const hand = handModel(config, kit.archSpace);
  const budget = retrainBudget(config, kit.archSpace);
  const searches: SearchResult[] = [];
  for (const scheme of config.schemes) searches.push(await searchScheme(CNN_SEARCH_PRESETS[config.preset], scheme, config.searchSeed, budget, kit, gt));
  const searched = searches.map((s) => ({
    name: `searched-${s.scheme}`,
    arch: s.best.arch,
    search: { scheme: s.scheme, seed: s.seed, configHash: s.configHash, estimatedLoss: s.best.estimatedLoss },
  }));
  return { models: [...searched, hand], searches };
}

/** Every (model, seed) in a fixed order: seed by seed, model by model. */
export function retrainPlan(config: CnnRetrainConfig, models: RetrainModel[]): { model: RetrainModel; seed: number }[] {
  return config.seeds.flatMap((seed) => models.map((model) => ({ model, seed })));
}

/** Where a unit is committed: data/retrain/cnn-<preset>/<model>-seed<seed>.json. */
export function committedRetrainFile(config: CnnRetrainConfig, model: string, seed: number): string {
  return tablesPath("retrain", spaceDir(config), `${model}-seed${seed}.json`);
}

/** The ground-truth job of (model, seed): its arch trained with that seed. */
function retrainJob(kit: CnnKit, model: RetrainModel, seed: number): Job {
  return { arch: model.arch, seed, key: `${kit.archSpace.archId(model.arch)}-seed${seed}` };
}

export interface RetrainOptions {
  /** Root of the runs (default runs/retrain); verification passes a fresh one. */
  runRoot?: string;
  /** Load the committed unit when there is one (default: yes, unless MAGIC_RECOMPUTE=1). */
  useCommitted?: boolean;
  /** Step callback of a training this call runs (progress bars). */
  onStep?: (step: number) => void;
}

/**
 * The unit of (model, seed): the committed one (for this exact run hash: the arch, seed and recipe), else the
 * finished run under <runRoot>/cnn-<preset>/, else trained now (resumably) with the CNN ground-truth recipe.
 */
export async function retrainUnit(config: CnnRetrainConfig, model: RetrainModel, seed: number, kit: CnnKit, options: RetrainOptions = {}): Promise<RetrainUnit> {
  const gtConfig = CNN_GROUND_TRUTH_PRESETS[config.preset];
  const job = retrainJob(kit, model, seed);
  const hash = groundTruthJobHash(gtConfig, kit, job);
  if (options.useCommitted !== false && !recomputeRequested()) {
    const committed = readCommittedUnit<RetrainUnit>(committedRetrainFile(config, model.name, seed), hash,
      `MAGIC_RECOMPUTE=1 npm run magic -- cnn-retrain --preset ${config.preset} --commit`);
    if (committed) return committed;
  }
  // Keyed by the run hash (arch, seed, recipe), not the model's name: two schemes that find the same child share its runs.
  const runDir = path.join(options.runRoot ?? runsPath("retrain"), spaceDir(config), `${hash}-${codeDigest()}-${backendName()}`);
  const cached = readGroundTruthRow(runDir, job);
  const row = cached ?? (await runGroundTruthJob(gtConfig, kit, job, hash, { runDir, onStep: options.onStep }))!;
  return {
    kind: "cnn-retrain",
    preset: config.preset,
    space: "cnn",
    model: model.name,
    seed,
    arch: model.arch,
    archId: kit.archSpace.archId(model.arch),
    params: row.params,
    flops: row.flops,
    row,
    testAccuracy: row.valAccuracy,
    ...(model.search ? { search: model.search } : {}),
    configHash: hash,
    codeDigest: codeDigest(),
    backend: row.backend,
    platform: row.platform,
    source: cached ? "cache" : "computed",
  };
}

/** Writes a unit as committed, with the commit and date it was computed at. */
export function commitRetrainUnit(config: CnnRetrainConfig, unit: RetrainUnit): string {
  const file = committedRetrainFile(config, unit.model, unit.seed);
  const { source: _source, ...rest } = unit;
  writeJsonAtomic(file, { ...rest, codeVersion: codeVersion(), createdAt: new Date().toISOString() }, 1);
  return file;
}

/** Every unit of the plan, loaded or computed, in plan order. */
export async function retrainUnits(config: CnnRetrainConfig, models: RetrainModel[], kit: CnnKit, options: RetrainOptions = {}): Promise<RetrainUnit[]> {
  const units: RetrainUnit[] = [];
  for (const { model, seed } of retrainPlan(config, models)) units.push(await retrainUnit(config, model, seed, kit, options));
  return units;
}

/** What verifying one committed unit found. */
export interface RetrainCheck extends Agreement {
  model: string;
  seed: number;
  /** Agreement over the final and per-budget losses and accuracies. */
  seconds: number;
}

/** The numbers a verification compares, in a fixed order. */
function checkedNumbers(row: GroundTruthRow): number[] {
  const budgets = Object.keys(row.budgets).sort((a, b) => Number(a) - Number(b));
  return [row.valLoss, row.valAccuracy, ...budgets.flatMap((b) => [row.budgets[b], row.budgetAccuracy?.[b] ?? NaN])];
}

/** Recomputes a committed unit end to end in a fresh folder (no cache, no committed copy) and compares its numbers (`agreement`: bit-equal on the same platform). */
export async function verifyRetrainUnit(config: CnnRetrainConfig, committed: RetrainUnit, kit: CnnKit): Promise<RetrainCheck> {
  const model: RetrainModel = { name: committed.model, arch: committed.arch, search: committed.search };
  const { value: fresh, seconds } = await inFreshRunFolder(`cnn-retrain-${committed.model}-seed${committed.seed}`, (runRoot) =>
    retrainUnit(config, model, committed.seed, kit, { runRoot, useCommitted: false }),
  );
  const check = agreement(checkedNumbers(committed.row), checkedNumbers(fresh.row), committed.row, fresh.row);
  return { model: committed.model, seed: committed.seed, ...check, seconds };
}
