// The GLUE sweep of issue 12: every model of the plan (hand-designed BERT-style baselines here; the searched
// architectures, which the caller adds) pre-trained once with MLM by the ground-truth recipe (the very job code
// of the ground truth, runGroundTruthJob), then fine-tuned on every GLUE task with several seeds (runGlue); and,
// as a second ground truth for the ranking question, the first ground-truth children fine-tuned from their own
// ground-truth checkpoints. Pre-training is at the MLM space's T; fine-tuning extends the position table
// (GlueSettings.positionTable). Every pre-training and every (model, task, seed) is a unit committed under
// data/glue-results/<preset>/ with provenance, loaded like the ranking units (committed -> finished run under
// runs/glue/ -> computed, resumably), and verifiable by an end-to-end recompute in a fresh folder.
import * as fs from "node:fs";
import * as path from "node:path";
import type { Preset } from "../preset";
import { runsPath, tablesPath } from "../paths";
import { UserError } from "../errors";
import { backendName } from "../backend";
import { codeDigest } from "../code-digest";
import { recomputeRequested } from "../env";
import { readJsonIfExists, writeJsonAtomic } from "../json-file";
import type { MlmData } from "../data";
import { GLUE_TASKS, numLabels, type GlueTask } from "../data/glue";
import { archId, flops, makeSpace, paramCount, parseArch } from "../nas/space";
import type { Arch, SearchSpace } from "../nas/types";
import { glueTaskScore } from "../metrics";
import { progress as startProgress } from "../progress";
import { configHash, isFinishedCheckpoint } from "../train/checkpoint";
import {
  codeVersion,
  groundTruthChildren,
  groundTruthJobDir,
  groundTruthJobHash,
  readGroundTruthRow,
  runGroundTruthJob,
  GROUND_TRUTH_PRESETS,
  type GroundTruthRow,
  type GroundTruthTable,
  type Job,
} from "./ground-truth";
import { glueRunHash, runGlue, type GlueResult } from "./glue";
import { agreement, computedHere, inFreshRunFolder, readCommittedUnit, type Agreement, type CommittedProvenance } from "./verify";
import { searchScheme, type SearchConfig, type SearchResult } from "./search";

/** A model of the sweep: a child of the preset's MLM space (makeSpace) with a name for tables and files. */
export interface GlueModel {
  /** Lower-case letters, digits, '.' and '-' (it names files). */
  name: string;
  arch: Arch;
}

export interface GlueSweepConfig {
  preset: Preset;
  /**
   * Hand-designed BERT-style baselines (attention and FFN alternating), name -> arch id in the preset's op
   * names (lib/nas/space.ts): a deep-narrow and a shallow-wide one of about the same parameter count.
   */
  baselines: Record<string, string>;
  /**
   * Parameter budget of every model (the MLM model of the preset's space: embeddings, ops and MLM head): the
   * largest baseline's count (test/glue-sweep.test.ts checks it). The search looks under the same budget.
   */
  maxParams: number;
  /** Tasks every model is fine-tuned on. */
  tasks: GlueTask[];
  /** Fine-tuning seeds (head init and data order; the encoder comes from the one pre-training). */
  seeds: number[];
  /** Seed of each model's pre-training (init, data order, masking): the ground truth's first seed. */
  pretrainSeed: number;
  /**
   * The second ground truth: the first `children` ground-truth children (draw order), fine-tuned on `tasks`
   * with seed `seed`, each from its own ground-truth checkpoint of seed `pretrainSeed`.
   */
  groundTruth: { children: number; tasks: GlueTask[]; seed: number };
}

