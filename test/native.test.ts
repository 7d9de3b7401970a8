// Every kernel the native backend overrides, checked against the stock tfjs cpu kernel: forward values and
// gradients (tf.grads with a random upstream dy), on odd sizes (1, 7, 33), broadcasts and transposes.
// Error measure (normwise relative): max |native - cpu| <= tol * max |cpu|. tol = 1e-5 everywhere except
// matmuls (1e-4: OpenBLAS blocks its long sums in another order than the cpu kernel's loop) and the
// 4-step training run (1e-4 on each loss: differences compound through Adam).
// Each case also asserts that the native path ran (no fallback to the cpu kernel) unless it is a
// declared fallback case. Without the addon: see helpers/native.ts.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { assertClose, uniform } from "./helpers/kernel-check";
import { fallbackCounts, loadNativeBackend, maskedSoftmaxCrossEntropy, nativeKernelNames, sparseSoftmaxCrossEntropyRows } from "../lib/native/index";
import { BATCH_NORM_GRAD_KERNEL, BATCH_NORM_KERNEL } from "../lib/native/batchnorm";
import { FUSED_KERNELS } from "../lib/native/fused";
import { NativeBackend } from "../lib/native/native-backend";
import { BENCH_MODEL, BenchModel, benchBatch } from "../scripts/bench-model";
import { nativeSkip } from "./helpers/native";

const SKIP = nativeSkip();
const TOL = 1e-5;
const MATMUL_TOL = 1e-4;

type Kind = "normal" | "positive" | "int";
interface Input {
  shape: number[];
  kind?: Kind;
  /** int inputs: values in [0, max) */
  max?: number;
}
interface Case {
  name: string;
  kernels: string[];
  inputs: Input[];
  f: (...xs: tf.Tensor[]) => tf.Tensor;
  tol?: number;
  grad?: boolean;
  /** The case exercises the cpu fallback of these kernels on purpose. */
  fallback?: string[];
}

function values(input: Input, next: () => number): Float32Array | Int32Array {
  const n = input.shape.reduce((a, b) => a * b, 1);
  if (input.kind === "int") return Int32Array.from({ length: n }, () => Math.floor(next() * (input.max ?? 2)));
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = next() * 2 - 1;
    out[i] = input.kind === "positive" ? 0.5 + 2 * Math.abs(u) : 3 * u;
  }
  return out;
}

/** Output and input gradients of a case on the current backend, as plain arrays. */
function run(c: Case, data: (Float32Array | Int32Array)[], dySeed: number): { y: Float32Array; grads: Float32Array[] } {
  const tensors = c.inputs.map((inp, i) => tf.tensor(data[i], inp.shape, inp.kind === "int" ? "int32" : "float32"));
  const floatIdx = c.inputs.map((inp, i) => (inp.kind === "int" ? -1 : i)).filter((i) => i >= 0);
  const call = (...floats: tf.Tensor[]) => c.f(...tensors.map((t, i) => (floatIdx.includes(i) ? floats[floatIdx.indexOf(i)] : t)));
  const y = call(...floatIdx.map((i) => tensors[i]));
  const result = { y: Float32Array.from(y.dataSync()), grads: [] as Float32Array[] };
  if (c.grad !== false && floatIdx.length > 0) {
    const dy = tf.tensor(values({ shape: y.shape }, uniform(dySeed)), y.shape);
    const grads = tf.grads(call)(floatIdx.map((i) => tensors[i]), dy);
    result.grads = grads.map((g) => Float32Array.from(g.dataSync()));
    tf.dispose([dy, ...grads]);
  }
  tf.dispose([y, ...tensors]);
  return result;
}

