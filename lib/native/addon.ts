// Loads the compiled OpenBLAS addon (native/, built by `node native/build.js`) and types its functions.
// Every function works in place on caller-owned typed arrays: inputs are read, `out` is written. Every function
// validates its arguments (types, integral in-range dims, sizes that fit the arrays) and throws an Error
// naming itself and the bad argument, e.g. "gemm: argument 5 (M) must be an integer in [0, 2147483647], got -3".
import { createHash } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

export const BINARY_OPS = { Add: 0, Sub: 1, Multiply: 2, RealDiv: 3, Maximum: 4, Minimum: 5, SquaredDifference: 6 } as const;
export const UNARY_OPS = {
  Exp: 0, Log: 1, Sqrt: 2, Rsqrt: 3, Relu: 4, Step: 5, Neg: 6, Square: 7, Tanh: 8, Sigmoid: 9, Abs: 10, Reciprocal: 11, Erf: 12,
} as const;
export const REDUCE_OPS = { Sum: 0, Mean: 1, Max: 2, Min: 3 } as const;

export interface NativeAddon {
  /** Per batch i: c[i] = act(op(a at offsA[i]) @ op(b at offsB[i]) + bias); c[i] is the i-th [M, N] block. */
  gemm(a: Float32Array, b: Float32Array, c: Float32Array, offsA: Int32Array, offsB: Int32Array, M: number, N: number,
    K: number, transA: boolean, transB: boolean, bias: Float32Array | null, relu: boolean): void;
  /** Broadcast op over collapsed dims `shape`; strides in elements, 0 on broadcast dims. */
  binary(op: number, a: Float32Array, aStrides: Int32Array, b: Float32Array, bStrides: Int32Array, out: Float32Array,
    shape: Int32Array): void;
  unary(op: number, x: Float32Array, out: Float32Array, alpha: number): void;
  /** out[o, i] = reduce_j x[o, j, i] over the [outer, r, inner] view of x. */
  reduce(op: number, x: Float32Array, out: Float32Array, outer: number, r: number, inner: number): void;
  softmax(x: Float32Array, out: Float32Array, rows: number, cols: number): void;
  transpose(x: Float32Array, out: Float32Array, shape: Int32Array, perm: Int32Array): void;
  /** Copies the box [begin, begin + size) of x (row-major `shape`) into out. */
  slice(x: Float32Array, out: Float32Array, shape: Int32Array, begin: Int32Array, size: Int32Array): void;
  /** Writes x (contiguous, shape `size`) into the box [begin, begin + size) of out (row-major `shape`). */
  insert(x: Float32Array, out: Float32Array, shape: Int32Array, begin: Int32Array, size: Int32Array): void;
  /** dst[r * dstStride + dstOffset + i] = src[r * width + i], src being [rows, width]. */
  copyRows(src: Float32Array, dst: Float32Array, dstOffset: number, dstStride: number, rows: number): void;
  /** out[o, j, :] = x[o, indices[j], :]; returns -1 or the position of the first out-of-range index. */
  gather(x: Float32Array, indices: Int32Array, out: Float32Array, outer: number, n: number, inner: number): number;
  /** out[ids[i], :] += x[i, :]; `out` must be zero-filled. */
  segmentSum(x: Float32Array, ids: Int32Array, out: Float32Array, segments: number): void;
  /** Per row of logits [rows, cols]: lse = logsumexp, loss = lse - logits[label] (NaN for a bad label). */
  xentForward(logits: Float32Array, labels: Int32Array, loss: Float32Array, lse: Float32Array): void;
  /** out = dy[row] * (softmax(logits) - onehot(label)). */
  xentBackward(logits: Float32Array, labels: Int32Array, lse: Float32Array, dy: Float32Array, out: Float32Array): void;
  /** Sum of x[i]^2, accumulated in double. */
  sumSquares(x: Float32Array): number;
  /**
   * Adam(W) on one variable: g = grad * scale; m and v updated in place; out = p - lr * (m / c1 / (sqrt(v / c2) + eps)
   * + weightDecay * p), c1 and c2 being the bias corrections 1 - beta^t. `out` may be `p`.
   */
  adam(p: Float32Array, grad: Float32Array, m: Float32Array, v: Float32Array, out: Float32Array, lr: number, beta1: number,
    beta2: number, eps: number, weightDecay: number, c1: number, c2: number, scale: number): void;
  /** LayerNorm over rows of x [rows, d] (d = gamma.length); writes y and stats [rows, 2] = (mean, rstd). */
  layerNormForward(x: Float32Array, gamma: Float32Array, beta: Float32Array, eps: number, y: Float32Array,
    stats: Float32Array): void;
  /** Writes dx [rows, d], dgamma [d] and dbeta [d]. */
  layerNormBackward(x: Float32Array, gamma: Float32Array, stats: Float32Array, dy: Float32Array, dx: Float32Array,
    dgamma: Float32Array, dbeta: Float32Array): void;
  /** y = x * sigmoid(1.702 x), elementwise. */
  geluForward(x: Float32Array, y: Float32Array): void;
  geluBackward(x: Float32Array, dy: Float32Array, dx: Float32Array): void;
  /** Depthwise conv over time, same zero padding: x [b, t, d], w [k, d] (k odd), bias [d] -> out [b, t, d]. */
  depthwiseConv1dForward(x: Float32Array, w: Float32Array, bias: Float32Array, out: Float32Array, b: number, t: number): void;
  /** Writes dx [b, t, d], dw [k, d] and dbias [d]. */
  depthwiseConv1dBackward(x: Float32Array, w: Float32Array, dy: Float32Array, dx: Float32Array, dw: Float32Array,
    dbias: Float32Array, b: number, t: number): void;
  /**
   * Attention core per (sequence b, head h) over [batch*seq, D] operands, head h owning columns h*dh..:
   * ctx_bh = P_bh v_bh with P_bh = softmax(q_bh k_bh^T / sqrt(dh)), P written as [batch, heads, seq, seq].
   */
  attentionForward(q: Float32Array, k: Float32Array, v: Float32Array, ctx: Float32Array, p: Float32Array, batch: number,
    seq: number, heads: number): void;
  /** attentionForward with kbias [batch*seq] (0 at real tokens, -1e9 at padding) added to every query row's scores. */
  attentionForwardMasked(q: Float32Array, k: Float32Array, v: Float32Array, kbias: Float32Array, ctx: Float32Array,
    p: Float32Array, batch: number, seq: number, heads: number): void;
  /** Writes dq, dk, dv (every element) of attentionForward given its P and the upstream dctx. */
  attentionBackward(q: Float32Array, k: Float32Array, v: Float32Array, p: Float32Array, dctx: Float32Array, dq: Float32Array,
    dk: Float32Array, dv: Float32Array, batch: number, seq: number, heads: number): void;
  /**
   * 2-D convs on NHWC float32 with dilation 1; geom = [n, h, w, cin, kh, kw, cout, oh, ow, sh, sw, padTop, padLeft]
   * (CONV_GEOM in lib/native/conv.ts). x [n, h, w, cin], filter [kh, kw, cin, cout], out [n, oh, ow, cout]; output
   * pixel (oy, ox) reads input (oy*sh - padTop + i, ox*sw - padLeft + j), zeros outside the image.
   */
  conv2dForward(x: Float32Array, filter: Float32Array, out: Float32Array, geom: Int32Array): void;
  /** dx [n, h, w, cin] of conv2dForward given dy [n, oh, ow, cout]. */
  conv2dBackpropInput(dy: Float32Array, filter: Float32Array, dx: Float32Array, geom: Int32Array): void;
  /** dfilter [kh, kw, cin, cout] of conv2dForward. */
  conv2dBackpropFilter(x: Float32Array, dy: Float32Array, dfilter: Float32Array, geom: Int32Array): void;
  /** The depthwise versions: filter [kh, kw, cin, 1] (channel multiplier 1), cout = cin in geom. */
  depthwiseConv2dForward(x: Float32Array, filter: Float32Array, out: Float32Array, geom: Int32Array): void;
  depthwiseConv2dBackpropInput(dy: Float32Array, filter: Float32Array, dx: Float32Array, geom: Int32Array): void;
  depthwiseConv2dBackpropFilter(x: Float32Array, dy: Float32Array, dfilter: Float32Array, geom: Int32Array): void;
  /**
   * BatchNorm with batch statistics over the rows of x [rows, c] (c = gamma.length): y = act((x - mean) * rsqrt(var
   * + eps) * gamma + beta), act = clamp to [0, 6] when relu6; writes y, mean [c] and var [c] (biased).
   */
  batchNormForward(x: Float32Array, gamma: Float32Array, beta: Float32Array, eps: number, relu6: boolean, y: Float32Array,
    mean: Float32Array, variance: Float32Array): void;
  /** Writes dx [rows, c], dgamma [c], dbeta [c] of batchNormForward given its mean and var. */
  batchNormBackward(x: Float32Array, gamma: Float32Array, beta: Float32Array, mean: Float32Array, variance: Float32Array,
    eps: number, relu6: boolean, dy: Float32Array, dx: Float32Array, dgamma: Float32Array, dbeta: Float32Array): void;
  /** Sets OpenBLAS's thread count when n > 0; returns the count in effect. */
  setThreads(n: number): number;
  blasConfig(): string;
}

