// Lazy Adam(W): a step updates only the variables that received a gradient (the current child's), and each
// variable keeps its own step count for bias correction, so an op trained every K-th step is not treated
// as if it had been trained every step (as PyTorch's SparseAdam does). Moments are keyed by the model's
// stable variable names, which makes the state serialisable for exact resume.
import * as tf from "@tensorflow/tfjs";

export interface AdamConfig {
  beta1: number;
  beta2: number;
  eps: number;
  /** Decoupled weight decay (AdamW), applied to every updated variable; 0 = plain Adam. */
  weightDecay: number;
}

/** One variable's update: its stable name, the variable, its (unclipped) gradient. */
export interface AdamUpdate {
  name: string;
  variable: tf.Variable;
  grad: tf.Tensor;
}

interface Slot {
  m: tf.Tensor;
  v: tf.Tensor;
  /** Number of updates this variable has received. */
  t: number;
}

/** Serialised state: per variable its step count and moments (row-major, the variable's shape). */
export interface AdamState {
  [name: string]: { t: number; shape: number[]; m: Float32Array; v: Float32Array };
}

export class LazyAdam {
  private slots = new Map<string, Slot>();

  constructor(readonly config: AdamConfig) {}

  /**
   * Applies one step with learning rate `lr`; every gradient is multiplied by `gradScale` first (global-norm
   * clipping). Does not dispose the gradients.
   */
  apply(updates: AdamUpdate[], lr: number, gradScale = 1): void {
    const { beta1, beta2, eps, weightDecay } = this.config;
    for (const { name, variable, grad } of updates) {
      let slot = this.slots.get(name);
      if (!slot) {
        slot = { m: tf.zerosLike(variable), v: tf.zerosLike(variable), t: 0 };
        this.slots.set(name, slot);
      }
      const t = slot.t + 1;
      const old = slot;
      const [m, v, p] = tf.tidy(() => {
        const g = gradScale === 1 ? grad : tf.mul(grad, gradScale);
        const m = tf.add(tf.mul(old.m, beta1), tf.mul(g, 1 - beta1));
        const v = tf.add(tf.mul(old.v, beta2), tf.mul(tf.square(g), 1 - beta2));
        const mHat = tf.div(m, 1 - beta1 ** t);
        const vHat = tf.div(v, 1 - beta2 ** t);
        let step = tf.div(mHat, tf.add(tf.sqrt(vHat), eps));
        if (weightDecay > 0) step = tf.add(step, tf.mul(variable, weightDecay));
        return [m, v, tf.sub(variable, tf.mul(step, lr))];
      });
      variable.assign(p);
      p.dispose();
      tf.dispose([old.m, old.v]);
      this.slots.set(name, { m, v, t });
    }
  }

  /** Number of updates variable `name` has received (0 if never). */
  steps(name: string): number {
    return this.slots.get(name)?.t ?? 0;
  }

  state(): AdamState {
    const out: AdamState = {};
    for (const [name, s] of this.slots) {
      out[name] = { t: s.t, shape: [...s.m.shape], m: Float32Array.from(s.m.dataSync()), v: Float32Array.from(s.v.dataSync()) };
    }
    return out;
  }

  restore(state: AdamState): void {
    this.dispose();
    for (const [name, s] of Object.entries(state)) {
      this.slots.set(name, { t: s.t, m: tf.tensor(s.m, s.shape, "float32"), v: tf.tensor(s.v, s.shape, "float32") });
    }
  }

  /** Frees the moment tensors. */
  dispose(): void {
    for (const s of this.slots.values()) tf.dispose([s.m, s.v]);
    this.slots.clear();
  }
}
