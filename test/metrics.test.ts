import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend";
import {
  bootstrapCI, cosineSimilarity, flatGradCosine, kendallTau, mean, pearson, precisionAtK, ranks, spearman, std,
} from "../lib/metrics";

const close = (a: number, b: number, eps = 1e-12) => assert.ok(Math.abs(a - b) <= eps, `${a} != ${b}`);

test("mean / std (sample and population)", () => {
  const x = [2, 4, 4, 4, 5, 5, 7, 9];
  close(mean(x), 5);
  close(std(x, 0), 2); // population: sqrt(32/8)
  close(std(x), Math.sqrt(32 / 7));
  assert.throws(() => mean([]), /empty/);
});

test("cosine similarity", () => {
  close(cosineSimilarity([1, 0], [0, 1]), 0);
  close(cosineSimilarity([1, 2, 3], [2, 4, 6]), 1);
  close(cosineSimilarity([1, 1], [-1, -1]), -1);
  close(cosineSimilarity([3, 4], [4, 3]), 24 / 25);
  assert.throws(() => cosineSimilarity([1], [1, 2]), /lengths differ/);
});

test("pearson / spearman / average ranks, hand-computed (match scipy)", () => {
  const x = [1, 2, 2, 3, 4], y = [2, 1, 3, 3, 4];
  // dx = [-1.4,-.4,-.4,.6,1.6], dy = [-.6,-1.6,.4,.4,1.4]: 3.8 / sqrt(5.2 * 5.2)
  close(pearson(x, y), 19 / 26, 1e-12);
  assert.deepEqual(ranks([3, 1, 4, 1, 5, 9, 2, 6, 5]), [4, 1.5, 5, 1.5, 6.5, 9, 3, 8, 6.5]);
  // ranks x = [1,2.5,2.5,4,5], y = [2,1,3.5,3.5,5]; scipy.stats.spearmanr = 0.7631578947368421 = 29/38
  close(spearman(x, y), 29 / 38, 1e-12);
  close(spearman([1, 2, 3, 4], [10, 20, 30, 1000]), 1);
  assert.ok(Number.isNaN(pearson([1, 1, 1], [1, 2, 3])));
});

test("kendall tau-b with ties (match scipy.stats.kendalltau)", () => {
  // 10 pairs: S = C - D = 7 - 1 = 6; one tie in x, one in y → 9 untied pairs each: 6 / sqrt(9 * 9)
  close(kendallTau([1, 2, 2, 3, 4], [2, 1, 3, 3, 4]), 2 / 3, 1e-12);
  // scipy: 0.41666666666666674 (= 5/12: S = 5, 12 untied pairs in each)
  close(kendallTau([1, 1, 2, 2, 3, 3], [1, 2, 1, 3, 3, 2]), 5 / 12, 1e-12);
  close(kendallTau([1, 2, 3], [3, 2, 1]), -1);
});

test("precision@k for lower-is-better losses", () => {
  const truth = [0.1, 0.2, 0.3, 0.4, 0.5]; // best two: 0, 1
  close(precisionAtK([0.1, 0.2, 0.3, 0.4, 0.5], truth, 2), 1);
  close(precisionAtK([0.1, 0.9, 0.2, 0.8, 0.7], truth, 2), 0.5); // predicted {0, 2}
  close(precisionAtK([0.9, 0.8, 0.1, 0.2, 0.3], truth, 2), 0);
  close(precisionAtK([0.9, 0.8, 0.1, 0.2, 0.3], truth, 5), 1);
  assert.throws(() => precisionAtK(truth, truth, 0), /k must be/);
});

test("bootstrapCI: seeded, brackets the estimate, paired mode, shrinks with n", () => {
  const data = Array.from({ length: 200 }, (_, i) => Math.sin(i * 12.9898) * 3 + 10);
  const ci = bootstrapCI(data, mean, { seed: 1 });
  assert.deepEqual(bootstrapCI(data, mean, { seed: 1 }), ci);
  assert.notDeepEqual(bootstrapCI(data, mean, { seed: 2 }), ci);
  const m = mean(data);
  assert.ok(ci[0] < m && m < ci[1], `${ci} vs ${m}`);
  // Width close to the normal approximation 2 * 1.96 * sd / sqrt(n).
  const width = 2 * 1.96 * std(data) / Math.sqrt(data.length);
  assert.ok(Math.abs(ci[1] - ci[0] - width) / width < 0.2, `width ${ci[1] - ci[0]} vs ${width}`);
  const small = bootstrapCI(data.slice(0, 20), mean, { seed: 1 });
  assert.ok(small[1] - small[0] > ci[1] - ci[0]);

  const a = data.slice(0, 50), b = a.map((v, i) => v + Math.cos(i) * 0.5);
  const [lo, hi] = bootstrapCI([a, b], kendallTau, { seed: 3, resamples: 300 });
  const tau = kendallTau(a, b);
  assert.ok(lo <= tau && tau <= hi && lo > 0.5 && hi <= 1, `[${lo}, ${hi}] tau=${tau}`);
  assert.deepEqual(bootstrapCI([1, 1, 1], (s) => pearson(s, s)), [NaN, NaN]);
});

test("flatGradCosine equals the cosine of the concatenated gradients and leaks no tensors", async () => {
  await initBackend({ quiet: true });
  const a = [tf.tensor2d([[1, 2], [3, 4]]), tf.tensor1d([5, -1])];
  const b = [tf.tensor2d([[0, 1], [2, 1]]), tf.tensor1d([-3, 2])];
  const before = tf.memory().numTensors;
  const got = flatGradCosine(a, b);
  assert.equal(tf.memory().numTensors, before);
  close(got, cosineSimilarity([1, 2, 3, 4, 5, -1], [0, 1, 2, 1, -3, 2]), 1e-6);
  assert.throws(() => flatGradCosine(a, [b[1], b[0]]), /shapes differ/);
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([...a, ...b]);
});
