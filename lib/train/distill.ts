// Knowledge distillation through the one training loop (TrainRun.distill in loop.ts): a frozen teacher (a
// model and its arch, weights loaded from a checkpoint, never updated) distils into the run's model, on MLM
// batches (Supernet: the vocabulary logits at the masked rows) or GLUE batches (SequenceClassifier: the class
// logits). The objective is
//   (1 - lambda) * task + lambda * (T^2 * KL(teacher_T || student_T) + hiddenWeight * MSE(h_L W, teacher h_L))
// with W a learned [D_student, D_teacher] projection when the widths differ (a student-side variable, trained,
// checkpointed and resumed with the model's). The teacher's forward runs outside the gradient tape (the loop
// calls `teacherTargets` before `tf.variableGrads`), so no gradient can reach it even when it shares nothing.
import * as tf from "@tensorflow/tfjs";
import type { Arch, Distillable } from "../nas/types";
import { ParamFactory } from "../nas/ops";
import { UserError } from "../errors";
import { loadWeights } from "./loop";
import { weightsFingerprint } from "./parts";

/** The KD settings; every default is our choice (the paper does not give its KD settings). */
export interface DistillConfig {
  /** Weight of the KD terms against the task loss: (1 - lambda) * task + lambda * KD, in [0, 1] (not TrainConfig.lambda, MAGIC-A's). */
  lambda: number;
  /** Softmax temperature T of the logit KD (> 0); the KL is multiplied by T^2 so its gradients keep their scale. */
  temperature: number;
  /** Weight of the final-hidden-state MSE inside the KD term (>= 0; 0 = logit KD only, no projection). */
  hiddenWeight: number;
}

export const DEFAULT_DISTILL_CONFIG: DistillConfig = {
  lambda: 0.5, // an even mix of the task loss and the teacher (DistilBERT-style)
  temperature: 2, // DistilBERT's T; softens the teacher enough that its non-argmax classes carry signal
  hiddenWeight: 1, // post-LN hidden states have unit scale per token, so the MSE starts near the KL's size
};

/** Defaults overridden by `partial`, validated; one UserError naming the bad field. */
export function resolveDistillConfig(partial: Partial<DistillConfig> = {}): DistillConfig {
  const unknown = Object.keys(partial).filter((k) => !(k in DEFAULT_DISTILL_CONFIG));
  if (unknown.length) throw new UserError(`distill config: unknown field(s) ${unknown.join(", ")} (known: ${Object.keys(DEFAULT_DISTILL_CONFIG).join(", ")})`);
  const c: DistillConfig = { ...DEFAULT_DISTILL_CONFIG, ...partial };
  if (!(c.lambda >= 0 && c.lambda <= 1)) throw new UserError(`distill config: lambda must be in [0, 1], got ${c.lambda}`);
  if (!(c.temperature > 0 && Number.isFinite(c.temperature))) throw new UserError(`distill config: temperature must be > 0, got ${c.temperature}`);
  if (!(c.hiddenWeight >= 0 && Number.isFinite(c.hiddenWeight))) throw new UserError(`distill config: hiddenWeight must be >= 0, got ${c.hiddenWeight}`);
  return c;
}

/**
 * Logit KD: T^2 * the row-weighted mean of KL(softmax(teacher/T) || softmax(student/T)) over rows [N, C],
 * i.e. sum(w * KL) / max(sum(w), 1) as the MLM loss weighs its rows (`rowWeights` omitted: every row 1).
 * A single output (C = 1, a regression score) has no distribution: the weighted mean squared difference of
 * the scores instead, without temperature (our choice, as TinyBERT's prediction-layer loss for regression).
 */
