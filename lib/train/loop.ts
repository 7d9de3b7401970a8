// The one training loop: supernet training with any sampler (optionally MAGIC-A alignment to an anchor
// child), standalone training of one child from scratch, and fine-tuning (a fixed arch on inherited weights,
// on MLM batches or, with a task head, on GLUE batches: the loop is generic in the batch type).
// Everything the numbers depend on is checkpointed, so a rerun resumes and ends exactly as an uninterrupted
// run would; a checkpoint of another configuration, or a corrupt one, is an error, never a silent restart.
import * as fs from "node:fs";
import * as tf from "@tensorflow/tfjs";
import type { Arch, MlmBatch, MlmModel, Sampler, TrainableModel } from "../nas/types";
import { Rng, seedFrom } from "../rng";
import { randomChild } from "../nas/arch-space";
import { flatGradCosine } from "../metrics";
import { progress as startProgress, type Progress } from "../progress";
import { LazyAdam } from "./adam";
import { sumOfSquares } from "./host-math";
import { resolveTrainConfig, lrAt, UNHASHED_FIELDS, type TrainConfig } from "./config";
import { checkpointPath, configHash, readCheckpoint, writeCheckpoint, CheckpointError, type CheckpointTensor } from "./checkpoint";
import { runHash, weightsFingerprint, interferenceGrads } from "./parts";
import type { Distiller } from "./distill";

/**
 * Training data on batches of type B (an object of tensors, disposed by the loop after the step): batch k of
 * the training order (a pure function of k) and fixed validation batches.
 */
export interface TrainData<B extends object = MlmBatch> {
  trainBatch(step: number): B;
  validation: B[];
  /**
   * MAGIC-A only: the batches the anchor is chosen on, disjoint from `validation`, so the anchor is not
   * selected on the batches that then score the children.
   */
  anchorSelection?: B[];
}

/** MAGIC-A: the anchor policy (lib/nas/align.ts AnchorPolicy fits) and the loss to minimise, for models M. */
export interface Alignment<B extends object = MlmBatch, M = MlmModel> {
  policy: { anchor(step: number, model: M, validationBatches: B[]): Arch; state(): unknown; restore(state: unknown): void };
  /** MLM loss of `arch` + lambda * alignment to `anchorArch` (e.g. align.ts alignedLoss). */
  loss(model: M, arch: Arch, anchorArch: Arch, batch: B, lambda: number): tf.Scalar;
}

export interface TrainRun<B extends object = MlmBatch> {
  model: TrainableModel<B>;
  data: TrainData<B>;
  config?: Partial<TrainConfig>;
  /** Supernet training: where children come from. Exactly one of `sampler` and `arch`. */
  sampler?: Sampler;
  /** Standalone training / fine-tuning of this child. */
  arch?: Arch;
  align?: Alignment<B, TrainableModel<B>>;
  /**
   * Knowledge distillation from a frozen teacher (lib/train/distill.ts; its `student` must be `model`): the
   * objective becomes the KD loss, its projection is trained and checkpointed with the model's variables,
   * and its settings and teacher are part of the config hash. Validation stays the task loss. Not with `align`.
   */
  distill?: Distiller<B>;
  /** Directory of the checkpoint; omitted: no checkpoints, no resume. */
  checkpointDir?: string;
  /** Anything else the numbers depend on (data settings, ...), folded into the config hash. */
  hashExtra?: unknown;
  /** Stop after this many completed steps (checkpointed, resumable); not part of the hash. */
  stopAfter?: number;
  /** Progress bar label; false = no bar (default: a bar labelled "train"). */
  progress?: string | false;
  /** Called after every step with its history entry. */
  onStep?: (entry: HistoryEntry) => void;
}