/** Per-preset sweeps (our choices). Pre-training is GROUND_TRUTH_PRESETS[preset]'s recipe; fine-tuning GLUE_PRESETS'. */
export const GLUE_SWEEPS: Record<Preset, GlueSweepConfig> = {
  tiny: {
    preset: "tiny",
    baselines: { "deep-narrow": "att4-ffn32-att4-ffn32", "shallow-wide": "att8-ffn128-id-id" },
    maxParams: 48928,
    tasks: [...GLUE_TASKS],
    seeds: [0],
    pretrainSeed: 0,
    groundTruth: { children: 6, tasks: ["sst2", "mrpc"], seed: 0 },
  },
  small: {
    preset: "small",
    baselines: {
      "deep-narrow": "att4-ffn64-att4-ffn64-att4-ffn64-att4-ffn64", // 4 x (attention, FFN 1x)
      "shallow-wide": "att8-ffn256-att8-ffn256-id-id-id-id", // 2 x (attention, FFN 4x), 4 identities
    },
    maxParams: 373568,
    tasks: [...GLUE_TASKS],
    seeds: [0, 1, 2],
    pretrainSeed: 0,
    groundTruth: { children: 16, tasks: ["sst2", "mrpc"], seed: 0 },
  },
  paper: {
    preset: "paper",
    baselines: {
      "deep-narrow": Array.from({ length: 12 }, () => "att12-ffn2048").join("-"),
      "shallow-wide": [...Array.from({ length: 8 }, () => "att16-ffn4096"), ...Array.from({ length: 8 }, () => "id")].join("-"),
    },
    maxParams: 76285696,
    tasks: [...GLUE_TASKS],
    seeds: [0, 1, 2],
    pretrainSeed: 0,
    groundTruth: { children: 16, tasks: ["sst2", "mrpc"], seed: 0 },
  },
};

const NAME = /^[a-z0-9][a-z0-9.-]*$/;

/** The baselines of `config` as models of `space` (the preset's MLM space). */
export function baselineModels(config: GlueSweepConfig, space: SearchSpace): GlueModel[] {
  return Object.entries(config.baselines).map(([name, id]) => ({ name, arch: parseArch(space, id) }));
}

/** Throws one UserError naming the model when a name is invalid or repeated, or a model exceeds the budget. */
export function checkModels(config: GlueSweepConfig, space: SearchSpace, models: GlueModel[]): void {
  const seen = new Set<string>();
  for (const m of models) {
    if (!NAME.test(m.name) || m.name === "ground-truth") throw new UserError(`GLUE model name '${m.name}': use lower-case letters, digits, '.' and '-' (it names files), not 'ground-truth'`);
    if (seen.has(m.name)) throw new UserError(`GLUE model name '${m.name}' is used twice; give every model its own name`);
    seen.add(m.name);
    const params = paramCount(space, m.arch);
    if (params > config.maxParams) {
      throw new UserError(`GLUE model ${m.name} (${archId(space, m.arch)}) has ${params} parameters, over the ${config.preset} budget of ${config.maxParams} ` +
        "(GLUE_SWEEPS maxParams, the largest baseline's): search under that budget");
    }
  }
}

/** The sweep's models: the baselines, then `extra` (the searched architectures), checked (checkModels). */
export function sweepModels(config: GlueSweepConfig, space: SearchSpace, extra: GlueModel[] = []): GlueModel[] {
  const models = [...baselineModels(config, space), ...extra];
  checkModels(config, space, models);
  return models;
}

/** Name of the model searched with `scheme`'s supernet of ranking seed `seed` (the seed shown only when a config searches several). */
export function searchedModelName(search: SearchConfig, scheme: string, seed: number): string {
  return search.seeds.length > 1 ? `searched-${scheme}-seed${seed}` : `searched-${scheme}`;
}

/**
 * The sweep's models: the hand-designed baselines, then for every scheme and seed of `search` the child its
 * supernet finds under the sweep's budget by regularized evolution (committed searches load; missing ones
 * run, training the ranking supernet when it is missing). Also returns the searches.
 */
export async function glueModels(config: GlueSweepConfig, search: SearchConfig, data: MlmData, gt: GroundTruthTable) {
  const searches: SearchResult[] = [];
  for (const scheme of search.schemes) for (const seed of search.seeds) searches.push(await searchScheme(search, scheme, seed, config.maxParams, data, gt));
  const searched = searches.map((s) => ({ name: searchedModelName(search, s.scheme, s.seed), arch: s.best.arch }));
  return { models: sweepModels(config, makeSpace(config.preset, data.vocabSize), searched), searches };
}

