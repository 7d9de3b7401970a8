// batchNormTrain (lib/native/batchnorm.ts): the native kernels on the "native" backend and the tfjs composition on
// the stock cpu backend, both against the plain formula differentiated by tfjs (tf.moments, tf.relu6, no
// customGrad) on cpu: y, the batch statistics and the gradients wrt x, gamma and beta (tf.grads with a random
// upstream dy), on odd sizes, ranks 2 and 4, with and without ReLU6 (inputs reach both clamps). Error measure
// (normwise relative, helpers/kernel-check.ts): 1e-5. Further: which kernels ran, no tensor leaks, running
// statistics update, bad shapes throw. Without the addon: see helpers/native.ts.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { assertClose, uniform } from "./helpers/kernel-check";
import { BATCH_NORM_GRAD_KERNEL, BATCH_NORM_KERNEL, batchNormTrain, updateRunningStats } from "../lib/native/batchnorm";
import { loadNativeBackend } from "../lib/native/index";
import { nativeSkip } from "./helpers/native";

const SKIP = nativeSkip();
const TOL = 1e-5;
const EPS = 1e-3;

/** Uniform in [-3, 3) plus `shift`: gamma up to 3 and beta up to 3 push the pre-activation past 0 and 6. */
function randoms(shape: number[], next: () => number, shift = 0): Float32Array {
  return Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => 6 * next() - 3 + shift);
}

const axesOf = (x: tf.Tensor) => [...Array(x.rank - 1).keys()];

/** The formula, differentiated by tfjs through the statistics. */
function plain(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, relu6: boolean): tf.Tensor[] {
  const { mean, variance } = tf.moments(x, axesOf(x));
  const pre = tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, EPS))), gamma), beta);
  return [relu6 ? tf.relu6(pre) : pre, mean, variance];
}

function lib(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, relu6: boolean): tf.Tensor[] {
  const r = batchNormTrain(x, gamma as tf.Tensor1D, beta as tf.Tensor1D, { eps: EPS, relu6 });
  return [r.y, r.mean, r.variance];
}

type Impl = typeof plain;

/** y, mean, variance and the gradients of sum(y * dy) wrt x, gamma, beta on the current backend. */
function run(impl: Impl, shape: number[], relu6: boolean, seed: number): Float32Array[] {
  const next = uniform(seed);
  const c = shape[shape.length - 1];
  return tf.tidy(() => {
    const x = tf.tensor(randoms(shape, next, 1.5), shape); // a mean away from 0
    const gamma = tf.tensor(randoms([c], next), [c]);
    const beta = tf.tensor(randoms([c], next), [c]);
    const dy = tf.tensor(randoms(shape, next), shape);
    const stats = impl(x, gamma, beta, relu6);
    const grads = tf.grads((a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => impl(a, g, b, relu6)[0])([x, gamma, beta], dy);
    return [...stats, ...grads].map((t) => Float32Array.from(t.dataSync()));
  });
}

const SHAPES = [[7, 33], [4, 5, 5, 3], [2, 9, 9, 17], [64, 1, 1, 5]];
const NAMES = ["y", "mean", "variance", "dx", "dgamma", "dbeta"];

test("batchNormTrain matches the differentiated formula on the native and cpu backends", { skip: SKIP }, async (t) => {
  loadNativeBackend();
  let seed = 500;
  for (const shape of SHAPES) {
    for (const relu6 of [false, true]) {
      await t.test(`[${shape}] relu6 ${relu6}`, async () => {
        seed += 10;
        await tf.setBackend("cpu");
        const ref = run(plain, shape, relu6, seed);
        const composed = run(lib, shape, relu6, seed);
        await tf.setBackend("native");
        let got: Float32Array[] = [];
        const profile = await tf.profile(() => {
          got = run(lib, shape, relu6, seed);
        });
        const ran = new Set(profile.kernels.map((k) => k.name));
        assert.ok(ran.has(BATCH_NORM_KERNEL) && ran.has(BATCH_NORM_GRAD_KERNEL), `native kernels ran: ${[...ran]}`);
        ref.forEach((r, i) => {
          assertClose(composed[i], r, TOL, `cpu composition ${NAMES[i]}`);
          assertClose(got[i], r, TOL, `native ${NAMES[i]}`);
        });
      });
    }
  }
});

test("batchNormTrain leaks no tensor and hands its statistics to the caller's scope", { skip: SKIP }, async () => {
  loadNativeBackend();
  for (const backend of ["native", "cpu"]) {
    await tf.setBackend(backend);
    const x = tf.randomNormal([3, 4, 4, 6], 0, 1, "float32", 1);
    const gamma = tf.ones([6]) as tf.Tensor1D;
    const beta = tf.zeros([6]) as tf.Tensor1D;
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      const f = (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => batchNormTrain(a, g as tf.Tensor1D, b as tf.Tensor1D, { relu6: true }).y;
      tf.grads(f)([x, gamma, beta]);
      batchNormTrain(x, gamma, beta);
    });
    assert.equal(tf.memory().numTensors, before, `${backend}: tensors leaked through tidy`);
    const r = batchNormTrain(x, gamma, beta);
    assert.equal(tf.memory().numTensors, before + 3, `${backend}: y, mean and variance are the caller's`);
    tf.dispose([r.y, r.mean, r.variance]);
    assert.equal(tf.memory().numTensors, before, `${backend}: disposing the three frees everything`);
    tf.dispose([x, gamma, beta]);
  }
});