export interface HistoryEntry {
  /** Completed steps after this one (1-based). */
  step: number;
  arch: Arch;
  anchor?: Arch;
  /** Training objective (MLM, + lambda * alignment with MAGIC-A; the KD loss with `distill`). */
  loss: number;
  lr: number;
  /** Global gradient norm before clipping. */
  gradNorm: number;
  valLoss?: number;
  valAccuracy?: number;
  /** Cosine of current vs previous child's gradients on their shared ops; null when they share none. */
  interference?: number | null;
}

export interface TrainResult {
  history: HistoryEntry[];
  /** Completed steps. */
  step: number;
  done: boolean;
  configHash: string;
  /** Step the run resumed from (0 = fresh start). */
  resumedFrom: number;
  /** Children the supernet validation loss averages over ([arch] for fixed-arch runs). */
  probes: Arch[];
  /** Wall-clock seconds per step in this process. */
  secondsPerStep: number;
}

export class TrainingDivergedError extends Error {
  override name = "TrainingDivergedError";
}

interface Meta {
  config: TrainConfig;
  sampler: unknown;
  anchor: unknown;
  adamSteps: Record<string, number>;
  prevArch: Arch | null;
  probes: Arch[];
  history: HistoryEntry[];
}

/**
 * Reshapes a checkpoint tensor for the variable `name` of shape `shape` before it is loaded (e.g. a position
 * table extended to a longer sequence); returns the tensor unchanged when it has no rule for it, so any other
 * difference stays an error.
 */
export type WeightAdapter = (name: string, tensor: CheckpointTensor, shape: number[]) => CheckpointTensor;

/** Sets every variable of `named` from the checkpoint tensors `var/<name>` (through `adapt`); extra tensors are ignored. */
function assignWeights(file: string, byName: Map<string, CheckpointTensor>, named: Map<string, tf.Variable>, adapt?: WeightAdapter): void {
  for (const [name, v] of named) {
    const stored = byName.get(`var/${name}`);
    const t = stored && adapt ? adapt(name, stored, [...v.shape]) : stored;
    if (!t) {
      throw new CheckpointError(
        `checkpoint ${file} has no variable ${name}: written by another model or space (a standalone child holds only its own ops)`,
      );
    }
    if (!tf.util.arraysEqual(t.shape, v.shape)) {
      throw new CheckpointError(`checkpoint ${file}: variable ${name} has shape [${t.shape}], the model [${v.shape}]`);
    }
    tf.tidy(() => v.assign(tf.tensor(t.data, t.shape, "float32")));
  }
}

/**
 * Loads the weights of the checkpoint in `dir` into `model` by variable name (e.g. a standalone child from a
 * supernet checkpoint: the child's variables are a subset), each through `options.adapt` when given. Returns
 * the checkpoint's step and config hash.
 */
export function loadWeights(
  dir: string,
  model: { namedVariables(): Map<string, tf.Variable> },
  options: { adapt?: WeightAdapter } = {},
): { step: number; configHash: string } {
  const file = checkpointPath(dir);
  if (!fs.existsSync(file)) throw new CheckpointError(`no checkpoint at ${file}`);
  const ck = readCheckpoint(file);
  assignWeights(file, new Map(ck.tensors.map((t) => [t.name, t])), model.namedVariables(), options.adapt);
  return { step: ck.step, configHash: ck.configHash };
}

/** The resolved config, fixed arch, probe children and config hash of a run (before any training). */
function prepare<B extends object>(run: TrainRun<B>) {
  const { model, sampler, align, distill } = run;
  const c = resolveTrainConfig(run.config);
  if ((sampler === undefined) === (run.arch === undefined)) throw new Error("train: pass exactly one of `sampler` and `arch`");
  if (distill && distill.student !== model) throw new Error("train: `distill` was built for another student than the run's `model`");
  if (distill && align) throw new Error("train: pass at most one of `align` (MAGIC-A) and `distill`");
  const fixed = run.arch ? [...run.arch] : null;
  const named = distill ? new Map([...model.namedVariables(), ...distill.namedVariables()]) : model.namedVariables();
  const probeRng = new Rng(seedFrom(c.seed, 0x9b0e));
  const probes = fixed ? [fixed] : Array.from({ length: c.probeChildren }, () => randomChild(model.archSpace, probeRng));
  const hashed = Object.fromEntries(Object.entries(c).filter(([k]) => !UNHASHED_FIELDS.includes(k as keyof TrainConfig)));
  const hash = configHash({
    config: hashed,
    run: runHash(model, sampler, fixed, align?.policy),
    weights: weightsFingerprint(named),
    extra: run.hashExtra ?? null,
    ...(distill ? { distill: distill.identity() } : {}), // absent without KD: earlier runs keep their hashes
  });
  return { c, fixed, named, probes, hash };
}