/** One unit of the sweep: a model's pre-training, a model's fine-tuning, or a ground-truth child's fine-tuning. */
export type GlueUnitSpec =
  | { kind: "pretrain"; model: GlueModel }
  | { kind: "model" | "ground-truth"; model: GlueModel; task: GlueTask; seed: number };

/**
 * Every unit of the sweep in a fixed order: the pre-trainings, then the fine-tunings seed by seed, task by
 * task, model by model (so that the shards of `glue-all` start on different models), then the ground-truth
 * children's (task by task). `gt` null: no ground-truth units.
 */
export function glueSweepPlan(config: GlueSweepConfig, models: GlueModel[], gt: GroundTruthTable | null): GlueUnitSpec[] {
  const units: GlueUnitSpec[] = models.map((model) => ({ kind: "pretrain", model }));
  for (const seed of config.seeds) for (const task of config.tasks) for (const model of models) units.push({ kind: "model", model, task, seed });
  if (gt) {
    const children = groundTruthChildren(gt).slice(0, config.groundTruth.children);
    for (const task of config.groundTruth.tasks) {
      for (const child of children) units.push({ kind: "ground-truth", model: { name: child.id, arch: child.arch }, task, seed: config.groundTruth.seed });
    }
  }
  return units;
}

/** A unit's name in progress lines and folder names. */
export function unitLabel(spec: GlueUnitSpec): string {
  return spec.kind === "pretrain" ? `${spec.model.name}-pretrain` : `${spec.model.name}-${spec.task}-seed${spec.seed}`;
}

/** Where a unit is committed: data/glue-results/<preset>/<label>.json (ground-truth children under ground-truth/). */
export function committedGlueFile(preset: Preset, spec: GlueUnitSpec): string {
  return tablesPath("glue-results", preset, ...(spec.kind === "ground-truth" ? ["ground-truth"] : []), `${unitLabel(spec)}.json`);
}

/** Where a pre-trained encoder's checkpoint came from in the process that computed the unit. */
export type PretrainOrigin = "ground-truth build" | "run" | "trained";

/** A model's MLM pre-training (the ground-truth recipe); configHash is the run's (its checkpoint's) hash. */
export interface PretrainUnit extends CommittedProvenance {
  kind: "pretrain";
  model: string;
  preset: Preset;
  arch: Arch;
  archId: string;
  params: number;
  flops: number;
  /** The run's row, as a ground-truth job's: validation MLM loss at the end and at each budget, seconds. */
  row: GroundTruthRow;
  origin: PretrainOrigin;
}

/** One fine-tuning: the GLUE result (metrics, dev predictions) and what it started from. */
export interface GlueUnit extends CommittedProvenance, Pick<GlueResult, "task" | "metrics" | "predictions" | "seed" | "steps" | "devLoss" | "secondsPerStep" | "trainExamples" | "devExamples" | "truncated"> {
  kind: "model" | "ground-truth";
  /** The model's name, or the ground-truth child's id. */
  model: string;
  preset: Preset;
  arch: Arch;
  archId: string;
  /** Parameters of the pre-trained MLM model (makeSpace), the budget's measure. */
  params: number;
  /** The task's GLUE score (metrics.ts glueTaskScore: the mean of its metrics). */
  score: number;
  /** The pre-training the encoder started from: its run hash and final validation MLM loss, and where its checkpoint came from. */
  pretrain: { configHash: string; steps: number; valLoss: number; origin: PretrainOrigin };
  /** The fine-tuning run's own config hash (its checkpoint's; covers the loaded weights). */
  runHash: string;
}