/** native/build/Release/magic_native.node, from lib/native (tsx) or dist/lib/native (compiled). */
function addonPath(): string | null {
  const candidates = [
    path.resolve(__dirname, "../../native/build/Release/magic_native.node"),
    path.resolve(__dirname, "../../../native/build/Release/magic_native.node"),
  ];
  return candidates.find((p) => fs.existsSync(p)) ?? null;
}

/** The CPU's feature flags as native/build.js records them: the first "flags" (x86) or "Features" (arm64) line. */
function cpuFeatures(): string[] | null {
  try {
    const m = /^(?:flags|Features)\s*:(.*)$/m.exec(fs.readFileSync("/proc/cpuinfo", "utf8"));
    return m ? m[1].trim().split(/\s+/) : null;
  } catch {
    return null;
  }
}

/** The CPU a build was compiled for, as native/build.js records it. */
type BuildCpu = { model?: string | null; features?: string | null };

const buildRecordPath = (file: string) => path.resolve(path.dirname(file), "../build-info.json");

/** The CPU record of the build at `file` (native/build/build-info.json), or null when it has no readable record. */
function buildCpu(file: string): BuildCpu | null {
  try {
    return JSON.parse(fs.readFileSync(buildRecordPath(file), "utf8")).cpu ?? {};
  } catch {
    return null;
  }
}