async function check(c: Case, seed: number): Promise<void> {
  const next = uniform(seed);
  const data = c.inputs.map((inp) => values(inp, next));
  await tf.setBackend("cpu");
  const ref = run(c, data, seed + 1);
  await tf.setBackend("native");
  const before = fallbackCounts();
  const got = run(c, data, seed + 1);
  const after = fallbackCounts();
  const tol = c.tol ?? TOL;
  assertClose(got.y, ref.y, tol, `${c.name} forward`);
  assert.equal(got.grads.length, ref.grads.length);
  got.grads.forEach((g, i) => assertClose(g, ref.grads[i], tol, `${c.name} grad ${i}`));
  for (const k of c.kernels) {
    const fell = (after[k] ?? 0) - (before[k] ?? 0);
    if (c.fallback?.includes(k)) assert.ok(fell > 0, `${c.name}: expected ${k} to fall back`);
    else assert.equal(fell, 0, `${c.name}: ${k} fell back to the cpu kernel`);
  }
}

const mm = (ta = false, tb = false) => (a: tf.Tensor, b: tf.Tensor) => tf.matMul(a, b, ta, tb);
const binaryShapes: [number[], number[]][] = [
  [[7, 33], [7, 33]], [[7, 33], [33]], [[7, 1], [1, 33]], [[2, 7, 1, 5], [7, 33, 1]], [[], [7, 33]], [[1], [1]],
];
// tfjs's gradients of Maximum, Minimum and SquaredDifference do not sum over broadcast dims (they fail on
// cpu too), so those are checked forward-only when shapes differ.
const BROADCAST_GRAD = new Set(["Add", "Sub", "Multiply", "RealDiv"]);
const BINARY: [string, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor, Kind][] = [
  ["Add", tf.add, "normal"], ["Sub", tf.sub, "normal"], ["Multiply", tf.mul, "normal"], ["RealDiv", tf.div, "positive"],
  ["Maximum", tf.maximum, "normal"], ["Minimum", tf.minimum, "normal"], ["SquaredDifference", tf.squaredDifference, "normal"],
];
const UNARY: [string, (x: tf.Tensor) => tf.Tensor, Kind][] = [
  ["Exp", tf.exp, "normal"], ["Log", tf.log, "positive"], ["Sqrt", tf.sqrt, "positive"], ["Rsqrt", tf.rsqrt, "positive"],
  ["Relu", tf.relu, "normal"], ["Step", (x) => tf.step(x, 0.25), "normal"], ["Neg", tf.neg, "normal"],
  ["Square", tf.square, "normal"], ["Tanh", tf.tanh, "normal"], ["Sigmoid", tf.sigmoid, "normal"], ["Abs", tf.abs, "normal"],
  ["Reciprocal", tf.reciprocal, "positive"], ["Erf", tf.erf, "normal"],
];
const x3 = { shape: [7, 33, 5] };

