// Lazy Adam(W): a step updates only the variables that received a gradient (the current child's), and each
// variable keeps its own step count for bias correction, so an op trained every K-th step is not treated
// as if it had been trained every step (as PyTorch's SparseAdam does). Moments are keyed by the model's
// stable variable names, which makes the state serialisable for exact resume. The moments live on the host
// and each update is one pass (host-math.ts).
import * as tf from "@tensorflow/tfjs";
import { adamStep } from "./host-math";

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

/** One variable's moments (row-major, the variable's shape) and number of updates `t`. */
interface Slot {
  t: number;
  shape: number[];
  m: Float32Array;
  v: Float32Array;
}

/** Serialised state: each variable's slot. */
export interface AdamState {
  [name: string]: Slot;
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
        slot = { shape: [...variable.shape], m: new Float32Array(variable.size), v: new Float32Array(variable.size), t: 0 };
        this.slots.set(name, slot);
      }
      slot.t += 1;
      const c1 = 1 - beta1 ** slot.t;
      const c2 = 1 - beta2 ** slot.t;
      adamStep(variable, grad, slot.m, slot.v, { lr, beta1, beta2, eps, weightDecay, c1, c2, scale: gradScale });
    }
  }

  /** Number of updates variable `name` has received (0 if never). */
  steps(name: string): number {
    return this.slots.get(name)?.t ?? 0;
  }

  state(): AdamState {
    const out: AdamState = {};
    for (const [name, s] of this.slots) out[name] = { t: s.t, shape: [...s.shape], m: s.m.slice(), v: s.v.slice() };
    return out;
  }

  restore(state: AdamState): void {
    this.dispose();
    for (const [name, s] of Object.entries(state)) {
      this.slots.set(name, { t: s.t, shape: [...s.shape], m: Float32Array.from(s.m), v: Float32Array.from(s.v) });
    }
  }

  /** Drops the moments. */
  dispose(): void {
    this.slots.clear();
  }
}
