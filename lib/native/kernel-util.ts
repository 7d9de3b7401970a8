// Shared plumbing of the native kernels: read the cpu backend's typed arrays without copying, wrap new
// Float32Arrays as outputs, and fall back to the stock cpu kernel for cases the native path does not cover.
import * as tf from "@tensorflow/tfjs";
import type { MathBackendCPU } from "@tensorflow/tfjs-backend-cpu";
import type { NativeBackend } from "./native-backend";

export type CpuBackend = NativeBackend;
export type NamedInfos = Record<string, tf.TensorInfo>;
export interface KernelArgs {
  inputs: NamedInfos;
  backend: CpuBackend;
  attrs: Record<string, unknown>;
}
/** A native kernel returns null when it does not handle a case; the cpu kernel then runs instead. */
export type NativeKernel = (args: KernelArgs) => tf.TensorInfo | tf.TensorInfo[] | null;

/** The float32 values of a tensor, or null for other dtypes (those go to the cpu kernel). */
export function f32(backend: MathBackendCPU, t: tf.TensorInfo): Float32Array | null {
  if (t.dtype !== "float32") return null;
  const values = backend.data.get(t.dataId).values;
  return values instanceof Float32Array ? values : null;
}

/** 4-byte values (float32 or int32) seen as Float32Array: layout kernels only move bits, never read them. */
export function bits32(backend: CpuBackend, t: tf.TensorInfo): Float32Array | null {
  const values = backend.data.get(t.dataId).values;
  if (values instanceof Float32Array) return values;
  if (values instanceof Int32Array) return new Float32Array(values.buffer, values.byteOffset, values.length);
  return null;
}

/**
 * The float32 values of the named inputs when `ok(their shapes)`; otherwise an Error naming `op`, what was
 * `expected` and what came (name, dtype, shape of each).
 */
export function float32Operands(backend: CpuBackend, inputs: NamedInfos, names: string[], ok: (shapes: number[][]) => boolean,
  op: string, expected: string): Float32Array[] {
  const infos = names.map((n) => inputs[n]);
  const values = infos.map((t) => f32(backend, t));
  if (values.some((v) => !v) || !ok(infos.map((t) => t.shape))) {
    const got = names.map((n, i) => `${n} ${infos[i].dtype} [${infos[i].shape}]`).join(", ");
    throw new Error(`${op}: expected float32 ${expected}; got ${got}`);
  }
  return values as Float32Array[];
}

export function i32(backend: CpuBackend, t: tf.TensorInfo): Int32Array | null {
  const values = backend.data.get(t.dataId).values;
  return values instanceof Int32Array ? values : null;
}

/** Wraps `values` (4-byte words written by the addon) as a tensor of `dtype` owned by the backend. */
export function output(backend: CpuBackend, shape: number[], values: Float32Array, dtype: tf.DataType = "float32"): tf.TensorInfo {
  const typed = dtype === "int32" ? new Int32Array(values.buffer, values.byteOffset, values.length) : values;
  return backend.makeTensorInfo(shape, dtype, typed);
}

export function sizeOf(shape: number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Row-major strides of `shape`, in elements. */
export function stridesOf(shape: number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    strides[d] = s;
    s *= shape[d];
  }
  return strides;
}

/** Normalised, sorted, unique axes of an `axis` attribute (number, array or undefined = all). */
export function parseAxes(axis: unknown, rank: number): number[] {
  const raw = axis == null ? [...Array(rank).keys()] : Array.isArray(axis) ? (axis as number[]) : [axis as number];
  return [...new Set(raw.map((a) => (a < 0 ? a + rank : a)))].sort((a, b) => a - b);
}

const fallbacks = new Map<string, number>();

/** How often each native kernel handed a call to the cpu kernel, since the process started. */
export function fallbackCounts(): Record<string, number> {
  return Object.fromEntries(fallbacks);
}

/** Wraps a native kernel so that it falls back to the registered cpu kernel when it returns null. */
export function withFallback(name: string, kernel: NativeKernel): tf.KernelFunc {
  const cpu = tf.getKernel(name, "cpu");
  if (!cpu) throw new Error(`tfjs cpu backend has no '${name}' kernel to fall back to`);
  const fallback = cpu.kernelFunc;
  return (args) => {
    const nativeArgs = { inputs: args.inputs, backend: args.backend, attrs: args.attrs ?? {} } as unknown as KernelArgs;
    const result = kernel(nativeArgs);
    if (result) return result;
    fallbacks.set(name, (fallbacks.get(name) ?? 0) + 1);
    return fallback(args) as tf.TensorInfo | tf.TensorInfo[];
  };
}

const registered = new Map<string, boolean>(); // "backend|names" -> all registered

/**
 * True when every kernel of `names` is registered for the current backend. Cached: loadNativeBackend registers
 * its kernels before the backend itself, so the answer for a backend never changes once it can be current.
 */
export function kernelsRegistered(names: readonly string[]): boolean {
  const backend = tf.getBackend();
  const key = `${backend}|${names.join(",")}`;
  let ok = registered.get(key);
  if (ok === undefined) {
    ok = names.every((name) => tf.getKernel(name, backend) !== undefined);
    registered.set(key, ok);
  }
  return ok;
}
