// The notebooks' ranking statistics on hand-made results: claims, baselines and the ground-truth targets.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { RankResult } from "../lib/experiments/ranking";
import type { BaselineStat } from "../lib/experiments/baselines";
import * as fs from "node:fs";
import { projectPath } from "../lib/paths";
import { baselineComparisonRows, claimPower, claimPowerRows, claimPowerText, claimTest, claimVerdictText, coverageGapText, coverageOpNames, groundTruthQuality, seedNoise, seedNoiseText, stepsForNoiseScale } from "../lib/experiments/ranking-views";
import { finalScoreRanges, GROUND_TRUTH_PRESETS, type GroundTruthTable } from "../lib/experiments/ground-truth";
import { RANK_PRESETS } from "../lib/experiments/ranking";

const truth = Array.from({ length: 16 }, (_, i) => i + 1);
const pairs = (16 * 15) / 2;

/** A result whose supernet ranks the 16 children with `swaps` disjoint adjacent pairs swapped (tau = 1 - 2 swaps / 120). */
function result(scheme: string, seed: number, swaps: number, baselines: BaselineStat[] = []): RankResult {
  const supernet = [...truth];
  for (let i = 0; i < swaps; i++) [supernet[2 * i], supernet[2 * i + 1]] = [supernet[2 * i + 1], supernet[2 * i]];
  return {
    scheme, seed, preset: "tiny", steps: 1,
    children: truth.map((g, i) => ({ arch: [i], id: `c${i}`, supernet: supernet[i], groundTruth: g, params: i, flops: i })),
    kendallTau: 1 - (2 * swaps) / pairs, spearman: 0, precisionAtK: { "2": 0 }, ci: { kendallTau: [0, 0], spearman: [0, 0] },
    baselines, meanSupernetLoss: 0, coverage: [], monitor: [], budgetScores: [], secondsPerStep: 0, groundTruthHash: "", configHash: "", codeDigest: "", backend: "",
  };
}

test("claimTest: a scheme better on every one of 6 seeds is reproduced; the reverse claim is contradicted", () => {
  const results = [1, 2, 3, 4, 5, 6].flatMap((seed) => [result("a", seed, 0), result("b", seed, 7 + (seed % 2))]);
  const t = claimTest(results, "a", "b");
  assert.equal(t.seeds, 6);
  assert.ok(Math.abs(t.meanDiff - (2 * 7.5) / pairs) < 1e-12, "mean of 14/120 and 16/120");
  assert.equal(t.permutationP, 2 / 64, "exact sign-flip p: the two all-same-sign flips of 64");
  assert.equal(t.verdict, "reproduced");
  assert.equal(claimTest(results, "b", "a").verdict, "contradicted");
  assert.match(claimVerdictText(results, [["b", "a"]]), /b > a: \*\*contradicted\*\*/);
});

test("claimTest: three seeds can never be decisive, and the text says why", () => {
  const results = [1, 2, 3].flatMap((seed) => [result("a", seed, 0), result("b", seed, 3)]);
  assert.equal(claimTest(results, "a", "b").verdict, "inconclusive");
  assert.match(claimVerdictText(results, [["a", "b"]]), /smallest possible p is 0\.250/);
  assert.throws(() => claimTest(results, "a", "zzz"), /share no seed/);
});

