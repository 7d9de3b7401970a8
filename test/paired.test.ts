import { test } from "node:test";
import assert from "node:assert/strict";
import {
  claimVerdict, clusteredBootstrap, clusteredReplicates, meanTauBootstrap, pairedEffect, pairedPermutationTest, pairedTauBootstrap, pairedTauPower, signTest, studentTQuantile,
} from "../lib/paired";
import { Rng } from "../lib/rng";
import { bootstrapCI, mean } from "../lib/metrics";

const close = (a: number, b: number, eps = 1e-12) => assert.ok(Math.abs(a - b) <= eps, `${a} != ${b}`);
const zeros = (n: number) => new Array<number>(n).fill(0);

test("permutation test, hand-computed exact p-values", () => {
  // 3 seeds all positive: only the all-plus and all-minus flips reach |sum| = 6 → 2/8.
  const three = pairedPermutationTest([1, 2, 3], [0, 0, 0]);
  assert.deepEqual(three, { n: 3, meanDiff: 2, pValue: 0.25, exact: true });
  // d = [4, 3, 2, -1], |sum| 8: of ±4±3±2±1 only ±10 and ±8 (the 1 flipped) reach 8 → 4/16.
  close(pairedPermutationTest([4, 3, 2, -1], zeros(4)).pValue, 0.25);
  // 6 seeds all positive: 2/64, the fewest seeds for which p <= 0.05 is possible.
  close(pairedPermutationTest([1, 2, 3, 4, 5, 6], zeros(6)).pValue, 2 / 64);
  close(pairedPermutationTest([1, 2, 3, 4, 5], zeros(5)).pValue, 2 / 32);
  // One seed, or no difference at all: every flip is as extreme → p = 1.
  assert.equal(pairedPermutationTest([0.3], [0.1]).pValue, 1);
  const same = pairedPermutationTest([0.2, 0.5, 0.7], [0.2, 0.5, 0.7]);
  assert.equal(same.pValue, 1);
  assert.equal(same.meanDiff, 0);
});

test("permutation test: rounding-proof, symmetric in a and b, invariant to scale", () => {
  // 0.1 + 0.2 - 0.3 + 0.5 and -0.1 - 0.2 + 0.3 + 0.5 differ in the last bit; both must count as extreme,
  // exactly as with the integer differences [1, 2, -3, 5].
  const scaled = pairedPermutationTest([0.1, 0.2, -0.3, 0.5], zeros(4));
  const integer = pairedPermutationTest([1, 2, -3, 5], zeros(4));
  assert.equal(scaled.pValue, integer.pValue);
  // By hand: |±1±2±3+5| >= 5 for +5 with sums of ±1±2±3 in {-6,-4,-2,0,0,2,4,6} that are >= 0 (5 of 8), doubled.
  close(integer.pValue, 10 / 16);
  const rng = new Rng(3);
  for (let trial = 0; trial < 20; trial++) {
    const n = 1 + rng.int(8);
    const a = Array.from({ length: n }, () => rng.normal()), b = Array.from({ length: n }, () => rng.normal());
    const ab = pairedPermutationTest(a, b), ba = pairedPermutationTest(b, a);
    assert.equal(ab.pValue, ba.pValue);
    close(ab.meanDiff, -ba.meanDiff);
    assert.ok(ab.pValue >= 2 / 2 ** n && ab.pValue <= 1);
  }
});

test("permutation test: Monte Carlo beyond 16 seeds is seeded, valid and close to the truth", () => {
  const a = Array.from({ length: 20 }, (_, i) => 1 + (i % 3)); // all positive: exact p = 2 / 2^20
  const mc = pairedPermutationTest(a, zeros(20), { resamples: 2000, seed: 4 });
  assert.equal(mc.exact, false);
  assert.equal(mc.pValue, 1 / 2001); // no random flip is that extreme; (0 + 1) / (R + 1), never 0
  const rng = new Rng(8);
  const x = Array.from({ length: 17 }, () => rng.normal() + 0.3), y = zeros(17);
  const p1 = pairedPermutationTest(x, y, { resamples: 5000, seed: 1 }).pValue;
  assert.equal(pairedPermutationTest(x, y, { resamples: 5000, seed: 1 }).pValue, p1);
  // 17 = exact limit + 1: compare with the exact p of the same data on 16 of them plus one zero difference.
  const exact16 = pairedPermutationTest([...x.slice(0, 16)], zeros(16)).pValue;
  const mc16 = pairedPermutationTest([...x.slice(0, 16), 0], zeros(17), { resamples: 20000, seed: 2 }).pValue;
  assert.ok(Math.abs(mc16 - exact16) < 0.02, `${mc16} vs ${exact16}`);
  assert.throws(() => pairedPermutationTest(x, y, { resamples: 0 }), /resamples/);
  assert.throws(() => pairedPermutationTest([1], [0], { resamples: 1.5 }), /resamples must be a positive integer/);
});