export interface GlueUnitOptions {
  /** Root of the unit's runs (default runs/glue); verification passes a fresh one. */
  runRoot?: string;
  /** Load the committed unit when there is one (default: yes, unless MAGIC_RECOMPUTE=1). */
  useCommitted?: boolean;
  /** Ground-truth children: look for their checkpoints in the ground-truth builds under runs/ground-truth (default yes). */
  reuseGroundTruthBuild?: boolean;
  /** Stop (resumably) after this many steps of the training this call runs (pre-training or fine-tuning); the unit is then null. */
  stopAfter?: number;
  /** Notes of a fine-tuning that runs (malformed rows, examples cut to the maximum length); default console.warn. */
  warn?: (line: string) => void;
  /** Progress bar label of the fine-tuning (the pre-training, when it trains, gets a bar too); default none. */
  progress?: string | false;
}

/** The pre-training job of `model`: the ground truth's job of that child with the sweep's pre-training seed. */
function pretrainJob(config: GlueSweepConfig, space: SearchSpace, model: GlueModel): Job {
  const id = archId(space, model.arch);
  return { arch: model.arch, seed: config.pretrainSeed, key: `${id}-seed${config.pretrainSeed}` };
}


/**
 * A ground-truth child's finished checkpoint in a ground-truth build of the committed table (any code
 * digest, this backend), used only when the build's row has exactly the committed table's validation loss.
 */
function groundTruthBuildCheckpoint(gt: GroundTruthTable, job: Job, hash: string): { dir: string; row: GroundTruthRow } | null {
  const root = runsPath("ground-truth");
  const committed = gt.rows.find((r) => r.seed === job.seed && `${r.id}-seed${r.seed}` === job.key);
  if (!committed || !fs.existsSync(root)) return null;
  const builds = fs.readdirSync(root).filter((n) => n.startsWith(`${gt.preset}-${gt.configHash}-`) && n.endsWith(`-${backendName()}`)).sort();
  for (const name of builds) {
    const runDir = path.join(root, name);
    const row = readGroundTruthRow(runDir, job);
    const dir = groundTruthJobDir(runDir, job);
    if (row && row.valLoss === committed.valLoss && isFinishedCheckpoint(dir, hash, gt.config.steps)) return { dir, row };
  }
  return null;
}

/**
 * The finished pre-training checkpoint of `model` (training it, resumably, when missing): for a ground-truth
 * child its ground-truth build's, else the unit's own run under <runRoot>/<preset>/pretrain/ (keyed by the run
 * hash, the code digest and the backend). Null when `stopAfter` stopped the training.
 */
export async function pretrainedEncoder(config: GlueSweepConfig, model: GlueModel, data: MlmData, gt: GroundTruthTable | null, options: GlueUnitOptions) {
  const gtConfig = GROUND_TRUTH_PRESETS[config.preset];
  const space = makeSpace(config.preset, data.vocabSize);
  const job = pretrainJob(config, space, model);
  const hash = groundTruthJobHash(gtConfig, data, job);
  if (gt && options.reuseGroundTruthBuild !== false) {
    const found = groundTruthBuildCheckpoint(gt, job, hash);
    if (found) return { ...found, hash, job, origin: "ground-truth build" as PretrainOrigin };
  }
  const runDir = path.join(options.runRoot ?? runsPath("glue"), config.preset, "pretrain", `${model.name}-${hash}-${codeDigest()}-${backendName()}`);
  const dir = groundTruthJobDir(runDir, job);
  const cached = readGroundTruthRow(runDir, job);
  if (cached && isFinishedCheckpoint(dir, hash, gtConfig.steps)) return { dir, row: cached, hash, job, origin: "run" as PretrainOrigin };
  // A result file whose checkpoint is gone: train again (the same numbers) so that there are weights to load.
  if (cached) fs.rmSync(path.join(runDir, "results", `${job.key}.json`), { force: true });
  const bar = options.progress ? startProgress({ total: gtConfig.steps, label: `${model.name} pre-training` }) : null;
  try {
    const row = await runGroundTruthJob(gtConfig, data, job, hash, { runDir, stopAfter: options.stopAfter, onStep: (step) => bar?.update(step) });
    return row && { dir, row, hash, job, origin: "trained" as PretrainOrigin };
  } finally {
    bar?.stop();
  }
}