test("updateRunningStats follows PyTorch's momentum update with the unbiased variance", { skip: SKIP }, async () => {
  loadNativeBackend();
  await tf.setBackend("native");
  const data = [1, 10, 2, 20, 4, 40, 9, 90]; // x [4, 2]: channel 0 = 1, 2, 4, 9; channel 1 = 10x
  const x = tf.tensor2d(data, [4, 2]);
  const running = { mean: tf.variable(tf.tensor1d([1, 2])), variance: tf.variable(tf.tensor1d([1, 1])) };
  const batch = batchNormTrain(x, tf.ones([2]) as tf.Tensor1D, tf.zeros([2]) as tf.Tensor1D);
  updateRunningStats(running, batch, 0.25);
  const ch0 = [1, 2, 4, 9];
  const mean0 = ch0.reduce((a, b) => a + b) / 4;
  const unbiased0 = ch0.reduce((a, v) => a + (v - mean0) ** 2, 0) / 3;
  const expectMean = [0.75 * 1 + 0.25 * mean0, 0.75 * 2 + 0.25 * 10 * mean0];
  const expectVar = [0.75 + 0.25 * unbiased0, 0.75 + 0.25 * 100 * unbiased0];
  assertClose(Float32Array.from(running.mean.dataSync()), Float32Array.from(expectMean), 1e-6, "running mean");
  assertClose(Float32Array.from(running.variance.dataSync()), Float32Array.from(expectVar), 1e-6, "running variance");
  assert.equal(batch.count, 4);
  assert.throws(() => updateRunningStats(running, { ...batch, count: 1 }), /needs >= 2 values per channel/);
  tf.dispose([x, batch.y, batch.mean, batch.variance, running.mean, running.variance]);
});

test("batchNormTrain rejects mismatched shapes", { skip: SKIP }, async () => {
  loadNativeBackend();
  await tf.setBackend("native");
  tf.tidy(() => {
    const x = tf.zeros([2, 3, 3, 4]);
    const [g3, g4, b4] = [tf.ones([3]), tf.ones([4]), tf.zeros([4])] as tf.Tensor1D[];
    assert.throws(() => batchNormTrain(x, g3, b4), /batchNormTrain: expected float32 x \[\.\.\., C\]/);
    assert.throws(() => batchNormTrain(tf.zeros([4]), g4, b4), /rank >= 2/);
    assert.throws(() => batchNormTrain(x, g4, b4, { eps: -1 }), /eps must be/);
  });
});