type Pad = "same" | "valid" | number | [[number, number], [number, number], [number, number], [number, number]];
const CONV = ["Conv2D", "Conv2DBackpropInput", "Conv2DBackpropFilter"];
const DEPTHWISE = ["DepthwiseConv2dNative", "DepthwiseConv2dNativeBackpropInput", "DepthwiseConv2dNativeBackpropFilter"];
const conv = (x: number[], f: number[], stride: number, pad: Pad, extra: Partial<Case> = {}): Case => ({
  name: `Conv2D x [${x}] filter [${f}] stride ${stride} pad ${JSON.stringify(pad)}`, kernels: CONV, tol: MATMUL_TOL,
  inputs: [{ shape: x }, { shape: f }], f: (a, b) => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, stride, pad), ...extra,
});
const depthwise = (x: number[], k: number, stride: number, pad: Pad, multiplier = 1): Case => ({
  name: `DepthwiseConv2dNative x [${x}] kernel ${k} stride ${stride} pad ${JSON.stringify(pad)} multiplier ${multiplier}`, kernels: DEPTHWISE,
  inputs: [{ shape: x }, { shape: [k, k, x[3], multiplier] }], f: (a, b) => tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, stride, pad),
  // A channel multiplier other than 1 is left to the cpu kernels (lib/native/conv.ts).
  fallback: multiplier === 1 ? undefined : DEPTHWISE,
});
/** NHWC float32 convs on odd sizes, stride 1, 2 (and 3), 'same' / 'valid' / explicit pads; dilation 2 falls back. */
const CONV_CASES: Case[] = [
  conv([2, 7, 7, 3], [3, 3, 3, 5], 1, "same"),
  conv([2, 9, 9, 4], [3, 3, 4, 6], 2, "same"),
  conv([1, 8, 11, 3], [3, 3, 3, 2], 2, "valid"),
  conv([2, 11, 11, 1], [3, 3, 1, 16], 1, "same"), // the CNN stem: one input channel
  conv([1, 9, 8, 2], [5, 5, 2, 3], 1, [[0, 0], [1, 2], [2, 0], [0, 0]]),
  conv([2, 7, 9, 3], [3, 3, 3, 4], 1, 1),
  conv([3, 5, 7, 9], [1, 1, 9, 4], 1, "same"), // one sgemm
  conv([2, 7, 7, 5], [1, 1, 5, 3], 2, "valid"), // 1x1 with stride: im2col
  conv([1, 10, 10, 2], [3, 3, 2, 3], 3, "same"),
  conv([1, 9, 9, 2], [2, 2, 2, 3], 2, "same"), // even kernel: more pad at the bottom
  conv([5, 64, 64, 32], [3, 3, 32, 4], 1, "same"), // im2col in two chunks of images (3 + 2)
  {
    name: "Conv2D dilation 2 (falls back)", kernels: ["Conv2D"], inputs: [{ shape: [1, 9, 9, 2] }, { shape: [3, 3, 2, 3] }],
    f: (a, b) => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, "same", "NHWC", 2), grad: false, fallback: ["Conv2D"], tol: MATMUL_TOL,
  },
  depthwise([2, 7, 7, 5], 3, 1, "same"),
  depthwise([2, 9, 9, 6], 5, 2, "same"),
  depthwise([1, 8, 8, 3], 7, 1, "same"),
  depthwise([2, 14, 14, 17], 7, 2, "same"),
  depthwise([2, 9, 9, 41], 3, 2, "same"), // channel blocks of 32, 8 and 1 (native/src/conv.c dw_gather)
  depthwise([1, 6, 7, 64], 5, 1, "same"),
  depthwise([2, 10, 9, 4], 3, 2, "valid"),
  depthwise([1, 9, 8, 3], 3, 1, [[0, 0], [2, 0], [1, 1], [0, 0]]),
  depthwise([1, 7, 7, 3], 3, 1, "same", 2),
];