export function logitKd(student: tf.Tensor2D, teacher: tf.Tensor2D, temperature: number, rowWeights?: tf.Tensor1D): tf.Scalar {
  if (!tf.util.arraysEqual(student.shape, teacher.shape)) {
    throw new Error(`logitKd: student logits [${student.shape}] and teacher logits [${teacher.shape}] differ`);
  }
  return tf.tidy(() => {
    const [n, c] = student.shape;
    const w = rowWeights ?? (tf.ones([n]) as tf.Tensor1D);
    let perRow: tf.Tensor1D; // [N]
    if (c === 1) perRow = tf.reshape(tf.squaredDifference(student, teacher), [n]) as tf.Tensor1D;
    else {
      const logP = tf.logSoftmax(tf.div(teacher, temperature)); // [N, C]
      const logQ = tf.logSoftmax(tf.div(student, temperature)); // [N, C]
      const kl = tf.sum(tf.mul(tf.exp(logP), tf.sub(logP, logQ)), 1) as tf.Tensor1D; // [N]
      perRow = tf.mul(kl, temperature * temperature) as tf.Tensor1D;
    }
    return tf.div(tf.sum(tf.mul(perRow, w)), tf.maximum(tf.sum(w), 1)) as tf.Scalar;
  });
}

/**
 * Hidden-state MSE: mean over real tokens (tokenMask [B, T], omitted: all) and the teacher's D_t features of
 * (student h [B, T, D_s] @ projection [D_s, D_t] - teacher h [B, T, D_t])^2; no projection when D_s = D_t.
 */
export function hiddenMse(student: tf.Tensor3D, teacher: tf.Tensor3D, projection: tf.Tensor2D | null, tokenMask?: tf.Tensor2D): tf.Scalar {
  const [b, t, ds] = student.shape;
  const dt = teacher.shape[2];
  const [pIn, pOut] = projection ? projection.shape : [ds, ds];
  if (teacher.shape[0] !== b || teacher.shape[1] !== t || pIn !== ds || pOut !== dt) {
    throw new Error(`hiddenMse: student [${student.shape}], teacher [${teacher.shape}] and projection [${projection?.shape ?? "none"}] do not fit`);
  }
  return tf.tidy(() => {
    const rows = tf.reshape(student, [b * t, ds]) as tf.Tensor2D; // [B*T, D_s]
    const projected = projection ? tf.matMul(rows, projection) : rows; // [B*T, D_t]
    const perToken = tf.sum(tf.squaredDifference(projected, tf.reshape(teacher, [b * t, dt])), 1); // [B*T]
    const mask = tokenMask ? tf.reshape(tokenMask, [b * t]) : tf.ones([b * t]); // [B*T]
    return tf.div(tf.sum(tf.mul(perToken, mask)), tf.mul(tf.maximum(tf.sum(mask), 1), dt)) as tf.Scalar;
  });
}

/** (1 - lambda) * task + lambda * (logit KD + hiddenWeight * hidden MSE). */
export function combineKd(task: tf.Scalar, logitTerm: tf.Scalar, hiddenTerm: tf.Scalar | null, c: DistillConfig): tf.Scalar {
  return tf.tidy(() => {
    const kd = hiddenTerm && c.hiddenWeight > 0 ? tf.add(logitTerm, tf.mul(hiddenTerm, c.hiddenWeight)) : logitTerm;
    return tf.add(tf.mul(task, 1 - c.lambda), tf.mul(kd, c.lambda)) as tf.Scalar;
  });
}

/** The frozen teacher of a distillation. */
export interface Teacher<B> {
  /** Teacher model (a standalone Supernet child for MLM, a SequenceClassifier for GLUE); shares no variable with the student. */
  model: Distillable<B>;
  /** Its architecture (the model's own for a standalone child). */
  arch: Arch;
  /** Run directory of the checkpoint its weights are loaded from (lib/train/loop.ts loadWeights). */
  checkpointDir: string;
}

export interface DistillerArgs<B> {
  /** The model the run trains (TrainRun.model must be this object). */
  student: Distillable<B>;
  teacher: Teacher<B>;
  /** Overrides of DEFAULT_DISTILL_CONFIG. */
  config?: Partial<DistillConfig>;
  /** Seed of the projection's init (truncated normal, std 0.02 as every weight of the model). Default 0. */
  seed?: number;
}

/** The teacher's outputs on one batch, computed outside the gradient tape; dispose after the step. */
export interface TeacherTargets {
  logits: tf.Tensor2D;
  hidden: tf.Tensor3D;
}

/** Prefix of the projection's variable name in checkpoints. */
const PROJECTION = "distill/proj";

