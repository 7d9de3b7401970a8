import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend";
import {
  accuracy, bootstrapCI, cosineSimilarity, f1Score, flatGradCosine, glueAverage, glueMetrics, glueTaskScore, kendallTau, matthewsCorrelation, mean,
  partialSpearman, pearson, percentileInterval, precisionAtK, ranks, spearman, std,
} from "../lib/metrics";
import { Rng } from "../lib/rng";

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

test("precision@k with ties: expected overlap under random tie-breaking, hand-computed", () => {
  // Predicted top-1 is one of three tied children, each with probability 1/3; the true best is child 0.
  close(precisionAtK([0, 0, 0, 1], [1, 2, 3, 4], 1), 1 / 3);
  // Child 3 is in; one of the four tied at 0 fills the second slot (1/4 each); true top-2 {3, 4}: (1 + 1/4) / 2.
  close(precisionAtK([0, 0, 0, -2, 0], [5, 4, 3, 1, 2], 2), 0.625);
  // Ties in the truth count the same way (independent tie-breaks): inclusion 1/2, 1/2 on both sides.
  close(precisionAtK([0, 0, 1, 1], [0, 0, 1, 1], 1), 0.5);
  // A tie that does not straddle the k-th value changes nothing.
  close(precisionAtK([0, 1, 1, 1], [0, 5, 6, 7], 1), 1);
  assert.ok(Number.isNaN(precisionAtK([0, NaN, 1], [1, 2, 3], 1)));
  assert.throws(() => precisionAtK([1, 2], [1, 2, 3], 1), /lengths differ/);
});

test("precision@k properties: plain set overlap without ties, symmetric, independent of the children's order", () => {
  const rng = new Rng(11);
  const naive = (p: number[], t: number[], k: number) => {
    const top = (a: number[]) => new Set(a.map((v, i) => [v, i]).sort((x, y) => x[0] - y[0]).slice(0, k).map((x) => x[1]));
    const tt = top(t);
    return [...top(p)].filter((i) => tt.has(i)).length / k;
  };
  for (let trial = 0; trial < 50; trial++) {
    const n = 2 + rng.int(12), k = 1 + rng.int(n);
    const cont = () => Array.from({ length: n }, () => rng.next());
    const coarse = () => Array.from({ length: n }, () => rng.int(3));
    const [a, b] = [cont(), cont()];
    close(precisionAtK(a, b, k), naive(a, b, k));
    const [c, d] = [coarse(), coarse()];
    close(precisionAtK(c, d, k), precisionAtK(d, c, k));
    const perm = rng.shuffle(Array.from({ length: n }, (_, i) => i));
    close(precisionAtK(perm.map((i) => c[i]), perm.map((i) => d[i]), k), precisionAtK(c, d, k));
    const v = precisionAtK(c, d, k);
    assert.ok(v >= 0 && v <= 1);
  }
});

test("kendall tau-b equals the tie-group formula (C - D) / sqrt((n0 - n1)(n0 - n2)), and its symmetries", () => {
  const tieTerm = (a: number[]) => {
    const counts = new Map<number, number>();
    for (const x of a) counts.set(x, (counts.get(x) ?? 0) + 1);
    return [...counts.values()].reduce((s, t) => s + (t * (t - 1)) / 2, 0);
  };
  const naiveTauB = (a: number[], b: number[]) => {
    let c = 0, d = 0;
    for (let i = 0; i < a.length; i++) {
      for (let j = 0; j < i; j++) {
        const p = (a[i] - a[j]) * (b[i] - b[j]);
        if (p > 0) c++;
        else if (p < 0) d++;
      }
    }
    const n0 = (a.length * (a.length - 1)) / 2;
    return (c - d) / Math.sqrt((n0 - tieTerm(a)) * (n0 - tieTerm(b)));
  };
  const rng = new Rng(5);
  for (let trial = 0; trial < 50; trial++) {
    const n = 2 + rng.int(15);
    const a = Array.from({ length: n }, () => rng.int(4)), b = Array.from({ length: n }, () => rng.int(5));
    if (new Set(a).size < 2 || new Set(b).size < 2) continue;
    const tau = kendallTau(a, b);
    close(tau, naiveTauB(a, b));
    close(kendallTau(b, a), tau);
    close(kendallTau(a, b.map((x) => -x)), -tau);
    close(kendallTau(a.map((x) => Math.exp(x)), b), tau); // only the order matters
  }
  assert.ok(Number.isNaN(kendallTau([1, 1, 1], [1, 2, 3]))); // a constant input has no untied pair
  assert.throws(() => kendallTau([], []), /empty/);
});