const CASES: Case[] = [
  { name: "matmul 7x33 @ 33x5", kernels: ["BatchMatMul"], inputs: [{ shape: [7, 33] }, { shape: [33, 5] }], f: mm(), tol: MATMUL_TOL },
  { name: "matmul aT", kernels: ["BatchMatMul"], inputs: [{ shape: [33, 7] }, { shape: [33, 5] }], f: mm(true), tol: MATMUL_TOL },
  { name: "matmul bT", kernels: ["BatchMatMul"], inputs: [{ shape: [7, 33] }, { shape: [5, 33] }], f: mm(false, true), tol: MATMUL_TOL },
  { name: "matmul aT bT", kernels: ["BatchMatMul"], inputs: [{ shape: [33, 7] }, { shape: [5, 33] }], f: mm(true, true), tol: MATMUL_TOL },
  { name: "matmul long sums", kernels: ["BatchMatMul"], inputs: [{ shape: [7, 2048] }, { shape: [2048, 5] }], f: mm(), tol: MATMUL_TOL },
  { name: "matmul 1x1", kernels: ["BatchMatMul"], inputs: [{ shape: [1, 1] }, { shape: [1, 1] }], f: mm(), tol: MATMUL_TOL },
  { name: "matmul empty rows", kernels: ["BatchMatMul"], inputs: [{ shape: [0, 5] }, { shape: [5, 3] }], f: mm(), grad: false },
  { name: "matmul empty inner", kernels: ["BatchMatMul"], inputs: [{ shape: [4, 0] }, { shape: [0, 3] }], f: mm(), grad: false },
  { name: "matmul batched", kernels: ["BatchMatMul"], inputs: [{ shape: [3, 7, 33] }, { shape: [3, 33, 5] }], f: mm(), tol: MATMUL_TOL },
  { name: "matmul batched bT", kernels: ["BatchMatMul"], inputs: [{ shape: [2, 3, 7, 33] }, { shape: [2, 3, 5, 33] }], f: mm(false, true), tol: MATMUL_TOL },
  // Broadcast batch dims: tfjs's own gradient of these is not shape-correct, so forward only.
  { name: "matmul batch broadcast a", kernels: ["BatchMatMul"], inputs: [{ shape: [1, 7, 33] }, { shape: [3, 33, 5] }], f: mm(), tol: MATMUL_TOL, grad: false },
  { name: "matmul batch broadcast b", kernels: ["BatchMatMul"], inputs: [{ shape: [3, 33, 7] }, { shape: [1, 5, 33] }], f: mm(true, true), tol: MATMUL_TOL, grad: false },
  { name: "matmul 3-D @ 2-D", kernels: ["BatchMatMul"], inputs: [{ shape: [3, 7, 33] }, { shape: [33, 5] }], f: mm(), tol: MATMUL_TOL, grad: false },
  {
    name: "fused matmul bias relu", kernels: ["_FusedMatMul"], inputs: [{ shape: [7, 33] }, { shape: [33, 5] }, { shape: [5] }],
    f: (a, b, bias) => tf.fused.matMul({ a, b, bias, activation: "relu" }), tol: MATMUL_TOL,
  },
  {
    name: "fused matmul bT linear", kernels: ["_FusedMatMul"], inputs: [{ shape: [7, 33] }, { shape: [5, 33] }, { shape: [5] }],
    f: (a, b, bias) => tf.fused.matMul({ a, b, bias, transposeB: true }), tol: MATMUL_TOL,
  },
  {
    name: "fused matmul aT relu no bias", kernels: ["_FusedMatMul"], inputs: [{ shape: [33, 7] }, { shape: [33, 5] }],
    f: (a, b) => tf.fused.matMul({ a, b, transposeA: true, activation: "relu" }), tol: MATMUL_TOL,
  },
  {
    name: "fused matmul column bias (fallback)", kernels: ["_FusedMatMul"], fallback: ["_FusedMatMul"],
    inputs: [{ shape: [7, 33] }, { shape: [33, 5] }, { shape: [7, 1] }], f: (a, b, bias) => tf.fused.matMul({ a, b, bias }), tol: MATMUL_TOL,
  },
  ...BINARY.flatMap(([kernel, f, kind]) =>
    binaryShapes.map(([sa, sb]) => ({
      name: `${kernel} ${JSON.stringify(sa)} ${JSON.stringify(sb)}`, kernels: [kernel],
      inputs: [{ shape: sa }, { shape: sb, kind }], f,
      grad: BROADCAST_GRAD.has(kernel) || JSON.stringify(sa) === JSON.stringify(sb),
    })),
  ),
  { name: "AddN x3", kernels: ["AddN"], inputs: [{ shape: [7, 33] }, { shape: [7, 33] }, { shape: [7, 33] }], f: (a, b, c) => tf.addN([a, b, c]) },
  ...UNARY.flatMap(([kernel, f, kind]) =>
    [[7, 33], [1]].map((shape) => ({ name: `${kernel} ${JSON.stringify(shape)}`, kernels: [kernel], inputs: [{ shape, kind }], f })),
  ),
  ...(["sum", "mean", "max", "min"] as const).flatMap((op) => {
    const kernel = { sum: "Sum", mean: "Mean", max: "Max", min: "Min" }[op];
    const axes: (number | number[])[] = [-1, 0, 1, [1, 2], [0, 1, 2]];
    return [
      ...axes.map((axis, i) => ({
        name: `${kernel} axis ${JSON.stringify(axis)}`, kernels: [kernel], inputs: [x3],
        f: (x: tf.Tensor): tf.Tensor => tf[op](x, axis, i % 2 === 0),
      })),
      {
        name: `${kernel} axes [0,2] (transposed first)`, kernels: [kernel, "Transpose"], inputs: [x3],
        f: (x: tf.Tensor): tf.Tensor => tf[op](x, [0, 2]),
      },
      {
        name: `${kernel} axes [0,2] of 4-D`, kernels: [kernel], inputs: [{ shape: [2, 7, 3, 5] }],
        f: (x: tf.Tensor): tf.Tensor => tf[op](x, [0, 2], true),
      },
    ];
  }),
  { name: "Softmax 7x33", kernels: ["Softmax"], inputs: [{ shape: [7, 33] }], f: (x) => tf.softmax(x) },
  { name: "Softmax 3x1x33", kernels: ["Softmax"], inputs: [{ shape: [3, 1, 33] }], f: (x) => tf.softmax(x) },
  { name: "Softmax 1x1", kernels: ["Softmax"], inputs: [{ shape: [1, 1] }], f: (x) => tf.softmax(x) },
  ...[[1, 0], [0, 2, 1, 3], [3, 2, 1, 0], [0, 1, 3, 2], [1, 0, 2, 3], [0, 1, 2, 3]].map((perm) => ({
    name: `Transpose ${JSON.stringify(perm)}`, kernels: ["Transpose"],
    inputs: [{ shape: perm.length === 2 ? [7, 33] : [2, 7, 3, 33] }], f: (x: tf.Tensor) => tf.transpose(x, perm),
  })),
  { name: "Transpose int32", kernels: ["Transpose"], inputs: [{ shape: [7, 33], kind: "int", max: 100 }], f: (x) => tf.transpose(x).cast("float32") },
  { name: "Slice 3-D", kernels: ["Slice"], inputs: [x3], f: (x) => tf.slice(x, [1, 2, 0], [3, 30, 5]) },
  { name: "Slice columns", kernels: ["Slice"], inputs: [{ shape: [7, 33] }], f: (x) => tf.slice(x, [0, 5], [7, 3]) },
  { name: "Slice inner box", kernels: ["Slice"], inputs: [x3], f: (x) => tf.slice(x, [2, 0, 1], [1, 33, 3]) },
  { name: "PadV2 3-D", kernels: ["PadV2", "Slice"], inputs: [x3], f: (x) => tf.pad(x, [[1, 0], [0, 2], [3, 1]], 0.5) },
  { name: "PadV2 time axis", kernels: ["PadV2", "Slice"], inputs: [{ shape: [2, 7, 33] }], f: (x) => tf.pad(x, [[0, 0], [2, 2], [0, 0]]) },
  { name: "PadV2 nothing", kernels: ["PadV2", "Slice"], inputs: [{ shape: [1, 7] }], f: (x) => tf.pad(x, [[0, 0], [0, 0]]) },
  {
    name: "SplitV + Concat axis 1", kernels: ["SplitV", "Concat"], inputs: [{ shape: [7, 33] }],
    f: (x) => {
      const [a, b, c] = tf.split(x, [10, 20, 3], 1);
      return tf.concat([c, a.mul(2), b], 1);
    },
  },
  { name: "SplitV equal axis 2", kernels: ["SplitV"], inputs: [{ shape: [7, 3, 33] }], f: (x) => tf.split(x, 3, 2)[1] },
  ...[0, 1, 2].map((axis) => ({
    name: `Concat axis ${axis}`, kernels: ["Concat"],
    inputs: [{ shape: [7, 3, 5] }, { shape: [axis === 0 ? 1 : 7, axis === 1 ? 1 : 3, axis === 2 ? 1 : 5] }],
    f: (a: tf.Tensor, b: tf.Tensor) => tf.concat([a, b], axis),
  })),
  { name: "GatherV2 rows", kernels: ["GatherV2", "UnsortedSegmentSum"], inputs: [{ shape: [7, 33] }, { shape: [9], kind: "int", max: 7 }], f: (x, i) => tf.gather(x, i as tf.Tensor1D) },
  { name: "GatherV2 2-D ids", kernels: ["GatherV2", "UnsortedSegmentSum"], inputs: [{ shape: [7, 5] }, { shape: [2, 3], kind: "int", max: 7 }], f: (x, i) => tf.gather(x, i as tf.Tensor1D) },
  { name: "GatherV2 axis 1", kernels: ["GatherV2"], inputs: [{ shape: [3, 7, 5] }, { shape: [4], kind: "int", max: 7 }], f: (x, i) => tf.gather(x, i as tf.Tensor1D, 1) },
  {
    name: "Cast int32 -> float32 feeds native ops", kernels: ["Cast", "Multiply"], inputs: [{ shape: [7, 33], kind: "int", max: 1000 }],
    f: (i) => tf.mul(tf.cast(i, "float32"), tf.cast(i, "float32")),
  },
  {
    name: "Cast bool -> float32", kernels: ["Cast", "Add"], inputs: [{ shape: [7, 33] }],
    f: (x) => tf.add(tf.cast(tf.greater(x, 0), "float32"), x), grad: false, // tfjs has no gradient for Greater
  },
  { name: "OneHot int32", kernels: ["OneHot"], inputs: [{ shape: [3, 5], kind: "int", max: 9 }], f: (i) => tf.oneHot(i, 7, 2, -1).cast("float32") },
  { name: "OneHot float32", kernels: ["OneHot"], inputs: [{ shape: [11], kind: "int", max: 9 }], f: (i) => tf.oneHot(i, 7, 0.5, 0, "float32") },
  {
    name: "UnsortedSegmentSum", kernels: ["UnsortedSegmentSum"], inputs: [{ shape: [6, 5] }, { shape: [6], kind: "int", max: 4 }],
    f: (x, ids) => tf.unsortedSegmentSum(x, ids as tf.Tensor1D, 4),
  },
  ...CONV_CASES,
];

