// Broadcasting binary ops, unary math, AddN and Cast to float32. Broadcasts are collapsed first (size-1 dims
// dropped, neighbours with the same broadcast pattern merged) so the C loop sees few, long rows.
import * as tf from "@tensorflow/tfjs";
import { BINARY_OPS, NativeAddon, UNARY_OPS } from "./addon";
import { f32, NativeKernel, output, sizeOf } from "./kernel-util";

export interface BroadcastPlan {
  outShape: number[];
  /** Collapsed iteration shape and per-operand strides (0 where the operand is broadcast). */
  shape: Int32Array;
  aStrides: Int32Array;
  bStrides: Int32Array;
}

export function broadcastPlan(aShape: number[], bShape: number[]): BroadcastPlan {
  const outShape = tf.backend_util.assertAndGetBroadcastShape(aShape, bShape);
  const rank = outShape.length;
  const pad = (s: number[]) => [...Array(rank - s.length).fill(1), ...s];
  const pa = pad(aShape);
  const pb = pad(bShape);
  const dims: { n: number; a: boolean; b: boolean }[] = []; // a/b: operand has this dim (not broadcast)
  for (let d = 0; d < rank; d++) {
    if (outShape[d] === 1) continue;
    const cur = { n: outShape[d], a: pa[d] !== 1, b: pb[d] !== 1 };
    const prev = dims[dims.length - 1];
    if (prev && prev.a === cur.a && prev.b === cur.b) prev.n *= cur.n;
    else dims.push(cur);
  }
  if (dims.length === 0) dims.push({ n: 1, a: true, b: true });
  const strides = (has: (d: (typeof dims)[number]) => boolean) => {
    const out = new Int32Array(dims.length);
    let s = 1;
    for (let d = dims.length - 1; d >= 0; d--) {
      if (has(dims[d])) {
        out[d] = s;
        s *= dims[d].n;
      }
    }
    return out;
  };
  return {
    outShape,
    shape: Int32Array.from(dims.map((d) => d.n)),
    aStrides: strides((d) => d.a),
    bStrides: strides((d) => d.b),
  };
}

// Plans by shape pair: a training step repeats the same few hundred, and planning costs ~2 us per call.
const plans = new Map<string, BroadcastPlan>();
const MAX_PLANS = 4096;

function cachedPlan(aShape: number[], bShape: number[]): BroadcastPlan {
  const key = `${aShape.join(",")}|${bShape.join(",")}`;
  let plan = plans.get(key);
  if (!plan) {
    if (plans.size >= MAX_PLANS) plans.clear();
    plan = broadcastPlan(aShape, bShape);
    plans.set(key, plan);
  }
  return plan;
}

function binaryKernel(addon: NativeAddon, op: number): NativeKernel {
  return ({ inputs, backend }) => {
    const av = f32(backend, inputs.a);
    const bv = f32(backend, inputs.b);
    if (!av || !bv) return null;
    const p = cachedPlan(inputs.a.shape, inputs.b.shape);
    const out = backend.alloc(sizeOf(p.outShape));
    addon.binary(op, av, p.aStrides, bv, p.bStrides, out, p.shape);
    return output(backend, [...p.outShape], out); // a copy: the plan is shared
  };
}

function unaryKernel(addon: NativeAddon, op: number): NativeKernel {
  return ({ inputs, backend, attrs }) => {
    const xv = f32(backend, inputs.x);
    if (!xv) return null;
    const out = backend.alloc(xv.length);
    addon.unary(op, xv, out, (attrs.alpha as number | undefined) ?? 0); // alpha: Step's value for x <= 0
    return output(backend, inputs.x.shape, out);
  };
}

/** AddN sums in float32 left to right, like the cpu kernel: out = t0 + t1, then out += t2, ... */
function addN(addon: NativeAddon): NativeKernel {
  return ({ inputs, backend }) => {
    const tensors = inputs as unknown as tf.TensorInfo[];
    const values = tensors.map((t) => f32(backend, t));
    if (values.some((v) => !v) || tensors.length < 2) return null;
    const shape = tensors[0].shape;
    const flat = Int32Array.of(sizeOf(shape));
    const unit = Int32Array.of(1);
    const out = backend.alloc(flat[0]);
    addon.binary(BINARY_OPS.Add, values[0]!, unit, values[1]!, unit, out, flat);
    for (let i = 2; i < values.length; i++) addon.binary(BINARY_OPS.Add, out, unit, values[i]!, unit, out, flat);
    return output(backend, shape, out);
  };
}

/**
 * int32/bool -> float32 as a real Float32Array. The cpu Cast keeps the Int32Array/Uint8Array and only
 * relabels it float32 (no precision is lost), which would send every later op on it to the cpu kernels.
 */
function cast(): NativeKernel {
  return ({ inputs, backend, attrs }) => {
    const values = backend.data.get(inputs.x.dataId).values;
    if (attrs.dtype !== "float32" || !(values instanceof Int32Array || values instanceof Uint8Array)) return null;
    const out = backend.alloc(values.length);
    out.set(values);
    return output(backend, inputs.x.shape, out);
  };
}

export function elementwiseKernels(addon: NativeAddon): Record<string, NativeKernel> {
  const kernels: Record<string, NativeKernel> = { AddN: addN(addon), Cast: cast() };
  for (const [name, op] of Object.entries(BINARY_OPS)) kernels[name] = binaryKernel(addon, op);
  for (const [name, op] of Object.entries(UNARY_OPS)) kernels[name] = unaryKernel(addon, op);
  return kernels;
}
