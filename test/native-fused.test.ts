// The fused LayerNorm, GELU and depthwise conv (lib/native/fused.ts) on the native backend against the plain
// tfjs formulas (tfjs autodiff, no customGrad) on the stock cpu backend: forward values and the gradients wrt
// every input (tf.grads with a random upstream dy), on odd sizes. Error measure (normwise relative):
// max |native - cpu| <= 1e-5 * max |cpu|, per output. Each case also asserts that exactly the two fused
// kernels ran; further tests: bad shapes throw (in TS and in the C glue), no tensor leaks, and the ops refuse
// to run on a backend without the kernels. Without the addon: see helpers/native.ts.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { assertClose, uniform } from "./helpers/kernel-check";
import { loadAddon } from "../lib/native/addon";
import {
  DWCONV_GRAD_KERNEL, DWCONV_KERNEL, GELU_GRAD_KERNEL, GELU_KERNEL, LAYER_NORM_GRAD_KERNEL, LAYER_NORM_KERNEL,
  depthwiseConv1d, fusedOpsAvailable, gelu, layerNorm,
} from "../lib/native/fused";
import { loadNativeBackend } from "../lib/native/index";
import { nativeSkip } from "./helpers/native";

const SKIP = nativeSkip();
const TOL = 1e-5;
const EPS = 1e-5;

/** Uniform in [-3, 3). */
function randoms(shape: number[], next: () => number): Float32Array {
  return Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => 6 * next() - 3);
}

const plainLayerNorm = (x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor) => {
  const xc = tf.sub(x, tf.mean(x, -1, true)); // [N, D]
  const rstd = tf.rsqrt(tf.add(tf.mean(tf.square(xc), -1, true), EPS)); // [N, 1]
  return tf.add(tf.mul(tf.mul(xc, rstd), gamma), beta);
};
const plainGelu = (x: tf.Tensor) => tf.mul(x, tf.sigmoid(tf.mul(x, 1.702)));
/** lib/nas/ops.ts SepConvBlock's depthwise conv: a sum of shifted slices of the zero-padded sequence. */
const plainDepthwise = (x: tf.Tensor, w: tf.Tensor, bias: tf.Tensor) => {
  const [b, t, d] = x.shape;
  const pad = (w.shape[0] - 1) / 2;
  const xp = tf.pad(x, [[0, 0], [pad, pad], [0, 0]]); // [B, T+K-1, D]
  const taps = Array.from({ length: w.shape[0] }, (_, j) => tf.mul(tf.slice(xp, [0, j, 0], [b, t, d]), tf.slice(w, [j, 0], [1, d])));
  return tf.add(tf.addN(taps), bias); // [B, T, D]
};

/** Output (shaped like the first input) and the gradients wrt all inputs on the current backend, as plain arrays. */
function run(f: (...xs: tf.Tensor[]) => tf.Tensor, shapes: number[][], data: Float32Array[], dySeed: number): Float32Array[] {
  return tf.tidy(() => {
    const xs = shapes.map((s, i) => tf.tensor(data[i], s));
    const dy = tf.tensor(randoms(shapes[0], uniform(dySeed)), shapes[0]);
    const { value, grads } = tf.valueAndGrads(f)(xs, dy);
    return [value, ...grads].map((t) => Float32Array.from(t.dataSync()));
  });
}

async function compare(name: string, shapes: number[][], plain: (...xs: tf.Tensor[]) => tf.Tensor,
  fused: (...xs: tf.Tensor[]) => tf.Tensor, kernels: string[], seed: number): Promise<void> {
  const next = uniform(seed);
  const data = shapes.map((s) => randoms(s, next));
  await tf.setBackend("cpu");
  const ref = run(plain, shapes, data, seed + 1);
  await tf.setBackend("native");
  let got: Float32Array[] = [];
  const profile = await tf.profile(() => {
    got = run(fused, shapes, data, seed + 1);
  });
  // Besides scopes, tfjs's profile lists the Identity kernels that save tensors for the backward pass.
  const ran = profile.kernels.map((k) => k.name).filter((k) => k !== "Identity" && tf.getKernel(k, "native"));
  assert.deepEqual(ran, kernels, `${name}: kernels that ran`);
  got.forEach((g, i) => assertClose(g, ref[i], TOL, `${name} ${i === 0 ? "forward" : `grad ${i - 1}`}`));
}