test("native backend registers", { skip: SKIP }, async () => {
  loadNativeBackend();
  loadNativeBackend(); // idempotent
  assert.equal(await tf.setBackend("native"), true);
  assert.ok(tf.backend() instanceof NativeBackend);
  for (const name of nativeKernelNames()) assert.ok(tf.getKernel(name, "native"), `${name} registered`);
  const cpu = tf.getKernelsForBackend("cpu").map((k) => k.kernelName);
  const native = tf.getKernelsForBackend("native").map((k) => k.kernelName);
  assert.deepEqual(native.filter((k) => !cpu.includes(k)).sort(), ["MagicAttention", "MagicAttentionGrad", "MagicSparseXent", "MagicSparseXentGrad", ...FUSED_KERNELS, BATCH_NORM_KERNEL, BATCH_NORM_GRAD_KERNEL].sort());
  assert.deepEqual(cpu.filter((k) => !native.includes(k)), []);
});

test("every native kernel has a test case", { skip: SKIP }, () => {
  const covered = new Set(CASES.flatMap((c) => c.kernels));
  assert.deepEqual(nativeKernelNames().filter((k) => !covered.has(k)), []);
});

test("native kernels match the cpu kernels (forward and gradient)", { skip: SKIP }, async (t) => {
  loadNativeBackend();
  let seed = 1;
  for (const c of CASES) await t.test(c.name, () => check(c, (seed += 10)));
});