/**
 * Why the build at `file` must not be loaded on this machine, or null. It is compiled with -march=native, so on
 * a CPU lacking a feature of the one it was built on it can die with SIGILL in any kernel: a build whose
 * recorded CPU features (native/build/build-info.json) are not all present here, or that has no record, is
 * refused. Other changes (sources, compiler, node) are the setup's business (`node native/build.js --check`).
 */
function refusal(file: string, built: BuildCpu | null): string | null {
  if (!built) return `it has no build record (${buildRecordPath(file)}), so the CPU it was compiled for (-march=native) is unknown`;
  const here = cpuFeatures();
  if (built.features && here) {
    const have = new Set(here);
    const missing = built.features.split(" ").filter((f) => !have.has(f));
    if (missing.length === 0) return null;
    const list = missing.length > 12 ? `${missing.slice(0, 12).join(" ")} ...` : missing.join(" ");
    return `it was compiled (-march=native) for a CPU with features this one lacks (${list}) and could die with SIGILL`;
  }
  const model = os.cpus()[0]?.model ?? null;
  if (built.model === model) return null;
  return `it was compiled (-march=native) on another CPU (${built.model}; this one: ${model}) and could die with SIGILL`;
}

/**
 * What makes native's float32 sums CPU-dependent, as one line: OpenBLAS's kernel set (DYNAMIC_ARCH picks it per CPU
 * when the library loads) and the CPU the addon was compiled for (-march=native: its vector width and FMA use decide
 * the order of our kernels' sums). Machines with the same line are expected to compute bit-equal numbers; e.g.
 * "OpenBLAS 0.3.21 Zen; addon -march=native on AMD EPYC (avx2 avx fma; cpu flags 1a2b3c4d)".
 */
export function nativePlatform(): string {
  const addon = loadAddon();
  // blasConfig(): "OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH NO_AFFINITY Zen MAX_THREADS=64": build options are in
  // capitals, the kernel set (core) is the one mixed-case word after the version.
  const [, version = "?", ...rest] = addon.blasConfig().trim().split(/\s+/);
  const core = rest.find((word) => !/^[A-Z0-9_=]+$/.test(word)) ?? "unknown core";
  const built = loadedBuildCpu;
  // -march=native compiles for every feature flag, and two CPUs of one model name can differ in them (then this
  // line differs too and verification allows the cross-platform tolerance: the safe side), so all flags count.
  const features = new Set((built.features ?? "").split(" "));
  const vector = ["avx512f", "avx2", "avx", "fma", "neon", "asimd"].filter((f) => features.has(f)).join(" ") || "no vector features recorded";
  const flags = createHash("sha256").update(built.features ?? "").digest("hex").slice(0, 8);
  return `OpenBLAS ${version} ${core}; addon -march=native on ${built.model ?? "an unrecorded CPU"} (${vector}; cpu flags ${flags})`;
}

let cached: NativeAddon | null = null;
/** The loaded build's CPU record, read once by loadAddon (which refuses a build without one). */
let loadedBuildCpu: BuildCpu = {};

/** The addon, or an Error saying why it is unavailable and how to build it. */
export function loadAddon(): NativeAddon {
  if (cached) return cached;
  const file = addonPath();
  if (!file) throw new Error("native addon not built: run `node native/build.js` (needs a C compiler, libopenblas-dev, pkg-config)");
  const built = buildCpu(file);
  const refused = refusal(file, built);
  if (refused) throw new Error(`native addon at ${file} not loaded: ${refused}; rebuild it with \`node native/build.js\``);
  try {
    cached = require(file) as NativeAddon;
    loadedBuildCpu = built!;
  } catch (e) {
    const why = e instanceof Error ? e.message.split("\n")[0] : String(e);
    throw new Error(`native addon at ${file} failed to load (${why}); rebuild with \`node native/build.js\``);
  }
  return cached;
}

/** True when the addon file exists and loads; for tests that skip without it. */
export function addonAvailable(): boolean {
  try {
    loadAddon();
    return true;
  } catch {
    return false;
  }
}