const ln = (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => layerNorm(x as tf.Tensor2D, g as tf.Tensor1D, b as tf.Tensor1D, EPS);
const dw = (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => depthwiseConv1d(x as tf.Tensor3D, w as tf.Tensor2D, b as tf.Tensor1D);

test("fused layerNorm matches the tfjs formula on cpu", { skip: SKIP }, async (t) => {
  loadNativeBackend();
  let seed = 100;
  for (const n of [7, 33]) {
    for (const d of [1, 5, 64]) {
      await t.test(`[${n}, ${d}]`, () => compare(`layerNorm [${n}, ${d}]`, [[n, d], [d], [d]], plainLayerNorm, ln,
        [LAYER_NORM_KERNEL, LAYER_NORM_GRAD_KERNEL], (seed += 10)));
    }
  }
});

test("fused gelu matches the tfjs formula on cpu", { skip: SKIP }, async (t) => {
  loadNativeBackend();
  let seed = 200;
  for (const shape of [[1], [7, 33], [3, 5, 64]]) {
    await t.test(JSON.stringify(shape), () => compare(`gelu ${JSON.stringify(shape)}`, [shape], plainGelu, (x) => gelu(x),
      [GELU_KERNEL, GELU_GRAD_KERNEL], (seed += 10)));
  }
});

test("fused depthwiseConv1d matches the shifted-slices formula on cpu", { skip: SKIP }, async (t) => {
  loadNativeBackend();
  let seed = 300;
  // [B, T, D, K]: K = 1 (no padding), K > T (every tap partly out of range), T = 1, D = 1.
  const sizes = [[1, 1, 1, 1], [1, 5, 5, 3], [3, 5, 64, 7], [3, 32, 5, 7], [1, 32, 64, 3], [3, 1, 5, 3], [1, 5, 1, 7], [3, 32, 64, 1]];
  for (const [b, tt, d, k] of sizes) {
    await t.test(`B=${b} T=${tt} D=${d} K=${k}`, () => compare(`depthwiseConv1d B=${b} T=${tt} D=${d} K=${k}`,
      [[b, tt, d], [k, d], [d]], plainDepthwise, dw, [DWCONV_KERNEL, DWCONV_GRAD_KERNEL], (seed += 10)));
  }
});

test("fused gelu at extreme inputs: same values and gradients as the tfjs formula (relative 1e-5 per element)", { skip: SKIP }, async () => {
  loadNativeBackend();
  const xs = tf.tensor1d([-1e30, -100, -60, -50, -20, -1e-3, 0, 1e-3, 5, 20, 50, 60, 100, 1e30, Infinity, -Infinity, NaN]);
  const on = async (backend: string, f: (x: tf.Tensor) => tf.Tensor) => {
    await tf.setBackend(backend);
    return tf.tidy(() => [f(xs), tf.grad(f)(xs)].map((t) => Float32Array.from(t.dataSync())));
  };
  const ref = await on("cpu", plainGelu);
  const got = await on("native", (x) => gelu(x));
  ref.forEach((r, k) => r.forEach((v, i) => {
    const what = `${k === 0 ? "gelu" : "gelu'"}(${xs.dataSync()[i]}): ${got[k][i]} vs ${v}`;
    if (Number.isNaN(v)) assert.ok(Number.isNaN(got[k][i]), what);
    else if (!Number.isFinite(v)) assert.equal(got[k][i], v, what);
    else assert.ok(Math.abs(got[k][i] - v) <= 1e-5 * Math.abs(v) + 1e-44, what);
  }));
  xs.dispose();
});

test("fused ops leave no tensors behind (forward and forward + backward)", { skip: SKIP }, async () => {
  loadNativeBackend();
  await tf.setBackend("native");
  const x = tf.randomNormal([3, 5, 8]) as tf.Tensor3D;
  const w = tf.randomNormal([3, 8]) as tf.Tensor2D;
  const v = tf.randomNormal([8]) as tf.Tensor1D;
  const step = (withGrads: boolean) => tf.tidy(() => {
    const f = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
      gelu(ln(tf.reshape(dw(a, b, c), [15, 8]), c, c)).sum();
    if (withGrads) tf.grads(f)([x, w, v]);
    else f(x, w, v);
  });
  const before = tf.memory().numTensors;
  step(false);
  step(true);
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([x, w, v]);
});

test("fused ops reject bad shapes and dtypes with clear errors", { skip: SKIP }, async () => {
  loadNativeBackend();
  await tf.setBackend("native");
  const before = tf.memory().numTensors;
  tf.tidy(() => {
    const x = tf.ones([4, 6]) as tf.Tensor2D;
    assert.throws(() => layerNorm(x, tf.ones([5]), tf.zeros([6]), EPS), /layerNorm: expected float32 x \[N, D\].*got x float32 \[4,6\], gamma float32 \[5\]/);
    assert.throws(() => layerNorm(x, tf.ones([6]), tf.zeros([5]), EPS), /layerNorm: expected/);
    assert.throws(() => layerNorm(tf.ones([2, 2, 6]) as unknown as tf.Tensor2D, tf.ones([6]), tf.zeros([6]), EPS), /layerNorm: expected/);
    assert.throws(() => layerNorm(x, tf.ones([6]), tf.zeros([6]), NaN), /layerNorm: eps must be/);
    assert.throws(() => gelu(tf.ones([3], "int32")), /gelu: expected float32 x; got x int32 \[3\]/);
    const x3 = tf.ones([2, 5, 6]) as tf.Tensor3D;
    assert.throws(() => depthwiseConv1d(x3, tf.ones([2, 6]), tf.zeros([6])), /depthwiseConv1d: expected float32 .*K odd/);
    assert.throws(() => depthwiseConv1d(x3, tf.ones([3, 5]), tf.zeros([6])), /depthwiseConv1d: expected/);
    assert.throws(() => depthwiseConv1d(x3, tf.ones([3, 6]), tf.zeros([5])), /depthwiseConv1d: expected/);
    assert.throws(() => depthwiseConv1d(x as unknown as tf.Tensor3D, tf.ones([3, 6]), tf.zeros([6])), /depthwiseConv1d: expected/);
    assert.equal(gelu(x).shape.join(), "4,6", "the engine still works after the errors");
  });
  assert.equal(tf.memory().numTensors, before);
});

test("the C glue throws on size mismatches instead of touching memory", { skip: SKIP }, () => {
  const addon = loadAddon();
  const f = (n: number) => new Float32Array(n);
  assert.throws(() => addon.geluForward(f(3), f(2)), /^Error: geluForward: argument 1 \(y\) has 2 elements, expected 3/);
  assert.throws(() => addon.geluBackward(f(3), f(3), f(4)), /geluBackward: argument 2 \(dx\) has 4 elements/);
  assert.throws(() => addon.layerNormForward(f(12), f(4), f(4), EPS, f(12), f(5)), /layerNormForward: argument 5 \(stats\)/);
  assert.throws(() => addon.layerNormForward(f(12), f(4), f(4), EPS, f(12), f(4)), /layerNormForward: argument 0 \(x\) has 12 elements, expected 8/);
  assert.throws(() => addon.layerNormForward(f(12), f(4), f(3), EPS, f(12), f(6)), /layerNormForward: argument 2 \(beta\)/);
  assert.throws(() => addon.layerNormBackward(f(12), f(4), f(6), f(12), f(12), f(4), f(3)), /layerNormBackward: argument 6 \(dbeta\)/);
  assert.throws(() => addon.layerNormBackward(f(12), f(4), f(6), f(12), f(11), f(4), f(4)), /layerNormBackward: argument 4 \(dx\)/);
  assert.throws(() => addon.depthwiseConv1dForward(f(30), f(18), f(6), f(30), 2, 3), /depthwiseConv1dForward: argument 0 \(x\) has 30 elements, expected 36/);
  assert.throws(() => addon.depthwiseConv1dForward(f(30), f(12), f(6), f(30), 1, 5), /depthwiseConv1dForward: argument 1 \(w\)/); // K = 2
  assert.throws(() => addon.depthwiseConv1dBackward(f(30), f(18), f(30), f(30), f(12), f(6), 1, 5), /depthwiseConv1dBackward: argument 4 \(dw\)/);
  assert.throws(() => addon.geluForward(new Float64Array(3) as unknown as Float32Array, f(3)), /geluForward: argument 0 \(x\) must be a Float32Array, got Float64Array/);
});

test("fused ops are only available where their kernels are registered", { skip: SKIP }, async () => {
  loadNativeBackend();
  await tf.setBackend("native");
  assert.equal(fusedOpsAvailable(), true);
  await tf.setBackend("cpu");
  assert.equal(fusedOpsAvailable(), false);
  tf.tidy(() => {
    const x = tf.ones([2, 3]) as tf.Tensor2D;
    assert.throws(() => gelu(x), /gelu: fused kernels are not registered for backend 'cpu'/);
    assert.throws(() => layerNorm(x, tf.ones([3]), tf.zeros([3]), EPS), /layerNorm: fused kernels are not registered/);
    assert.throws(() => depthwiseConv1d(tf.ones([1, 2, 3]), tf.ones([1, 3]), tf.zeros([3])), /depthwiseConv1d: fused kernels/);
  });
});