const xentCase = (rows: number, vocab: number): Case => ({
  name: `masked softmax cross-entropy ${rows}x${vocab}`, kernels: [], inputs: [{ shape: [rows, vocab] }, { shape: [rows], kind: "int", max: vocab }, { shape: [rows], kind: "positive" }],
  f: (logits, labels, weights) => maskedSoftmaxCrossEntropy(logits as tf.Tensor2D, labels as tf.Tensor1D, weights as tf.Tensor1D),
});

test("fused cross-entropy: native kernels match the tfjs-ops path and tf.losses", { skip: SKIP }, async (t) => {
  loadNativeBackend();
  for (const [i, c] of [xentCase(33, 7), xentCase(5, 2000), xentCase(1, 2)].entries()) await t.test(c.name, () => check(c, 500 + i));
  await tf.setBackend("native");
  const logits = tf.randomNormal([9, 33], 0, 3, "float32", 5) as tf.Tensor2D;
  const labels = tf.tensor1d([0, 32, 5, 7, 7, 1, 2, 30, 31], "int32");
  const weights = tf.tensor1d([1, 0, 1, 1, 0, 1, 1, 1, 0]);
  const w = tf.variable(tf.scalar(1));
  const profile = await tf.profile(() => tf.grad((x: tf.Tensor) => maskedSoftmaxCrossEntropy(x as tf.Tensor2D, labels, weights))(logits));
  const names = profile.kernels.map((k) => k.name);
  assert.ok(names.includes("MagicSparseXent") && names.includes("MagicSparseXentGrad"), "fused kernels ran");
  const ours = maskedSoftmaxCrossEntropy(logits, labels, weights);
  const ref = tf.losses.softmaxCrossEntropy(tf.oneHot(labels, 33), logits, weights);
  assert.ok(Math.abs(ours.dataSync()[0] - ref.dataSync()[0]) <= 1e-5 * Math.abs(ref.dataSync()[0]));
  // Labels made inside the loss's tidy (as the supernet selects its masked rows) are gone by the backward pass.
  const { value, grads } = tf.variableGrads(() =>
    tf.tidy(() => tf.sum(sparseSoftmaxCrossEntropyRows(tf.mul(logits, w) as tf.Tensor2D, tf.add(labels, tf.scalar(0, "int32")) as tf.Tensor1D))),
  [w]);
  assert.ok(Number.isFinite(value.dataSync()[0]) && Number.isFinite(grads[w.name].dataSync()[0]));
  tf.dispose([logits, labels, weights, ours, ref, value, grads[w.name], w]);
});

