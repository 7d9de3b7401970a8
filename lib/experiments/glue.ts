// Fine-tuning one child on one GLUE task through the one training loop (lib/train/loop.ts), from pre-trained
// weights (a checkpoint of an MLM run of the preset's space, its position table extended when the GLUE
// inputs are longer: GlueSettings.positionTable) or from scratch, then GLUE's metrics on the whole dev
// split. The run is checkpointed under its config hash (which covers the initial weights, the task's data
// files and every setting), so a rerun resumes, and a finished one is scored again without retraining.
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import type { Preset } from "../preset";
import { DATA_PRESETS } from "../data";
import { loadOrTrainTokenizer } from "../data/tokenizer";
import { GLUE_SPECS, isPairTask, loadGlueTask, numLabels, type GlueTask } from "../data/glue";
import { disposeGlueBatches, encodeExamples, evalBatchIndices, padBatch, toGlueBatch, trainBatchIndices, type GlueBatch } from "../data/glue-batches";
import { archId, makeSpace } from "../nas/space";
import { Supernet } from "../nas/supernet";
import { SequenceClassifier } from "../nas/classifier";
import type { Arch, SearchSpace } from "../nas/types";
import { glueMetrics, type GlueMetric } from "../metrics";
import { seedFrom } from "../rng";
import { loadWeights, runConfigHash, train, type TrainRun, type WeightAdapter } from "../train/loop";
import { CheckpointError, type CheckpointTensor } from "../train/checkpoint";
import type { TrainConfig } from "../train/config";
import { Distiller, type DistillConfig } from "../train/distill";

/**
 * How a pre-trained position table shorter than the GLUE encoder's (MLM pre-training at the space's T, GLUE
 * inputs up to maxLen) is loaded. `repeat`: our choice, as Longformer extends RoBERTa's 512 positions: the
 * learned rows are copied into the first rows and repeated to fill the rest (row i = learned row i mod T).
 * Only the position table is adapted; a checkpoint of another hidden size or op set is still an error.
 */
export type PositionTablePolicy = "repeat";

/** Fine-tuning settings of a preset (our choices unless noted; the same for every task). */
export interface GlueSettings {
  /** Examples per training step. */
  batchSize: number;
  /** Longest input in tokens, [CLS]/[SEP] included; also the encoder's position table (its space's T). */
  maxLen: number;
  /** Passes over the train split; steps = ceil(epochs * train examples / batchSize), capped at maxSteps. */
  epochs: number;
  maxSteps: number;
  /** Optimizer settings passed to the training loop (the rest are DEFAULT_TRAIN_CONFIG's). */
  train: Partial<TrainConfig>;
  /** Dev examples per evaluation batch. */
  evalBatchSize: number;
  /** Loading a shorter pre-trained position table (see PositionTablePolicy). */
  positionTable: PositionTablePolicy;
}

/**
 * BERT fine-tunes with Adam (beta2 0.999), warmup 10 %, linear decay, weight decay 0.01, 3 epochs, lr 2e-5..5e-5.
 * Here the decay applies to every weight, biases and LayerNorm included (LazyAdam has no exclusion list; BERT
 * excludes them). No dropout (the project's models have none).
 */
const FINETUNE_OPTIMIZER: Partial<TrainConfig> = { warmup: 0.1, decay: "linear", beta2: 0.999, weightDecay: 0.01, clipNorm: 1, evalEvery: 0 };

export const GLUE_PRESETS: Record<Preset, GlueSettings> = {
  // CI: a few steps, to check the chain end to end.
  tiny: { batchSize: 8, maxLen: 32, epochs: 1, maxSteps: 30, evalBatchSize: 64, positionTable: "repeat", train: { ...FINETUNE_OPTIMIZER, lr: 1e-3, checkpointEvery: 10 } },
  // Small models (D = 64) fine-tune best with a larger lr than BERT-base's (our choice).
  small: { batchSize: 32, maxLen: 64, epochs: 3, maxSteps: 2000, evalBatchSize: 128, positionTable: "repeat", train: { ...FINETUNE_OPTIMIZER, lr: 3e-4, checkpointEvery: 250 } },
  paper: { batchSize: 32, maxLen: 128, epochs: 3, maxSteps: 100_000, evalBatchSize: 128, positionTable: "repeat", train: { ...FINETUNE_OPTIMIZER, lr: 2e-5, checkpointEvery: 1000 } },
};

/** The preset's search space with T = the GLUE preset's maxLen (the position table the encoder needs). */
export function glueSpace(preset: Preset, vocabSize: number): SearchSpace {
  const space = makeSpace(preset, vocabSize);
  const { maxLen } = GLUE_PRESETS[preset];
  return maxLen === space.seqLen ? space : { ...space, seqLen: maxLen, id: `${space.id}-glueT${maxLen}` };
}