test("claimPower: the table and the paragraph say what would resolve each claim, from the same projection", () => {
  const results = [1, 2, 3].flatMap((seed) => [result("a", seed, seed % 2), result("b", seed, 2 + (seed % 3)), result("c", seed, 1)]);
  const ab = claimPower(results, "a", "b");
  assert.deepEqual([ab.seeds, ab.children], [3, 16]);
  const [row] = claimPowerRows(results, [["a", "b"]]);
  assert.equal(row["mean Δtau"], ab.estimate);
  assert.equal(row["seeds needed (16 children)"], ab.seedsToResolve ?? "none suffices");
  assert.equal(row["both grown by"], `${ab.scaleToResolve.toFixed(1)}x: ${Math.ceil(3 * ab.scaleToResolve)} seeds, ${Math.ceil(16 * ab.scaleToResolve)} children`);
  // The paragraph names the claim that needs the least growth, with its counts.
  const ac = claimPower(results, "a", "c");
  const nearest = ab.scaleToResolve <= ac.scaleToResolve ? ["a > b", ab] as const : ["a > c", ac] as const;
  assert.match(claimPowerText(results, [["a", "b"], ["a", "c"]]), new RegExp(`The nearest, ${nearest[0]} .* both grown ${nearest[1].scaleToResolve.toFixed(1)}x \\(${Math.ceil(3 * nearest[1].scaleToResolve)} seeds per scheme`));
  // A scheme against itself: Δ is 0 everywhere.
  assert.match(claimPowerText(results, [["a", "a"]]), /every claim's observed Δtau is 0/);
  assert.equal(claimPowerRows(results, [["a", "a"]])[0]["both grown by"], "no growth (Δtau is 0)");
  assert.throws(() => claimPower(results, "a", "zzz"), /claimPower: a and zzz share no seed/);
});

test("baselineComparisonRows: a perfect supernet beats a weak baseline, a reversed one loses to it", () => {
  const weak: BaselineStat = { name: "params", kendallTau: -0.2, spearman: 0, precisionAtK: 0, ci: { kendallTau: [-0.5, 0.2] } };
  const reversed = (seed: number) => {
    const r = result("reversed", seed, 0, [weak]);
    r.children.forEach((c) => (c.supernet = 100 - c.groundTruth));
    return r;
  };
  const results = [result("perfect", 1, 0, [weak]), result("perfect", 2, 0, [weak]), result("noisy", 1, 4, [weak]), reversed(1), reversed(2)];
  const rows = baselineComparisonRows(results, 200);
  assert.equal(rows[0].predictor, "params (zero-cost)");
  const perfect = rows.find((r) => String(r.predictor).startsWith("perfect"))!;
  const noisy = rows.find((r) => String(r.predictor).startsWith("noisy"))!;
  assert.equal(perfect["Kendall tau"], 1);
  assert.equal(perfect["beats all baselines"], "yes");
  assert.ok(Math.abs(Number(noisy["Kendall tau"]) - (1 - 8 / pairs)) < 1e-12);
  assert.equal(rows.find((r) => String(r.predictor).startsWith("reversed"))!["beats all baselines"], "no (loses to params)");
});

test("groundTruthQuality checks the three targets from the table", () => {
  const rows = [0, 1].flatMap((seed) =>
    Array.from({ length: 40 }, (_, c) => ({ arch: [c], id: `c${c}`, seed, valLoss: 4 + c / 100 + (seed && c === 0 ? 0.055 : 0), valAccuracy: 0,
      params: 0, flops: 0, seconds: 0, resumedFrom: 0, steps: 1, budgets: {}, backend: "x" })));
  const gt = { config: { seeds: [0, 1], steps: 1 }, unigramLoss: 6, rows } as unknown as GroundTruthTable;
  const q = groundTruthQuality(gt);
  assert.equal(q.children, 40);
  assert.ok(Math.abs(q.seedToSeedTau - (1 - 2 * 5 / 780)) < 1e-12, "child 0 moves past 5 others in seed 1: 5 discordant pairs of 780");
  assert.deepEqual(q.met, { children: true, seedToSeedTau: true, belowUnigram: true });
  assert.equal(groundTruthQuality({ ...gt, unigramLoss: 4.5 }).met.belowUnigram, false);
});

test("the committed small ground truth: >= 40 children of today's config, >= 1 nat below unigram, final scores off MAGIC-A's anchor batches", () => {
  const gt = JSON.parse(fs.readFileSync(projectPath("data", "ground-truth", "small.json"), "utf8")) as GroundTruthTable;
  assert.deepEqual(gt.config, GROUND_TRUTH_PRESETS.small, "the table is of the current small config");
  const q = groundTruthQuality(gt);
  assert.ok(q.met.children && q.met.belowUnigram, JSON.stringify(q));
  assert.equal(gt.rows.length, q.children * 2);
  // The seed-to-seed tau target (0.8) is not met; notebook 02 and the README report the tau with its interval.
  assert.ok(q.seedToSeedTauCI[0] <= q.seedToSeedTau && q.seedToSeedTau <= q.seedToSeedTauCI[1]);
  const anchors = { start: gt.config.evalBatches, end: gt.config.evalBatches + RANK_PRESETS.small.anchorBatches };
  assert.ok(finalScoreRanges(gt.config).every((r) => r.start + r.count <= anchors.start || r.start >= anchors.end), "no final-score batch is an anchor batch");
});

test("seedNoiseText compares the final score's batches with the budgets' for the same weights, and says when the target is met", () => {
  // Final scores: the two seeds agree on the order; on the budgets' batches seed 1 reverses two neighbours of every four.
  const rows = [0, 1].flatMap((seed) =>
    Array.from({ length: 40 }, (_, c) => ({ arch: [c], id: `c${c}`, seed, valLoss: 4 + c / 100, valAccuracy: 0, params: 0, flops: 0, seconds: 0,
      resumedFrom: 0, steps: 8, budgets: { "8": 4 + c / 100 + (seed && c % 4 === 0 ? 0.015 : 0) }, backend: "x" })));
  const config = { seeds: [0, 1], steps: 8, evalBatches: 2, finalScoreBatches: [{ start: 0, count: 2 }, { start: 3, count: 5 }] };
  const text = seedNoiseText({ config, unigramLoss: 6, rows } as unknown as GroundTruthTable);
  assert.match(text, /on the final score's 7 batches the two seeds of a child differ by 0\.0000 nats per seed/);
  assert.match(text, /\(observed 1\.00\); the target of 0\.8 is met\./);
  assert.match(text, /The same final weights scored on the budgets' 2 batches only differ by 0\.00\d\d nats per seed and give a seed-to-seed tau of 0\.9\d/);
  const plain = seedNoiseText({ config: { ...config, finalScoreBatches: undefined }, unigramLoss: 6, rows } as unknown as GroundTruthTable);
  assert.match(plain, /on the final score's 2 batches/);
  assert.doesNotMatch(plain, /budgets' 2 batches only/, "no comparison when the final score is on the budgets' batches");
});

test("seedNoise: the per-seed noise sd, the common offset, and a simulated tau that falls as the noise grows", () => {
  // Seed 1 = seed 0 + 0.1 (common offset) + ±0.02 alternating: sd of the differences = 0.02 (n-1 = 39 -> sqrt(40/39) * 0.02).
  const rows = [0, 1].flatMap((seed) =>
    Array.from({ length: 40 }, (_, c) => {
      const loss = 4 + c / 100 + (seed ? 0.1 + (c % 2 ? 0.02 : -0.02) : 0);
      return { arch: [c], id: `c${c}`, seed, valLoss: loss, valAccuracy: 0, params: 0, flops: 0, seconds: 0, resumedFrom: 0, steps: 3000,
        budgets: { "1500": loss + 1 + (seed ? (c % 2 ? 0.02 : -0.02) : 0), "3000": loss }, backend: "x" };
    }));
  const gt = { config: { seeds: [0, 1], steps: 3000 }, unigramLoss: 6, rows } as unknown as GroundTruthTable;
  const n = seedNoise(gt);
  assert.ok(Math.abs(n.meanSeedOffset + 0.1) < 1e-12, "seed 0 minus seed 1");
  assert.ok(Math.abs(n.noiseSd - 0.02 * Math.sqrt(40 / 39) / Math.SQRT2) < 1e-12);
  assert.equal(n.children, 40);
  // Less noise, higher tau: the simulated curve rises as the scale falls, and the target is met at some scale.
  assert.ok(n.curve[n.curve.length - 1].tau > n.curve[0].tau);
  assert.ok(n.scaleForTarget !== null && n.curve.find((p) => p.scale === n.scaleForTarget)!.tau >= 0.8);
  // At the 1500-step budget the noise is twice as large (±0.04 between seeds): noise ∝ steps^-1.
  assert.ok(Math.abs(seedNoise(gt, "1500").noiseSd - 2 * n.noiseSd) < 1e-12);
  const extrapolated = stepsForNoiseScale(gt, 0.5)!;
  assert.ok(Math.abs(extrapolated.exponent - 1) < 1e-9 && Math.abs(extrapolated.steps - 6000) < 1e-6);
});

test("coverageGapText: the uniform supernets' mean updates per op, and the steps that would match a child's", () => {
  const uniform = (perOp: number) => ({ ...result("uniform", 1, 0), steps: 1200, coverage: [[perOp, perOp], [perOp, perOp]] });
  // Two seeds at 100 and 140 updates per op: 120 on average, 1.5 % of 8,000; 8,000 / 120 x 1,200 = 80,000 steps.
  const text = coverageGapText([uniform(100), { ...uniform(140), seed: 2 }, { ...result("magic-t", 1, 0), coverage: [[1, 1]] }], 8000);
  assert.match(text, /8,000 updates each/);
  assert.match(text, /In 1,200 steps a uniform supernet's \(layer, operator\) gets 120 on average \(1\.5 % of that\)/);
  assert.match(text, /~80,000 supernet steps, 67x the budget/);
  assert.match(coverageGapText([result("magic-t", 1, 0)], 8000), /no uniform supernet/);
});

test("coverageOpNames: the op names of a stored table's space, in choice order", () => {
  const gt = JSON.parse(fs.readFileSync(projectPath("data", "ground-truth", "tiny.json"), "utf8")) as GroundTruthTable;
  assert.deepEqual(coverageOpNames(gt), (gt.space as { ops: { name: string }[] }).ops.map((o) => o.name));
  assert.ok(coverageOpNames(gt).includes("id"));
});