test("exp, sigmoid and softmax agree with cpu elementwise at extreme inputs (relative 1e-6 per element)", { skip: SKIP }, async () => {
  loadNativeBackend();
  const xs = [-120, -104, -103.9, -100, -88, -50, -1e-3, 0, 1e-3, 50, 88.7, 88.8, 100, Infinity, -Infinity, NaN];
  const ops: [string, (x: tf.Tensor) => tf.Tensor][] = [
    ["exp", tf.exp], ["sigmoid", tf.sigmoid], ["softmax", (x) => tf.softmax(x.reshape([4, 4]).mul(10))],
  ];
  for (const [name, f] of ops) {
    const on = async (backend: string) => {
      await tf.setBackend(backend);
      return tf.tidy(() => Float32Array.from(f(tf.tensor1d(xs)).dataSync()));
    };
    const ref = await on("cpu");
    const got = await on("native");
    ref.forEach((r, i) => {
      if (Number.isNaN(r)) assert.ok(Number.isNaN(got[i]), `${name}(${xs[i]}) NaN`);
      else if (!Number.isFinite(r)) assert.equal(got[i], r, `${name}(${xs[i]})`);
      else assert.ok(Math.abs(got[i] - r) <= 1e-6 * Math.abs(r) + 1e-44, `${name}(${xs[i]}): ${got[i]} vs ${r}`);
    });
  }
});

test("GatherV2 rejects out-of-range indices", { skip: SKIP }, async () => {
  loadNativeBackend();
  await tf.setBackend("native");
  const x = tf.ones([3, 2]);
  const i = tf.tensor1d([0, 3], "int32");
  assert.throws(() => tf.gather(x, i), /index value 3 is not in \[0, 2\]/);
  tf.dispose([x, i]);
});