test("sign test, hand-computed exact binomial p-values", () => {
  assert.deepEqual(signTest([1, 2, 3, 4, 5], zeros(5)), { positive: 5, negative: 0, ties: 0, pValue: 0.0625 });
  close(signTest([1, 1, 1, -1], zeros(4)).pValue, 10 / 16); // 2 * (1 + 4) / 16
  // Ties are dropped: 2 up, 1 down, 1 tie → 2 * P(X <= 1 | n = 3) = 2 * 4/8 → capped at 1.
  assert.deepEqual(signTest([1, 2, 3, 4], [0, 0, 3, 5]), { positive: 2, negative: 1, ties: 1, pValue: 1 });
  assert.deepEqual(signTest([0.5, 0.5], [0.5, 0.5]), { positive: 0, negative: 0, ties: 2, pValue: 1 });
  assert.equal(signTest([1], [0]).pValue, 1);
  close(signTest(zeros(20), new Array(20).fill(1)).pValue, 2 / 2 ** 20, 1e-18);
  close(signTest(new Array(100).fill(1), zeros(100)).pValue / (2 / 2 ** 100), 1, 1e-9); // no underflow
  const rng = new Rng(2);
  const a = Array.from({ length: 9 }, () => rng.int(3)), b = Array.from({ length: 9 }, () => rng.int(3));
  assert.equal(signTest(a, b).pValue, signTest(b, a).pValue);
});

test("Student t quantile against closed forms and tables", () => {
  for (const p of [0.6, 0.9, 0.975, 0.995]) {
    close(studentTQuantile(p, 1), Math.tan(Math.PI * (p - 0.5)), 1e-9 * Math.tan(Math.PI * (p - 0.5))); // Cauchy
    close(studentTQuantile(p, 2), (2 * p - 1) / Math.sqrt(2 * p * (1 - p)), 1e-10);
    close(studentTQuantile(1 - p, 3), -studentTQuantile(p, 3));
  }
  close(studentTQuantile(0.975, 4), 2.7764451051977987, 1e-10); // scipy.stats.t.ppf(0.975, 4)
  close(studentTQuantile(0.975, 1e9), 1.959963984540054, 1e-6); // the normal quantile
  assert.equal(studentTQuantile(0.5, 7), 0);
  assert.throws(() => studentTQuantile(1, 3), /p must be/);
  assert.throws(() => studentTQuantile(0.9, 0), /df must be/);
});

test("paired effect: mean difference with a t interval and Cohen's d_z, hand-computed", () => {
  // d = [1, 2, 3]: mean 2, sd 1, half-width t(0.975, 2) / sqrt(3).
  const e = pairedEffect([1, 2, 3], zeros(3));
  const half = 4.302652729749464 / Math.sqrt(3);
  assert.equal(e.n, 3);
  assert.equal(e.meanDiff, 2);
  close(e.ci[0], 2 - half, 1e-10);
  close(e.ci[1], 2 + half, 1e-10);
  assert.equal(e.cohenDz, 2);
  // d = [1, 3]: sd sqrt 2, half-width t(0.975, 1) * sqrt2 / sqrt2 = 12.706...
  const two = pairedEffect([1, 3], [0, 0]);
  close(two.ci[0], 2 - 12.706204736174696, 1e-9);
  close(two.ci[1], 2 + 12.706204736174696, 1e-9);
  assert.deepEqual(pairedEffect([0.4], [0.1]).ci, [-Infinity, Infinity]);
  assert.ok(Number.isNaN(pairedEffect([0.4], [0.1]).cohenDz));
  const same = pairedEffect([0.2, 0.4], [0.2, 0.4]);
  assert.deepEqual(same.ci, [0, 0]);
  assert.ok(Number.isNaN(same.cohenDz));
  // Swapping a and b mirrors everything; a wider level gives a wider interval.
  const ba = pairedEffect(zeros(3), [1, 2, 3]);
  close(ba.ci[0], -e.ci[1], 1e-12);
  assert.equal(ba.cohenDz, -2);
  const e90 = pairedEffect([1, 2, 3], zeros(3), 0.1);
  assert.ok(e90.ci[0] > e.ci[0] && e90.ci[1] < e.ci[1]);
});