/** Position table `t` ([T, D]) extended to `rows` >= T rows by the `repeat` policy: row i is row i mod T of `t`. */
export function repeatPositions(t: CheckpointTensor, rows: number): CheckpointTensor {
  const [from, d] = t.shape;
  if (t.shape.length !== 2 || rows < from) throw new Error(`repeatPositions: cannot extend a [${t.shape}] table to ${rows} rows`);
  const data = new Float32Array(rows * d);
  for (let r = 0; r < rows; r++) data.set(t.data.subarray((r % from) * d, ((r % from) + 1) * d), r * d);
  return { name: t.name, shape: [rows, d], data };
}

/** The loader's adapter of `policy`: a shorter position table of the same width is extended; everything else is left to the strict check. */
export function positionTableAdapter(policy: PositionTablePolicy): WeightAdapter {
  return (name, t, shape) => {
    const shorter = name === "emb/pos" && t.shape.length === 2 && shape.length === 2 && t.shape[1] === shape[1] && t.shape[0] < shape[0];
    if (!shorter) return t;
    if (policy === "repeat") return repeatPositions(t, shape[0]);
    throw new Error(`unknown position-table policy '${policy as string}'`);
  };
}

export interface GlueRunArgs {
  task: GlueTask;
  arch: Arch;
  preset: Preset;
  /** Seed of the head's init, the data order and (from scratch) the encoder's init. */
  seed: number;
  /** Directory of a checkpoint whose weights the encoder starts from (an MLM run of the same space); else from scratch. */
  from?: string;
  /**
   * Knowledge distillation (compression.ts): the frozen teacher, a child of the same space fine-tuned on the
   * same task, whose checkpoint folder is `checkpointDir`; `config` overrides DEFAULT_DISTILL_CONFIG.
   */
  teacher?: { arch: Arch; checkpointDir: string; config?: Partial<DistillConfig> };
  /** Steps instead of the preset's epochs (a short run). */
  steps?: number;
  /** Where the run's checkpoint goes (resume), or a function of the run's config hash giving it; omitted: none. */
  checkpointDir?: string | ((configHash: string) => string);
  /** Folder of the GLUE copies (default data/glue; tests pass a fixture). */
  dataDir?: string;
  /** Stop (resumably) after this many steps. */
  stopAfter?: number;
  progress?: string | false;
  /** Warnings (malformed rows, truncation); default console.warn. */
  warn?: (line: string) => void;
}

export interface GluePrediction {
  /** Position in the dev split. */
  index: number;
  label: number;
  /** Class id, or the score for STS-B. */
  prediction: number;
}

export interface GlueResult {
  task: GlueTask;
  metrics: Partial<Record<GlueMetric, number>>;
  predictions: GluePrediction[];
  arch: Arch;
  archId: string;
  preset: Preset;
  seed: number;
  /** The checkpoint the encoder started from, or null: trained from scratch. */
  from: { dir: string; step: number; configHash: string } | null;
  /** The run's checkpoint folder, or null when it kept none. */
  checkpointDir: string | null;
  steps: number;
  done: boolean;
  configHash: string;
  trainExamples: number;
  devExamples: number;
  /** Examples cut to maxLen tokens (train, dev). */
  truncated: { train: number; dev: number };
  devLoss: number;
  secondsPerStep: number;
  /** Wall-clock seconds of this call (data, training, scoring). */
  seconds: number;
}

/** SHA-256 (16 hex) of the task's files: a change in the data changes the run's hash. */
function filesDigest(files: string[]): string {
  const h = createHash("sha256");
  for (const f of files) h.update(fs.readFileSync(f));
  return h.digest("hex").slice(0, 16);
}