test("buffer pool never reuses memory that is still visible", { skip: SKIP }, async () => {
  loadNativeBackend();
  await tf.setBackend("native");
  const big = [64, 128]; // above the pool's minimum length
  const x = tf.randomNormal(big, 0, 1, "float32", 3);
  // dataSync hands out the backend's own array: it must survive the tensor's disposal.
  const e = tf.exp(x);
  const kept = e.dataSync();
  const copy = Float32Array.from(kept);
  e.dispose();
  // Views: the cpu kernel of Unpack returns subarrays of its input; the input must not be recycled.
  const stacked = tf.neg(x);
  const rows = tf.unstack(stacked);
  const row0 = Float32Array.from(rows[0].dataSync());
  stacked.dispose();
  const churn = Array.from({ length: 8 }, (_, i) => tf.mul(x, i + 2));
  assert.deepEqual(kept, copy);
  assert.deepEqual(Float32Array.from(rows[0].dataSync()), row0);
  // Freed intermediates are reused: a loop of same-shape ops does not grow the pool or the tensor count.
  tf.dispose([...churn, ...rows]);
  const backend = tf.backend() as NativeBackend;
  const tensorsBefore = tf.memory().numTensors;
  for (let i = 0; i < 20; i++) tf.tidy(() => tf.exp(x).mul(2).add(x)).dispose();
  const pooled = backend.poolBytes();
  for (let i = 0; i < 20; i++) tf.tidy(() => tf.exp(x).mul(2).add(x)).dispose();
  assert.equal(backend.poolBytes(), pooled);
  assert.equal(tf.memory().numTensors, tensorsBefore);
  x.dispose();
});

test("buffer pool is bounded and drops the least recently used sizes first", { skip: SKIP }, () => {
  const kb16 = 4096; // floats
  const backend = new NativeBackend({ maxBytes: 3 * kb16 * 4, minLength: 16 });
  const big = Array.from({ length: 5 }, () => backend.alloc(kb16));
  big.forEach((a) => backend.release(a));
  assert.equal(backend.poolBytes(), 3 * kb16 * 4);
  assert.ok(big.includes(backend.alloc(kb16)), "a released buffer is reused");
  const small = backend.alloc(kb16 / 2);
  backend.release(small);
  assert.equal(backend.poolBytes(), 2 * kb16 * 4 + (kb16 / 2) * 4);
  const more = [backend.alloc(kb16 / 2), backend.alloc(kb16 / 2), backend.alloc(kb16 / 2)];
  assert.equal(more[0], small);
  more.forEach((a) => backend.release(a));
  // 3 small buffers (24 KB) + 2 big (32 KB) exceed 48 KB: the big size, least recently used, goes first.
  assert.ok(backend.poolBytes() <= 3 * kb16 * 4);
  assert.ok(more.includes(backend.alloc(kb16 / 2)));
  backend.dispose();
});

test("Adam training of a transformer block follows the cpu backend's losses", { skip: SKIP }, async () => {
  loadNativeBackend();
  const losses = async (backend: string, loss: "tfjs" | "fused") => {
    await tf.setBackend(backend);
    const cfg = { ...BENCH_MODEL, batch: 2, seqLen: 8, hidden: 16, heads: 2, ffnInner: 32, vocab: 33, maskRate: 0.5, loss };
    const model = new BenchModel(cfg);
    const batch = benchBatch(cfg);
    const out = [model.step(batch)]; // creates Adam's moment slots
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) out.push(model.step(batch));
    assert.equal(tf.memory().numTensors, before, "no tensor leak per step");
    model.dispose();
    tf.dispose(Object.values(batch));
    return out;
  };
  const ref = await losses("cpu", "tfjs");
  for (const loss of ["tfjs", "fused"] as const) {
    const got = await losses("native", loss);
    got.forEach((l, i) => assert.ok(Math.abs(l - ref[i]) <= 1e-4 * Math.abs(ref[i]), `${loss} step ${i}: ${l} vs ${ref[i]}`));
  }
  assert.ok(ref[3] < ref[0], "the loss goes down");
});
