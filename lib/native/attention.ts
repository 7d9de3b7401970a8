// Multi-head attention core (with an optional key padding mask) fused into one native call forward and one backward, on the [B*T, D]
// layout of the q, k, v projections (head h owns columns h*dh..(h+1)*dh-1). The tfjs-op formulation needs
// reshape/transpose pairs around two batched matMuls and a softmax: ~10 kernels forward and ~20 backward,
// each costing engine overhead, the transposes also a copy. The kernels exist for the "native" backend
// only; callers check attentionAvailable() and otherwise run their tfjs ops. Importing this file never
// loads the addon.
import * as tf from "@tensorflow/tfjs";
import type { NativeAddon } from "./addon";
import { CpuBackend, NamedInfos, float32Operands, kernelsRegistered, output } from "./kernel-util";

export const ATTENTION_KERNEL = "MagicAttention";
export const ATTENTION_GRAD_KERNEL = "MagicAttentionGrad";

interface Dims {
  rows: number; // B*T
  dim: number; // D
  seq: number; // T
}

/** The dims of [B*T, D] operands split into `batch` sequences and `heads` heads, or an Error saying why not. */
function dims(shape: number[], batch: number, heads: number): Dims {
  if (shape.length !== 2) throw new Error(`attention: q, k, v must be [B*T, D], got shape [${shape}]`);
  const [rows, dim] = shape;
  if (!Number.isInteger(batch) || batch < 1 || !Number.isInteger(heads) || heads < 1) {
    throw new Error(`attention: batch (${batch}) and heads (${heads}) must be positive integers`);
  }
  if (rows === 0 || rows % batch !== 0) throw new Error(`attention: ${rows} rows do not split into ${batch} sequences`);
  if (dim === 0 || dim % heads !== 0) throw new Error(`attention: D = ${dim} is not a positive multiple of heads = ${heads}`);
  return { rows, dim, seq: rows / batch };
}

const ATTENTION_KERNELS = [ATTENTION_KERNEL, ATTENTION_GRAD_KERNEL];

/** True when the fused kernels are registered for the current backend (only "native" has them). */
export function attentionAvailable(): boolean {
  return kernelsRegistered(ATTENTION_KERNELS);
}

/** The additive score bias of a padding mask: 0 where mask [B, T] is 1 (a real token), -1e9 where it is 0. */
export const MASKED_SCORE = -1e9;

/**
 * softmax(q_bh k_bh^T / sqrt(dh) + keyBias_b) v_bh for every sequence b and head h, written back in the
 * [B*T, D] layout: q, k, v are float32 [B*T, D] with rows b*T..(b+1)*T-1 for sequence b; `keyBias` (optional,
 * float32 [B*T], not differentiated) is added to the score of key j in every query row of its sequence: 0 at
 * real tokens, MASKED_SCORE at padding. Without it the kernel computes exactly what it did before masks
 * existed. Differentiable wrt q, k, v. Throws when the fused kernels are not registered for the current
 * backend (see attentionAvailable).
 */
export function attention(q: tf.Tensor2D, k: tf.Tensor2D, v: tf.Tensor2D, batch: number, heads: number, keyBias?: tf.Tensor1D): tf.Tensor2D {
  if (!attentionAvailable()) {
    throw new Error(`attention: no fused kernels on backend '${tf.getBackend()}' (only 'native' has them); use tfjs ops there`);
  }
  dims(q.shape, batch, heads);
  for (const t of [q, k, v]) {
    if (t.dtype !== "float32") throw new Error(`attention: q, k, v must be float32, got ${t.dtype}`);
    if (!tf.util.arraysEqual(t.shape, q.shape)) throw new Error(`attention: q, k, v shapes differ: [${q.shape}] vs [${t.shape}]`);
  }
  if (keyBias && (keyBias.dtype !== "float32" || !tf.util.arraysEqual(keyBias.shape, [q.shape[0]]))) {
    throw new Error(`attention: keyBias must be float32 [${q.shape[0]}], got ${keyBias.dtype} [${keyBias.shape}]`);
  }
  const attrs = { batch, heads };
  const fused = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x, y, z, save] = args as [tf.Tensor, tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    const inputs: tf.NamedTensorMap = keyBias ? { q: x, k: y, v: z, keyBias } : { q: x, k: y, v: z };
    const [ctx, p] = tf.engine().runKernel(ATTENTION_KERNEL, inputs, attrs) as tf.Tensor[]; // [B*T, D], [B, H, T, T]
    save([x, y, z, p]);
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sq, sk, sv, sp] = saved;
      return tf.engine().runKernel(ATTENTION_GRAD_KERNEL, { q: sq, k: sk, v: sv, p: sp, dy }, attrs) as tf.Tensor[]; // 3 x [B*T, D]
    };
    return { value: ctx, gradFunc };
  });
  return fused(q, k, v) as tf.Tensor2D;
}

/** Kernel configs for `backendName`, registered by loadNativeBackend. */
export function attentionKernelConfigs(addon: NativeAddon, backendName: string): tf.KernelConfig[] {
  // Shapes are checked by dims() and, against each other, by the addon.
  const operands = (cpu: CpuBackend, inputs: NamedInfos, names: string[]) =>
    float32Operands(cpu, inputs, names, () => true, ATTENTION_KERNEL, names.join(", "));
  const forward: tf.KernelFunc = ({ inputs, backend, attrs }) => {
    const cpu = backend as CpuBackend;
    const named = inputs as NamedInfos;
    const { batch, heads } = attrs as { batch: number; heads: number };
    const { rows, dim, seq } = dims(named.q.shape, batch, heads);
    const [q, k, v] = operands(cpu, named, ["q", "k", "v"]);
    const ctx = cpu.alloc(rows * dim);
    const p = cpu.alloc(batch * heads * seq * seq);
    if (named.keyBias) {
      const [keyBias] = operands(cpu, named, ["keyBias"]);
      addon.attentionForwardMasked(q, k, v, keyBias, ctx, p, batch, seq, heads); // throws on any size mismatch
    } else {
      addon.attentionForward(q, k, v, ctx, p, batch, seq, heads); // throws on any size mismatch
    }
    return [output(cpu, [rows, dim], ctx), output(cpu, [batch, heads, seq, seq], p)];
  };
  const backward: tf.KernelFunc = ({ inputs, backend, attrs }) => {
    const cpu = backend as CpuBackend;
    const named = inputs as NamedInfos;
    const { batch, heads } = attrs as { batch: number; heads: number };
    const { rows, dim, seq } = dims(named.q.shape, batch, heads);
    const [q, k, v, p, dy] = operands(cpu, named, ["q", "k", "v", "p", "dy"]);
    const grads = [0, 1, 2].map(() => cpu.alloc(rows * dim));
    addon.attentionBackward(q, k, v, p, dy, grads[0], grads[1], grads[2], batch, seq, heads);
    return grads.map((g) => output(cpu, [rows, dim], g));
  };
  return [
    { kernelName: ATTENTION_KERNEL, backendName, kernelFunc: forward },
    { kernelName: ATTENTION_GRAD_KERNEL, backendName, kernelFunc: backward },
  ];
}