/** The pre-training run hash of `model` (its checkpoint's), without training. */
export function pretrainHash(config: GlueSweepConfig, model: GlueModel, data: MlmData): string {
  return groundTruthJobHash(GROUND_TRUTH_PRESETS[config.preset], data, pretrainJob(config, makeSpace(config.preset, data.vocabSize), model));
}

const rebuild = (preset: Preset) => `MAGIC_RECOMPUTE=1 npm run magic -- glue-all --preset ${preset} --commit`;

/** The committed unit of `spec` for config hash `hash`, or null (none, MAGIC_RECOMPUTE=1, or useCommitted false). */
function committedUnit<T extends CommittedProvenance>(preset: Preset, spec: GlueUnitSpec, hash: string, options: GlueUnitOptions): T | null {
  if (options.useCommitted === false || recomputeRequested()) return null;
  return readCommittedUnit<T>(committedGlueFile(preset, spec), hash, rebuild(preset));
}

/**
 * The pre-training of `model` (committed, else its finished run, else trained now, resumably); null when
 * `stopAfter` stopped it.
 */
export async function pretrainUnit(config: GlueSweepConfig, model: GlueModel, data: MlmData, options: GlueUnitOptions = {}): Promise<PretrainUnit | null> {
  const committed = committedUnit<PretrainUnit>(config.preset, { kind: "pretrain", model }, pretrainHash(config, model, data), options);
  if (committed) return committed;
  const encoder = await pretrainedEncoder(config, model, data, null, options);
  if (!encoder) return null;
  const space = makeSpace(config.preset, data.vocabSize);
  return {
    kind: "pretrain",
    model: model.name,
    preset: config.preset,
    arch: model.arch,
    archId: archId(space, model.arch),
    params: paramCount(space, model.arch),
    flops: flops(space, model.arch),
    row: encoder.row,
    origin: encoder.origin,
    configHash: encoder.hash,
    codeDigest: codeDigest(),
    backend: encoder.row.backend,
    platform: encoder.row.platform,
    source: encoder.origin === "trained" ? "computed" : "cache",
  };
}

/**
 * The key of a fine-tuning unit, computable without training: the fine-tuning run's hash as from scratch
 * (settings, task data, arch, seed, head and encoder init) and the pre-training run's hash (which fixes the
 * weights the encoder then loads).
 */
export function glueUnitHash(config: GlueSweepConfig, spec: Exclude<GlueUnitSpec, { kind: "pretrain" }>, data: MlmData): string {
  const scratch = glueRunHash({ task: spec.task, arch: spec.model.arch, preset: config.preset, seed: spec.seed });
  return configHash({ finetune: scratch, pretrain: pretrainHash(config, spec.model, data), kind: spec.kind });
}

/** The run folder of a fine-tuning unit hashed `hash` (its checkpoint and result.json): <runRoot>/<preset>/<kind>/<label>-<hash>-<code digest>-<backend>. */
function glueUnitDir(config: GlueSweepConfig, spec: Exclude<GlueUnitSpec, { kind: "pretrain" }>, hash: string, options: GlueUnitOptions): string {
  return path.join(options.runRoot ?? runsPath("glue"), config.preset, spec.kind, `${unitLabel(spec)}-${hash}-${codeDigest()}-${backendName()}`);
}

/**
 * The folder of a fine-tuning unit's finished checkpoint, fine-tuning it (and pre-training its encoder) when its
 * run is missing: how a distillation teacher is loaded (compression.ts). The committed unit holds no weights,
 * so it is never used here.
 */