/**
 * A teacher loaded and frozen, the KD settings and the student-side projection: what TrainRun.distill takes.
 * Construction checks the pairing (same logit width, teacher takes the student's sequence length, no shared
 * variables) and loads the teacher's checkpoint, before any training.
 */
export class Distiller<B> {
  readonly student: Distillable<B>;
  readonly config: DistillConfig;
  private readonly teacher: Distillable<B>;
  private readonly teacherArch: Arch;
  private readonly params: ParamFactory;
  /** [D_student, D_teacher], or null when the widths match or the hidden term is off. */
  private readonly projection: tf.Variable | null;
  private readonly teacherIdentity: unknown;

  constructor(args: DistillerArgs<B>) {
    const { student, teacher } = args;
    this.config = resolveDistillConfig(args.config);
    teacher.model.trainableVariables(teacher.arch); // throws unless the teacher model runs this arch
    if (teacher.model.logitWidth !== student.logitWidth) {
      throw new UserError(
        `distill: the teacher gives ${teacher.model.logitWidth} logits, the student ${student.logitWidth}; ` +
          "use a teacher of the same tokenizer (MLM) or of the same task (GLUE)",
      );
    }
    if (teacher.model.space.seqLen < student.space.seqLen) {
      throw new UserError(`distill: the teacher reads at most ${teacher.model.space.seqLen} positions, the student's batches ${student.space.seqLen}`);
    }
    const studentVars = new Set(student.namedVariables().values());
    if ([...teacher.model.namedVariables().values()].some((v) => studentVars.has(v))) {
      throw new UserError("distill: the teacher shares variables with the student; load the teacher into its own model (it is never updated)");
    }
    const loaded = loadWeights(teacher.checkpointDir, teacher.model);
    this.student = student;
    this.teacher = teacher.model;
    this.teacherArch = [...teacher.arch];
    this.teacherIdentity = {
      space: teacher.model.space,
      arch: this.teacherArch,
      checkpoint: loaded,
      weights: weightsFingerprint(teacher.model.namedVariables()),
    };
    this.params = new ParamFactory({ seed: args.seed ?? 0, std: 0.02, lnEps: 1e-5 });
    const ds = student.space.hidden, dt = teacher.model.space.hidden;
    this.projection = ds !== dt && this.config.hiddenWeight > 0 && this.config.lambda > 0 ? this.params.normal(PROJECTION, [ds, dt]) : null;
  }

  /** The student-side variables of the KD loss (the projection, if any), by checkpoint name. */
  namedVariables(): Map<string, tf.Variable> {
    return new Map(this.params.params);
  }

  /** What the run's numbers depend on besides the model: settings, teacher (space, arch, checkpoint, weights), projection shape. */
  identity(): unknown {
    return { config: this.config, teacher: this.teacherIdentity, projection: this.projection?.shape ?? null };
  }

  /** The teacher's logits and h_L on `batch`. Call outside `tf.variableGrads`: the teacher is then off the tape. */
  teacherTargets(batch: B): TeacherTargets {
    return tf.tidy(() => {
      const out = this.teacher.kdOutputs(this.teacherArch, batch);
      return { logits: out.logits, hidden: out.hidden };
    });
  }

  /** The objective of child `arch` on `batch` against the teacher's `targets` (see the file comment). */
  loss(arch: Arch, batch: B, targets: TeacherTargets): tf.Scalar {
    return tf.tidy(() => {
      const s = this.student.kdOutputs(arch, batch);
      const c = this.config;
      if (c.lambda === 0) return s.taskLoss;
      const logitTerm = logitKd(s.logits, targets.logits, c.temperature, s.rowWeights);
      const hiddenTerm = c.hiddenWeight > 0 ? hiddenMse(s.hidden, targets.hidden, this.projection as tf.Tensor2D | null, s.tokenMask) : null;
      return combineKd(s.taskLoss, logitTerm, hiddenTerm, c);
    });
  }

  /** Frees the projection (the teacher and student belong to the caller). */
  dispose(): void {
    for (const v of this.params.params.values()) v.dispose();
  }
}