/** The hash that keys a run's checkpoint: config, space, sampler/arch, anchor, initial weights, `hashExtra`. */
export function runConfigHash<B extends object>(run: TrainRun<B>): string {
  return prepare(run).hash;
}

/** The tensors of a batch (its fields), which the loop disposes after the step. */
function batchTensors(batch: object): tf.Tensor[] {
  return Object.values(batch).filter((v): v is tf.Tensor => v instanceof tf.Tensor);
}

/** Runs (or resumes) training; see TrainRun. Disposes every batch it takes from `data.trainBatch`. */
export async function train<B extends object>(run: TrainRun<B>): Promise<TrainResult> {
  const { model, data, sampler, align, distill } = run;
  if (align && !data.anchorSelection?.length) {
    throw new Error("train: MAGIC-A needs data.anchorSelection, validation batches disjoint from data.validation (which scores children)");
  }
  const { c, fixed, named, probes, hash } = prepare(run);
  const nameOf = new Map<string, string>([...named].map(([n, v]) => [v.name, n])); // tf name -> stable name

  const adam = new LazyAdam(c);
  let history: HistoryEntry[] = [];
  let prevArch: Arch | null = null;
  let start = 0;
  const file = run.checkpointDir ? checkpointPath(run.checkpointDir) : null;
  if (file && fs.existsSync(file)) {
    const ck = readCheckpoint(file);
    if (ck.configHash !== hash) {
      throw new CheckpointError(
        `checkpoint ${file} belongs to another configuration (hash ${ck.configHash}, this run ${hash}); ` +
          "use another output directory or delete it",
      );
    }
    const meta = ck.meta as Meta;
    const byName = new Map(ck.tensors.map((t) => [t.name, t]));
    assignWeights(file, byName, named);
    const moments = Object.entries(meta.adamSteps).map(([name, t]) => {
      const m = byName.get(`adam.m/${name}`), v = byName.get(`adam.v/${name}`);
      if (!m || !v) throw new CheckpointError(`checkpoint ${file}: Adam moments of ${name} missing`);
      return [name, { t, shape: m.shape, m: m.data, v: v.data }] as const;
    });
    adam.restore(Object.fromEntries(moments));
    sampler?.restore(meta.sampler);
    if (align) align.policy.restore(meta.anchor);
    history = meta.history;
    prevArch = meta.prevArch;
    start = ck.step;
  }

  const save = (step: number) => {
    if (!file) return;
    const state = adam.state();
    const tensors: CheckpointTensor[] = [];
    for (const [name, v] of named) tensors.push({ name: `var/${name}`, shape: [...v.shape], data: v.dataSync() as Float32Array });
    for (const [name, s] of Object.entries(state)) {
      tensors.push({ name: `adam.m/${name}`, shape: s.shape, data: s.m }, { name: `adam.v/${name}`, shape: s.shape, data: s.v });
    }
    const meta: Meta = {
      config: c,
      sampler: sampler?.state() ?? null,
      anchor: align?.policy.state() ?? null,
      adamSteps: Object.fromEntries(Object.entries(state).map(([n, s]) => [n, s.t])),
      prevArch,
      probes,
      history,
    };
    writeCheckpoint(file, { configHash: hash, step, meta, tensors });
  };
  const lastSaved = () => (file && fs.existsSync(file) ? `the last good checkpoint (${file}) is kept` : "no checkpoint was written");

  const end = Math.min(c.steps, run.stopAfter ?? c.steps);
  const bar: Progress | null =
    run.progress === false || start >= end ? null : startProgress({ total: end - start, label: run.progress ?? "train" });
  const t0 = Date.now();
  try {
    for (let s = start; s < end; s++) {
      const arch = fixed ? [...fixed] : sampler!.next();
      const anchorArch = align ? align.policy.anchor(s, model, data.anchorSelection!) : undefined;
      const batch = data.trainBatch(s);
      const lr = lrAt(c, s);
      const vars = distill ? [...model.trainableVariables(arch), ...distill.namedVariables().values()] : model.trainableVariables(arch);
      const targets = distill?.teacherTargets(batch); // the teacher's forward, before (outside) the gradient tape
      const { value, grads } = tf.variableGrads(
        () =>
          align ? align.loss(model, arch, anchorArch!, batch, c.lambda) : distill ? distill.loss(arch, batch, targets!) : model.loss(arch, batch),
        vars,
      );
      if (targets) tf.dispose([targets.logits, targets.hidden]);
      const gradNames = Object.keys(grads);
      const loss = value.dataSync()[0];
      const gradNorm = Math.sqrt(sumOfSquares(gradNames.map((k) => grads[k])));
      value.dispose();
      if (!Number.isFinite(loss) || !Number.isFinite(gradNorm)) {
        tf.dispose([grads, ...batchTensors(batch)]);
        throw new TrainingDivergedError(
          `non-finite ${Number.isFinite(loss) ? "gradient norm" : "loss"} at step ${s + 1} (arch [${arch}]); ` +
            `stopped, ${lastSaved()}. Lower the learning rate or check the data.`,
        );
      }
      const entry: HistoryEntry = { step: s + 1, arch, loss, lr, gradNorm };
      if (anchorArch) entry.anchor = anchorArch;
      if (c.monitorEvery > 0 && (s + 1) % c.monitorEvery === 0 && prevArch && !fixed) {
        const pair = interferenceGrads(model, arch, prevArch, batch, align || distill ? null : grads);
        entry.interference = pair ? flatGradCosine(pair.current, pair.previous) : null;
        if (entry.interference !== null && !Number.isFinite(entry.interference)) entry.interference = null;
        pair?.dispose();
      }
      const scale = c.clipNorm > 0 && gradNorm > c.clipNorm ? c.clipNorm / gradNorm : 1;
      adam.apply(gradNames.map((k) => ({ name: nameOf.get(k)!, variable: named.get(nameOf.get(k)!)!, grad: grads[k] })), lr, scale);
      tf.dispose([grads, ...batchTensors(batch)]);
      prevArch = arch;

      const done = s + 1;
      if ((c.evalEvery > 0 && done % c.evalEvery === 0) || done === c.steps) {
        const evals = probes.map((p) => model.evaluate(p, data.validation));
        entry.valLoss = evals.reduce((a, e) => a + e.loss, 0) / evals.length;
        if (evals.every((e) => e.accuracy !== undefined)) entry.valAccuracy = evals.reduce((a, e) => a + e.accuracy!, 0) / evals.length;
      }
      history.push(entry);
      run.onStep?.(entry);
      if ((c.checkpointEvery > 0 && done % c.checkpointEvery === 0) || done === end) save(done);
      bar?.update(done - start, { loss: entry.loss, lr: entry.lr, ...(entry.valLoss !== undefined ? { val: entry.valLoss } : {}) });
      await new Promise((r) => setImmediate(r)); // lets a notebook flush its progress display
    }
  } finally {
    bar?.stop();
    adam.dispose();
  }
  return {
    history,
    step: Math.max(start, end),
    done: end >= c.steps,
    configHash: hash,
    resumedFrom: start,
    probes,
    secondsPerStep: end > start ? (Date.now() - t0) / 1000 / (end - start) : 0,
  };
}