export async function fineTunedCheckpoint(config: GlueSweepConfig, spec: Exclude<GlueUnitSpec, { kind: "pretrain" }>, data: MlmData, options: GlueUnitOptions = {}): Promise<string> {
  const dir = glueUnitDir(config, spec, glueUnitHash(config, spec, data), options);
  const resultFile = path.join(dir, "result.json");
  const cached = readJsonIfExists<GlueUnit>(resultFile);
  // A result whose finished checkpoint is gone: train again (the same numbers) so that there are weights to load.
  if (cached && !isFinishedCheckpoint(dir, cached.runHash, cached.steps)) fs.rmSync(resultFile, { force: true });
  await glueUnit(config, spec, data, null, { ...options, useCommitted: false, stopAfter: undefined });
  return dir;
}

/**
 * One fine-tuning unit: the committed one (for this exact configuration), else the finished run's result
 * under <runRoot>/<preset>/<kind>/, else computed: the encoder's pre-training found or trained
 * (pretrainedEncoder), then fine-tuned through runGlue (both resumable). Null when `stopAfter` stopped it.
 */
export async function glueUnit(
  config: GlueSweepConfig,
  spec: Exclude<GlueUnitSpec, { kind: "pretrain" }>,
  data: MlmData,
  gt: GroundTruthTable | null,
  options: GlueUnitOptions = {},
): Promise<GlueUnit | null> {
  const hash = glueUnitHash(config, spec, data);
  const committed = committedUnit<GlueUnit>(config.preset, spec, hash, options);
  if (committed) return committed;
  const dir = glueUnitDir(config, spec, hash, options);
  const resultFile = path.join(dir, "result.json");
  const cached = readJsonIfExists<GlueUnit>(resultFile);
  if (cached) return { ...cached, source: "cache" };
  const encoder = await pretrainedEncoder(config, spec.model, data, spec.kind === "ground-truth" ? gt : null, options);
  if (!encoder) return null;
  const result = await runGlue({
    task: spec.task,
    arch: spec.model.arch,
    preset: config.preset,
    seed: spec.seed,
    from: encoder.dir,
    checkpointDir: dir,
    stopAfter: options.stopAfter,
    progress: options.progress ?? false,
    warn: options.warn,
  });
  if (!result.done) return null;
  const space = makeSpace(config.preset, data.vocabSize);
  const unit: GlueUnit = {
    kind: spec.kind,
    model: spec.model.name,
    task: spec.task,
    seed: spec.seed,
    preset: config.preset,
    arch: spec.model.arch,
    params: paramCount(space, spec.model.arch),
    ...fineTuningRecord(result, encoder, hash),
  };
  writeJsonAtomic(resultFile, unit, 1);
  return { ...unit, source: "computed" };
}

/**
 * What a fine-tuning unit records of its run (the GLUE sweep's and compression's units): the dev metrics and
 * predictions, the pre-training it started from, the run's cost and data, and its provenance; `hash` is the unit's.
 */
export function fineTuningRecord(result: GlueResult, encoder: { hash: string; row: GroundTruthRow; origin: PretrainOrigin }, hash: string) {
  return {
    archId: result.archId,
    metrics: result.metrics,
    score: glueTaskScore(result.metrics),
    predictions: result.predictions,
    pretrain: { configHash: encoder.hash, steps: encoder.row.steps, valLoss: encoder.row.valLoss, origin: encoder.origin },
    steps: result.steps,
    devLoss: result.devLoss,
    secondsPerStep: result.secondsPerStep,
    trainExamples: result.trainExamples,
    devExamples: result.devExamples,
    truncated: result.truncated,
    runHash: result.configHash,
    configHash: hash,
    codeDigest: codeDigest(),
    ...computedHere(),
  };
}

/** Any unit of the plan (glueSweepPlan), by kind. */
export function sweepUnit(config: GlueSweepConfig, spec: GlueUnitSpec, data: MlmData, gt: GroundTruthTable | null, options: GlueUnitOptions = {}) {
  return spec.kind === "pretrain" ? pretrainUnit(config, spec.model, data, options) : glueUnit(config, spec, data, gt, options);
}