test("paired tests reject bad input, naming the argument", () => {
  for (const fn of [pairedPermutationTest, signTest, pairedEffect] as ((a: number[], b: number[]) => unknown)[]) {
    assert.throws(() => fn([1, 2], [1]), /a and b must be paired.*2 and 1/);
    assert.throws(() => fn([], []), /a and b are empty/);
    assert.throws(() => fn([1, NaN], [1, 2]), /a\[1\] is NaN/);
    assert.throws(() => fn([1, 2], [Infinity, 2]), /b\[0\] is Infinity/);
  }
  assert.throws(() => pairedEffect([1, 2], [0, 0], 0), /alpha/);
});

// Scores perfectly ordered with / against a 6-child ground truth (tau +1 / -1 on every resample of >= 2 distinct children).
const truth = [0.5, 0.1, 0.9, 0.3, 0.7, 0.2];
const perfect = truth.map((t) => 2 * t + 1);
const reversed = truth.map((t) => -t);

test("two-level bootstrap: hand-computed degenerate cases", () => {
  assert.deepEqual(meanTauBootstrap([perfect, perfect, perfect], truth), { estimate: 1, ci: [1, 1] });
  // Seeds +1 and -1: a resample of 2 seeds has mean -1, 0 or 1 with probabilities 1/4, 1/2, 1/4.
  assert.deepEqual(meanTauBootstrap([perfect, reversed], truth, { seed: 3 }), { estimate: 0, ci: [-1, 1] });
  const d = pairedTauBootstrap([perfect, perfect], [reversed, reversed], truth);
  assert.deepEqual(d, { a: { estimate: 1, ci: [1, 1] }, b: { estimate: -1, ci: [-1, -1] }, diff: { estimate: 2, ci: [2, 2] } });
  // Identical schemes: every replicate's difference is exactly 0.
  const rng = new Rng(1);
  const noisy = [0, 1, 2].map(() => truth.map((t) => t + 0.3 * rng.normal()));
  assert.deepEqual(pairedTauBootstrap(noisy, noisy, truth).diff, { estimate: 0, ci: [0, 0] });
});

test("two-level bootstrap: seeded, paired, consistent with the single-scheme version, antisymmetric", () => {
  const rng = new Rng(9);
  const n = 24;
  const g = Array.from({ length: n }, () => rng.next());
  const scheme = (noise: number) => [0, 1, 2].map(() => g.map((t) => t + noise * rng.normal()));
  const a = scheme(0.15), b = scheme(0.6);
  const opts = { resamples: 400, seed: 5 };
  const ab = pairedTauBootstrap(a, b, g, opts);
  assert.deepEqual(pairedTauBootstrap(a, b, g, opts), ab);
  assert.notDeepEqual(pairedTauBootstrap(a, b, g, { ...opts, seed: 6 }), ab);
  assert.deepEqual(ab.a, meanTauBootstrap(a, g, opts)); // the same draws for the same scheme
  assert.deepEqual(ab.b, meanTauBootstrap(b, g, opts));
  for (const t of [ab.a, ab.b, ab.diff]) assert.ok(t.ci[0] <= t.estimate && t.estimate <= t.ci[1], JSON.stringify(t));
  close(ab.diff.estimate, ab.a.estimate - ab.b.estimate);
  assert.ok(ab.diff.ci[0] > 0, `a is less noisy: ${ab.diff.ci}`);
  const ba = pairedTauBootstrap(b, a, g, opts);
  close(ba.diff.ci[0], -ab.diff.ci[1]);
  close(ba.diff.ci[1], -ab.diff.ci[0]);
  // Pairing pays: the difference's interval is narrower than the two schemes' intervals side by side.
  assert.ok(ab.diff.ci[1] - ab.diff.ci[0] < ab.a.ci[1] - ab.a.ci[0] + (ab.b.ci[1] - ab.b.ci[0]));
  // More children → a narrower interval.
  const wide = meanTauBootstrap(a.map((r) => r.slice(0, 8)), g.slice(0, 8), opts);
  const narrow = meanTauBootstrap(a, g, opts);
  assert.ok(narrow.ci[1] - narrow.ci[0] < wide.ci[1] - wide.ci[0]);
});