test("percentileInterval: numpy's linear quantiles, NaN dropped", () => {
  assert.deepEqual(percentileInterval([5, 1, 4, 2, 3], 0.5), [2, 4]); // positions 1 and 3 of the sorted values
  const [lo, hi] = percentileInterval([1, 2, 3, 4, 5]); // positions 0.1 and 3.9
  close(lo, 1.1);
  close(hi, 4.9);
  assert.deepEqual(percentileInterval([NaN, 3, NaN, 1], 0.5), [1.5, 2.5]);
  assert.deepEqual(percentileInterval([NaN]), [NaN, NaN]);
  assert.deepEqual(percentileInterval([7]), [7, 7]);
  assert.throws(() => percentileInterval([1, 2], 1), /alpha/);
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

test("GLUE metrics on hand-computed values", () => {
  // TP = 3 (0, 4, 6), FN = 1 (1), TN = 2 (2, 5), FP = 2 (3, 7).
  const labels = [1, 1, 0, 0, 1, 0, 1, 0];
  const preds = [1, 0, 0, 1, 1, 0, 1, 1];
  assert.equal(accuracy(labels, preds), 5 / 8);
  assert.equal(f1Score(labels, preds), 6 / 9); // 2TP / (2TP + FP + FN)
  assert.ok(Math.abs(matthewsCorrelation(labels, preds) - 4 / Math.sqrt(240)) < 1e-15); // (3*2 - 2*1) / sqrt(5*4*4*3)
  assert.equal(matthewsCorrelation(labels, labels), 1);
  assert.equal(matthewsCorrelation(labels, labels.map((y) => 1 - y)), -1);
  // Degenerate cases as scikit-learn: no positive prediction or label gives F1 0, an empty margin MCC 0.
  assert.equal(f1Score([1, 0, 1], [0, 0, 0]), 0);
  assert.equal(f1Score([0, 0], [0, 0]), 0);
  assert.equal(matthewsCorrelation([1, 0, 1], [0, 0, 0]), 0);
  assert.equal(accuracy([0, 2, 1], [0, 1, 1]), 2 / 3, "accuracy takes any class ids");
  assert.throws(() => f1Score([0, 2], [0, 1]), /must be 0 or 1, got 2 and 1 at 1/);
  assert.throws(() => accuracy([1], [1, 0]), /lengths differ/);

  // STS-B: ranks of the predictions are [1, 2, 4, 3], so Spearman = 1 - 6 * 2 / (4 * 15) = 0.8; Pearson
  // = 40 / sqrt(5 * 500) = 0.8 (deviations [-1.5, -0.5, 0.5, 1.5] and [-15, -5, 15, 5]).
  const m = glueMetrics(["pearson", "spearman"], [1, 2, 3, 4], [10, 20, 40, 30]);
  assert.deepEqual(Object.keys(m), ["pearson", "spearman"]);
  assert.ok(Math.abs(m.pearson! - 0.8) < 1e-12 && Math.abs(m.spearman! - 0.8) < 1e-12);
  const mrpc = glueMetrics(["f1", "accuracy"], labels, preds);
  assert.deepEqual(mrpc, { f1: 6 / 9, accuracy: 5 / 8 });
  assert.equal(glueTaskScore(mrpc), (6 / 9 + 5 / 8) / 2, "MRPC's GLUE score is the mean of F1 and accuracy");
  assert.equal(glueTaskScore({ matthews: 0.25 }), 0.25);
  assert.equal(glueAverage([0.75, 0.5, 0.25]), 0.5);
});

test("partial Spearman: within strata, and given a covariate (hand-computed)", () => {
  // Two strata, each with the opposite order: pooled ranks agree (rho 0.6), within strata they disagree (-1).
  const x = [1, 2, 3, 4], y = [2, 1, 4, 3];
  close(spearman(x, y), 0.6);
  close(partialSpearman(x, y, { strata: ["a", "a", "b", "b"] }), -1);
  close(partialSpearman(x, y), 0.6); // no strata, no covariates: plain Spearman
  // One covariate: rho_xy = 0.8, rho_xz = 0.8, rho_yz = 0.3 (1 - 6 sum d^2 / (n (n^2 - 1)) with sum d^2 = 4, 4, 14),
  // so rho_xy.z = (0.8 - 0.8 * 0.3) / sqrt((1 - 0.64) (1 - 0.09)) = 0.56 / sqrt(0.3276).
  const a = [1, 2, 3, 4, 5], b = [2, 1, 4, 3, 5], z = [1, 3, 2, 5, 4];
  close(partialSpearman(a, b, { covariates: [z] }), 0.56 / Math.sqrt(0.3276), 1e-12);
  // A stratum where `a` is constant (e.g. input cosine 1 when only later layers differ) adds no covariance, only
  // `b`'s variance. Global ranks: a [2, 2, 2, 4, 5, 6], b [5, 6, 1.5, 3, 1.5, 4]; deviations from the stratum
  // means: a [0, 0, 0, -1, 0, 1], b [5, 11, -16, 1, -8, 7] / 6; so sab = 1, saa = 2, sbb = 516 / 36 = 43 / 3.
  close(partialSpearman([1, 1, 1, 2, 3, 4], [5, 9, 1, 2, 1, 4], { strata: [0, 0, 0, 1, 1, 1] }), 1 / Math.sqrt(2 * 43 / 3), 1e-12);
  assert.ok(Number.isNaN(partialSpearman([1, 1, 2, 2], [1, 2, 3, 4], { strata: [0, 0, 1, 1] })), "nothing varies within strata");
  assert.throws(() => partialSpearman(a, b, { strata: [0] }), /strata has 1 entries/);
  assert.throws(() => partialSpearman(a, b, { covariates: [[1, 2]] }), /covariate 0 has 2 entries/);
});