/** Everything a fine-tuning run needs before training, every input checked (throws before any training). */
export function prepareGlueRun(args: GlueRunArgs) {
  const { task, arch, preset, seed } = args;
  if (!(task in GLUE_SPECS)) throw new Error(`unknown GLUE task '${task}'`);
  const settings = GLUE_PRESETS[preset];
  const splits = loadGlueTask(task, { dir: args.dataDir, warn: args.warn });
  const { tokenizer, file: tokenizerFile } = loadOrTrainTokenizer(DATA_PRESETS[preset].tokenizer);
  const space = glueSpace(preset, tokenizer.vocabSize);
  const train = encodeExamples(tokenizer, splits.train, settings.maxLen);
  const dev = encodeExamples(tokenizer, splits.dev, settings.maxLen);
  const encoder = new Supernet({ space, seed, only: arch });
  let from: GlueResult["from"] = null;
  if (args.from) {
    try {
      from = { dir: path.resolve(args.from), ...loadWeights(path.resolve(args.from), encoder, { adapt: positionTableAdapter(settings.positionTable) }) };
    } catch (e) {
      encoder.dispose();
      if (!(e instanceof CheckpointError)) throw e;
      throw new CheckpointError(`${e.message} (the ${preset} GLUE encoder is space ${space.id}: pre-train a child of the ${preset} space, ` +
        `hidden size ${space.hidden}; a shorter position table is extended (positionTable: ${settings.positionTable}), nothing else)`);
    }
  }
  const model = new SequenceClassifier({ encoder, numLabels: numLabels(task), seed: seedFrom(seed, 0x7a5c) });
  let distill: ReturnType<typeof glueDistiller> | undefined;
  try {
    distill = args.teacher && glueDistiller(args.teacher, model, space, task, seed);
  } catch (e) {
    model.dispose();
    throw e;
  }
  /** Frees the models (student, teacher) and the KD projection. */
  const release = () => {
    distill?.distiller.dispose();
    distill?.teacherModel.dispose();
    model.dispose();
  };
  const steps = args.steps ?? Math.min(settings.maxSteps, Math.ceil((settings.epochs * train.encoded.length) / settings.batchSize));
  const regression = model.regression;
  const devBatches = evalBatchIndices(dev.encoded.length, settings.evalBatchSize).map((ix) => toGlueBatch(padBatch(dev.encoded, ix, settings.maxLen), regression));
  const run: TrainRun<GlueBatch> = {
    model,
    arch,
    data: {
      trainBatch: (s) => toGlueBatch(padBatch(train.encoded, trainBatchIndices(train.encoded.length, settings.batchSize, seed, s), settings.maxLen), regression),
      validation: devBatches,
    },
    config: { ...settings.train, steps, seed },
    distill: distill?.distiller,
    hashExtra: {
      kind: "glue",
      task,
      preset,
      pair: isPairTask(task),
      settings: { ...settings, train: undefined },
      tokenizer: path.basename(tokenizerFile),
      data: filesDigest(splits.files),
      from: from && { step: from.step, configHash: from.configHash },
    },
  };
  return { run, model, space, splits, dev, train, from, devBatches, steps, settings, release };
}

/** The fine-tuned teacher of `task` loaded (frozen) and its Distiller into `student`; the caller disposes both. */
function glueDistiller(teacher: NonNullable<GlueRunArgs["teacher"]>, student: SequenceClassifier, space: SearchSpace, task: GlueTask, seed: number) {
  const teacherModel = new SequenceClassifier({ encoder: new Supernet({ space, seed, only: teacher.arch }), numLabels: numLabels(task), seed });
  try {
    const distiller = new Distiller({ student, teacher: { model: teacherModel, arch: teacher.arch, checkpointDir: teacher.checkpointDir }, config: teacher.config, seed });
    return { distiller, teacherModel };
  } catch (e) {
    teacherModel.dispose();
    throw e;
  }
}

/** The config hash of the run `args` describes (what keys its checkpoint), without training; frees what it built. */
export function glueRunHash(args: GlueRunArgs): string {
  const p = prepareGlueRun({ ...args, warn: args.warn ?? (() => undefined) });
  try {
    return runConfigHash(p.run);
  } finally {
    disposeGlueBatches(p.devBatches);
    p.release();
  }
}

/** Fine-tunes (or resumes) and scores the whole dev split with GLUE's metrics of the task. */
export async function runGlue(args: GlueRunArgs): Promise<GlueResult> {
  const t0 = Date.now();
  const warn = args.warn ?? console.warn;
  const p = prepareGlueRun({ ...args, warn });
  const { run, model, splits, dev, train: trainSet, devBatches } = p;
  for (const [name, set] of [["train", trainSet], ["dev", dev]] as const) {
    if (set.truncated > 0) warn(`note: ${args.task} ${name}: ${set.truncated} of ${set.encoded.length} examples cut to ${p.settings.maxLen} tokens`);
  }
  try {
    const checkpointDir = typeof args.checkpointDir === "function" ? args.checkpointDir(runConfigHash(run)) : args.checkpointDir;
    const result = await train({ ...run, checkpointDir, stopAfter: args.stopAfter, progress: args.progress ?? false });
    const predictions = model.predict(args.arch, devBatches);
    const labels = dev.encoded.map((e) => e.label);
    const lastVal = [...result.history].reverse().find((e) => e.valLoss !== undefined);
    return {
      task: args.task,
      metrics: glueMetrics(GLUE_SPECS[args.task].metrics, labels, predictions),
      predictions: predictions.map((prediction, index) => ({ index, label: labels[index], prediction })),
      arch: args.arch,
      archId: archId(p.space, args.arch),
      preset: args.preset,
      seed: args.seed,
      from: p.from,
      checkpointDir: checkpointDir ?? null,
      steps: result.step,
      done: result.done,
      configHash: result.configHash,
      trainExamples: splits.train.length,
      devExamples: splits.dev.length,
      truncated: { train: trainSet.truncated, dev: dev.truncated },
      devLoss: lastVal?.valLoss ?? model.evaluate(args.arch, devBatches).loss,
      secondsPerStep: result.secondsPerStep,
      seconds: (Date.now() - t0) / 1000,
    };
  } finally {
    disposeGlueBatches(devBatches);
    p.release();
  }
}