test("two-level bootstrap rejects bad input, naming the argument", () => {
  assert.throws(() => meanTauBootstrap([], truth), /scores has no seeds/);
  assert.throws(() => meanTauBootstrap([perfect, perfect.slice(1)], truth), /scores\[1\] scores 5 children, truth has 6/);
  assert.throws(() => meanTauBootstrap([[1]], [1]), /truth needs >= 2 children/);
  assert.throws(() => meanTauBootstrap([perfect], truth, { resamples: 0 }), /resamples/);
  assert.throws(() => pairedTauBootstrap([perfect], [perfect, perfect], truth), /a and b must have the same seeds, got 1 and 2/);
  assert.throws(() => pairedTauBootstrap([perfect], [[1, 2]], truth), /b\[0\] scores 2 children/);
  assert.throws(() => pairedTauBootstrap([perfect], [perfect], truth, { alpha: 2 }), /alpha/);
});

test("what it would take: the variance split by level and the counts that resolve the observed Δ, by the projection's own formula", () => {
  const rng = new Rng(4);
  const n = 30;
  const g = Array.from({ length: n }, () => rng.next());
  const scheme = (noise: number, seeds: number) => Array.from({ length: seeds }, () => g.map((t) => t + noise * rng.normal()));
  const opts = { resamples: 300, seed: 2 };
  // Far apart: already resolved, so today's counts suffice and no growth is needed.
  const far = pairedTauPower(scheme(0.02, 4), scheme(3, 4), g, opts);
  assert.deepEqual([far.seeds, far.children, far.seedsToResolve, far.childrenToResolve, far.scaleToResolve], [4, n, 4, n, 1]);
  // Close: the counts are those at which the projected variance first fits (Δ / 1.96)^2.
  const close_ = pairedTauPower(scheme(0.25, 4), scheme(0.3, 4), g, opts);
  const target = (close_.estimate / 1.96) ** 2;
  const rest = Math.max(0, close_.variance - close_.seedVariance - close_.childVariance);
  const projected = (seeds: number, children: number) =>
    close_.seedVariance * 4 / seeds + close_.childVariance * n / children + rest * 4 * n / (seeds * children);
  assert.ok(close_.variance > target, "not resolved today");
  assert.ok(close_.scaleToResolve > 1);
  const f = close_.scaleToResolve;
  assert.ok(Math.abs(projected(4 * f, n * f) - target) < 1e-9 * target, "both grown by f fit exactly");
  if (close_.childrenToResolve !== null) {
    assert.ok(projected(4, close_.childrenToResolve) <= target && projected(4, close_.childrenToResolve - 1) > target);
  } else assert.ok(close_.seedVariance >= target, "children alone cannot only when the seeds' share is too wide");
  if (close_.seedsToResolve !== null) {
    assert.ok(projected(close_.seedsToResolve, n) <= target && projected(close_.seedsToResolve - 1, n) > target);
  } else assert.ok(close_.childVariance >= target);
  // Identical schemes: Δ is 0 and nothing resolves it.
  const same = scheme(0.3, 3);
  assert.deepEqual(pairedTauPower(same, same, g, opts), {
    estimate: 0, seeds: 3, children: n, seedVariance: 0, childVariance: 0, variance: 0, seedsToResolve: null, childrenToResolve: null, scaleToResolve: Infinity,
  });
  // No seed noise at all (every seed the same scores): the seeds' share is 0.
  const fixedA = scheme(0.25, 1), fixedB = scheme(0.3, 1);
  assert.ok(pairedTauPower([...fixedA, ...fixedA], [...fixedB, ...fixedB], g, opts).seedVariance < 1e-20); // 0 up to the mean's rounding
  assert.throws(() => pairedTauPower([perfect], [perfect, perfect], truth), /pairedTauPower: a and b must have the same seeds, got 1 and 2/);
  assert.throws(() => pairedTauPower([perfect], [[1, 2]], truth), /pairedTauPower: b\[0\] scores 2 children/);
});

