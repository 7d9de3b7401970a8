// Optimizer math on the host: each variable's update (and each gradient's squared norm) is one pass over its
// values, through the native addon on the "native" backend and a JS loop elsewhere, instead of ~15 tfjs
// kernels per variable (Adam) that cost ~15 us of engine overhead each: with ~60 variables per supernet
// step that was ~1,000 kernels, half of all the step's kernels.
import * as tf from "@tensorflow/tfjs";
import { MathBackendCPU } from "@tensorflow/tfjs-backend-cpu";
import { loadAddon, type NativeAddon } from "../native/addon";
import { f32 } from "../native/kernel-util";
import { NativeBackend } from "../native/native-backend";

/** Adam(W) hyper-parameters of one update; c1, c2 are the bias corrections 1 - beta^t. */
export interface AdamHyper {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  c1: number;
  c2: number;
  /** Multiplies the gradient first (global-norm clipping). */
  scale: number;
}

function addon(): NativeAddon | null {
  return tf.getBackend() === "native" ? loadAddon() : null;
}

/** The float32 values of `t`, read-only: the cpu/native backend's own array (no copy), a copy on other backends. */
export function valuesOf(t: tf.Tensor): Float32Array {
  if (t.dtype !== "float32") throw new Error(`expected a float32 tensor, got ${t.dtype}`);
  const backend = tf.backend();
  return (backend instanceof MathBackendCPU ? f32(backend, t) : null) ?? (t.dataSync() as Float32Array);
}

/** A Float32Array for a new tensor's values (from the native backend's buffer pool when there is one). */
function allocFloat32(n: number): Float32Array {
  const backend = tf.backend();
  return backend instanceof NativeBackend ? backend.alloc(n) : new Float32Array(n);
}

/** Sum of squares of every value of every tensor (double accumulation). */
export function sumOfSquares(tensors: tf.Tensor[]): number {
  const native = addon();
  let total = 0;
  for (const t of tensors) {
    const x = valuesOf(t);
    if (native) total += native.sumSquares(x);
    else for (let i = 0; i < x.length; i++) total += x[i] * x[i];
  }
  return total;
}

/**
 * One Adam(W) step on `variable` with gradient `grad`; the moments m, v (the variable's size) are updated in
 * place: g = scale * grad, m = b1 m + (1 - b1) g, v = b2 v + (1 - b2) g^2,
 * p -= lr * (m / c1 / (sqrt(v / c2) + eps) + weightDecay * p).
 */
export function adamStep(variable: tf.Variable, grad: tf.Tensor, m: Float32Array, v: Float32Array, h: AdamHyper): void {
  const p = valuesOf(variable);
  const g = valuesOf(grad);
  if (g.length !== p.length || m.length !== p.length || v.length !== p.length) {
    throw new Error(`adamStep: gradient [${grad.shape}] or moments do not match variable [${variable.shape}]`);
  }
  const out = allocFloat32(p.length); // a new buffer: tensors cloned from the variable share its old one
  const native = addon();
  if (native) {
    native.adam(p, g, m, v, out, h.lr, h.beta1, h.beta2, h.eps, h.weightDecay, h.c1, h.c2, h.scale);
  } else {
    const { lr, beta1, beta2, eps, weightDecay, c1, c2, scale } = h;
    for (let i = 0; i < p.length; i++) {
      const gi = g[i] * scale;
      const mi = (m[i] = beta1 * m[i] + (1 - beta1) * gi);
      const vi = (v[i] = beta2 * v[i] + (1 - beta2) * gi * gi);
      out[i] = p[i] - lr * (mi / c1 / (Math.sqrt(vi / c2) + eps) + weightDecay * p[i]);
    }
  }
  const next = tf.tensor(out, variable.shape, "float32");
  variable.assign(next);
  next.dispose();
}