/** Every unit of the sweep of `models` (glueSweepPlan) in plan order, loaded or computed (sweepUnit), split by kind: what notebook 05 shows. */
export async function glueSweep(config: GlueSweepConfig, models: GlueModel[], data: MlmData, gt: GroundTruthTable | null, options: GlueUnitOptions = {}) {
  const pretrain: PretrainUnit[] = [], units: GlueUnit[] = [];
  for (const spec of glueSweepPlan(config, models, gt)) {
    const unit = await sweepUnit(config, spec, data, gt, { ...options, stopAfter: undefined });
    if (unit!.kind === "pretrain") pretrain.push(unit as PretrainUnit);
    else units.push(unit as GlueUnit);
  }
  return { pretrain, units };
}

/** Writes a unit (pre-training or fine-tuning) as committed, with the commit and date it was computed at. */
export function commitGlueUnit(unit: PretrainUnit | GlueUnit): string {
  const model = { name: unit.model, arch: unit.arch };
  const spec: GlueUnitSpec = unit.kind === "pretrain" ? { kind: "pretrain", model } : { kind: unit.kind, model, task: unit.task, seed: unit.seed };
  const file = committedGlueFile(unit.preset, spec);
  const { source: _source, ...rest } = unit;
  writeJsonAtomic(file, { ...rest, codeVersion: codeVersion(), createdAt: new Date().toISOString() }, 1);
  return file;
}

/** What `verifyGlueUnit` found. */
export interface GlueCheck extends Agreement {
  model: string;
  task: GlueTask;
  seed: number;
  /** Agreement (fineTuningAgreement) over the pre-training and dev losses, the metrics and every dev prediction. */
  /** Wall-clock seconds of the recomputation (pre-training and fine-tuning from scratch). */
  seconds: number;
}

/**
 * Compares a recomputed fine-tuning unit with the committed one (`agreement`): the pre-training's validation
 * loss and the dev loss always; the dev predictions and metrics as numbers on a regression task, as discrete
 * ones (see DiscreteNumbers) on a classification task.
 */
export function fineTuningAgreement(committed: GlueUnit, fresh: GlueUnit): Agreement {
  const metrics = (u: GlueUnit) => Object.keys(u.metrics).sort().map((k) => u.metrics[k as keyof GlueUnit["metrics"]]!);
  const outputs = (u: GlueUnit) => [...metrics(u), ...u.predictions.map((p) => p.prediction)];
  const losses = (u: GlueUnit) => [u.pretrain.valLoss, u.devLoss];
  if (numLabels(committed.task) === 1) return agreement([...losses(committed), ...outputs(committed)], [...losses(fresh), ...outputs(fresh)], committed, fresh);
  return agreement(losses(committed), losses(fresh), committed, fresh, { committed: outputs(committed), recomputed: outputs(fresh), what: "dev predictions and metrics" });
}

/**
 * Recomputes a committed fine-tuning unit end to end (pre-training included, no ground-truth build reused) in
 * a fresh folder and compares the pre-training loss, the metrics and the dev predictions: how the main job
 * shows the committed GLUE results still hold.
 */
export async function verifyGlueUnit(config: GlueSweepConfig, committed: GlueUnit, data: MlmData, options: Pick<GlueUnitOptions, "warn"> = {}): Promise<GlueCheck> {
  const spec = { kind: committed.kind, model: { name: committed.model, arch: committed.arch }, task: committed.task, seed: committed.seed };
  const { value: fresh, seconds } = await inFreshRunFolder(`glue-${unitLabel(spec)}`, async (runRoot) =>
    (await glueUnit(config, spec, data, null, { runRoot, useCommitted: false, reuseGroundTruthBuild: false, warn: options.warn }))!,
  );
  const sameLength = fresh.predictions.length === committed.predictions.length;
  const check = fineTuningAgreement(committed, fresh);
  return { model: committed.model, task: committed.task, seed: committed.seed, ...check, ok: check.ok && sameLength, seconds };
}