test("claim verdict: interval side and p-value must both agree", () => {
  assert.equal(claimVerdict([0.1, 0.3], 0.01), "reproduced");
  assert.equal(claimVerdict([-0.3, -0.1], 0.01), "contradicted");
  assert.equal(claimVerdict([-0.1, 0.2], 0.01), "inconclusive");
  assert.equal(claimVerdict([0, 0.2], 0.01), "inconclusive"); // touching 0 is not above it
  assert.equal(claimVerdict([-0.2, 0], 0.01), "inconclusive");
  assert.equal(claimVerdict([0.1, 0.3], 0.25), "inconclusive"); // 3 seeds' best exact p
  assert.equal(claimVerdict([0.1, 0.3], 0.05), "reproduced"); // p <= alpha
  assert.equal(claimVerdict([0.1, 0.3], 0.1, 0.1), "reproduced");
  assert.equal(claimVerdict([NaN, NaN], 0.01), "inconclusive");
  assert.equal(claimVerdict([0.1, 0.3], NaN), "inconclusive");
  assert.throws(() => claimVerdict([0.3, 0.1], 0.01), /diffCI lower bound 0.3 exceeds upper bound 0.1/);
  assert.throws(() => claimVerdict([0.1, 0.3], 1.5), /pValue/);
  // End to end: 6 seeds all better → p = 2/64 and a positive interval → reproduced; 5 seeds cannot be.
  const a6 = [0.5, 0.6, 0.55, 0.7, 0.52, 0.61], b6 = [0.3, 0.35, 0.4, 0.5, 0.33, 0.45];
  assert.equal(claimVerdict(pairedEffect(a6, b6).ci, pairedPermutationTest(a6, b6).pValue), "reproduced");
  assert.equal(claimVerdict(pairedEffect(b6, a6).ci, pairedPermutationTest(b6, a6).pValue), "contradicted");
  const a5 = a6.slice(0, 5), b5 = b6.slice(0, 5);
  assert.equal(claimVerdict(pairedEffect(a5, b5).ci, pairedPermutationTest(a5, b5).pValue), "inconclusive");
});

const meanOf = (items: number[]) => [mean(items)];
/** How often each value occurs among `values`, as fractions. */
const frequencies = (values: number[]) => {
  const f = new Map<number, number>();
  for (const v of values) f.set(v, (f.get(v) ?? 0) + 1 / values.length);
  return f;
};

test("clustered bootstrap, seed level by hand: two seeds whose five pairs agree resample as two units, not ten", () => {
  // Seed 0's pairs are all 0, seed 1's all 1 (one batch each). A replicate draws 2 seeds: both 0 (p 1/4), one of
  // each (1/2), both 1 (1/4), so its mean is 0, 0.5 or 1 and the 95 % interval is [0, 1].
  const clusters = [[[0, 0, 0, 0, 0]], [[1, 1, 1, 1, 1]]];
  const replicates = clusteredReplicates(clusters, meanOf, { resamples: 4000, seed: 5 }).map((r) => r[0]);
  const f = frequencies(replicates);
  assert.deepEqual([...f.keys()].sort(), [0, 0.5, 1]);
  close(f.get(0)!, 0.25, 0.04);
  close(f.get(0.5)!, 0.5, 0.04);
  close(f.get(1)!, 0.25, 0.04);
  const [clustered] = clusteredBootstrap(clusters, meanOf, { resamples: 4000, seed: 5 });
  assert.deepEqual(clustered, { estimate: 0.5, ci: [0, 1] });
  // Treating the ten pairs as independent: P(all ten draws from one seed) = 2 / 1024, so the interval is narrower.
  const pairLevel = bootstrapCI(clusters.flat(2), (s) => mean(s), { resamples: 4000, seed: 5 });
  assert.ok(pairLevel[0] > 0 && pairLevel[1] < 1, `pair-level interval ${pairLevel}`);
});

test("clustered bootstrap, batch level by hand: one seed with two batches; seeds with different batch counts", () => {
  const f = frequencies(clusteredReplicates([[[0], [1]]], meanOf, { resamples: 4000, seed: 2 }).map((r) => r[0]));
  assert.deepEqual([...f.keys()].sort(), [0, 0.5, 1]);
  close(f.get(0.5)!, 0.5, 0.04);
  // Seed A: one batch [2, 2]; seed B: batches [4] and [6]. Each drawn seed contributes as many batches as it has:
  // A adds [2, 2]; B adds two draws of {4, 6}. Every replicate's items are therefore 4 values from that scheme.
  const counts = clusteredReplicates([[[2, 2]], [[4], [6]]], (items) => [items.length], { resamples: 500, seed: 1 }).map((r) => r[0]);
  assert.ok(counts.every((n) => n === 4), "2 seeds x 2 items each");
  // One seed, one batch: nothing to resample, the interval is the estimate.
  assert.deepEqual(clusteredBootstrap([[[0.3, 0.7]]], meanOf, { resamples: 50 }), [{ estimate: 0.5, ci: [0.5, 0.5] }]);
  assert.throws(() => clusteredReplicates([], meanOf), /no seeds/);
  assert.throws(() => clusteredReplicates([[[1]], []], meanOf), /seed 1 has no batches/);
});
