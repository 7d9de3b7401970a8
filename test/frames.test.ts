// lib/frames.ts on hand-made results: one row per unit, the documented columns, ranks, and summarize's
// quantiles checked against values worked out by hand.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { InterferenceReport } from "../lib/experiments/interference";
import type { RankResult } from "../lib/experiments/ranking";
import type { GroundTruthTable } from "../lib/experiments/ground-truth";
import { tableBundle } from "../lib/display";
import { groundTruthFrame, interferencePairsFrame, rankingChildrenFrame, rankingRunsFrame, summarize } from "../lib/frames";

function result(scheme: string, seed: number, supernet: number[], tau: number): RankResult {
  return {
    scheme, seed, preset: "tiny", steps: 10,
    children: supernet.map((s, i) => ({ arch: [i], id: `c${i}`, supernet: s, groundTruth: i + 1, params: 100 * i, flops: 7 * i })),
    kendallTau: tau, spearman: tau / 2, precisionAtK: { "2": 0.5 }, ci: { kendallTau: [tau - 0.1, tau + 0.1], spearman: [0, 0] },
    baselines: [], meanSupernetLoss: 3, coverage: [], monitor: [], budgetScores: [], secondsPerStep: 0.25, groundTruthHash: "", configHash: "", codeDigest: "", backend: "cpu",
    source: "computed",
  };
}

test("rankingChildrenFrame: one row per (scheme, seed, child) with 0-based ranks and the rank error", () => {
  const frame = rankingChildrenFrame([result("uniform", 1, [3, 1, 2], 0.2), result("magic-t", 1, [1, 2, 3], 1)]);
  assert.deepEqual(frame.columns, ["scheme", "seed", "child", "params", "flops", "supernet_loss", "ground_truth_loss", "supernet_rank", "ground_truth_rank", "rank_error"]);
  assert.deepEqual(frame.values, [
    ["uniform", 1, "c0", 0, 0, 3, 1, 2, 0, 2],
    ["uniform", 1, "c1", 100, 7, 1, 2, 0, 1, 1],
    ["uniform", 1, "c2", 200, 14, 2, 3, 1, 2, 1],
    ["magic-t", 1, "c0", 0, 0, 1, 1, 0, 0, 0],
    ["magic-t", 1, "c1", 100, 7, 2, 2, 1, 1, 0],
    ["magic-t", 1, "c2", 200, 14, 3, 3, 2, 2, 0],
  ]);
});

test("rankingRunsFrame and a danfo groupby over seeds; showTable's renderer takes the frame", () => {
  const runs = rankingRunsFrame([result("uniform", 1, [1, 2], 0.2), result("uniform", 2, [1, 2], 0.4), result("magic-t", 1, [1, 2], 0.9)]);
  assert.deepEqual(runs.values[0], ["uniform", 1, 10, 2, 0.2, 0.1, 0.30000000000000004, 0.1, 0.5, 2, 3, 0.25, "computed"]);
  const bySeed = runs.groupby(["scheme"]).agg({ kendall_tau: ["mean", "count"] });
  assert.deepEqual(bySeed.columns, ["scheme", "kendall_tau_mean", "kendall_tau_count"]);
  assert.deepEqual(bySeed.values, [["uniform", 0.30000000000000004, 2], ["magic-t", 0.9, 1]]);
  const { text } = tableBundle(bySeed);
  assert.deepEqual(text.split("\n"), [" scheme  kendall_tau_mean  kendall_tau_count", "uniform            0.3000                  2", "magic-t            0.9000                  1"]);
});

test("summarize: count, mean, sd, quantiles (linear interpolation) per group; one value has no sd", () => {
  const runs = rankingRunsFrame([1, 2, 3, 4, 5].map((seed) => result("uniform", seed, [1, 2], seed / 10)).concat(result("solo", 1, [1, 2], 0.7)));
  const s = summarize(runs, ["scheme"], "kendall_tau");
  assert.deepEqual(s.columns, ["scheme", "count", "mean", "sd", "min", "q05", "median", "q95", "max"]);
  const [uniform, solo] = s.values as number[][];
  assert.equal(uniform[0], "uniform");
  assert.equal(uniform[1], 5);
  assert.ok(Math.abs(uniform[2] - 0.3) < 1e-12);
  assert.ok(Math.abs(uniform[3] - Math.sqrt(0.025)) < 1e-12, "sample sd of 0.1..0.5");
  // q05 of [0.1 .. 0.5]: position 0.05 * 4 = 0.2 between 0.1 and 0.2 -> 0.12; q95: 0.48.
  assert.ok(Math.abs(uniform[5] - 0.12) < 1e-12 && Math.abs(uniform[7] - 0.48) < 1e-12, `${uniform}`);
  assert.equal(uniform[6], 0.3);
  assert.deepEqual([solo[0], solo[1], solo[2], Number.isNaN(solo[3])], ["solo", 1, 0.7, true]);
  assert.throws(() => summarize(runs, ["sampler"], "kendall_tau"), /no column "sampler" \(columns: scheme, seed/);
});

test("groundTruthFrame and interferencePairsFrame: one row per (child, seed) and per pair; empty inputs keep their columns", () => {
  const row = { arch: [0], id: "c0", seed: 1, valLoss: 4.5, valAccuracy: 0.2, params: 10, flops: 20, seconds: 1, resumedFrom: 0, steps: 30, budgets: {}, backend: "native" };
  const gt = { rows: [row, { ...row, seed: 2, valLoss: 4.7 }] } as unknown as GroundTruthTable;
  assert.deepEqual(groundTruthFrame(gt).values, [["c0", 1, 10, 20, 4.5, 0.2, 30, "native"], ["c0", 2, 10, 20, 4.7, 0.2, 30, "native"]]);
  const pair = { layer: 2, k: 3, where: "before", a: [0], b: [1], gradCosine: 0.5, matrixGradCosine: 0.4, inputCosine: 0.9, outputCosine: 0.8, outputGradCosine: 0.7, seed: 3, batch: 1, index: 0 };
  const report = { checkpoints: [{ step: 10, pairs: [pair] }, { step: 40, pairs: [] }] } as unknown as InterferenceReport;
  const pairs = interferencePairsFrame(report);
  assert.deepEqual(pairs.columns, ["step", "supernet_seed", "batch", "shared_layer", "k", "where", "grad_cosine", "matrix_grad_cosine", "input_cosine", "output_cosine", "output_grad_cosine"]);
  assert.deepEqual(pairs.values, [[10, 3, 1, 2, 3, "before", 0.5, 0.4, 0.9, 0.8, 0.7]]);
  const empty = rankingRunsFrame([]);
  assert.deepEqual([empty.shape, empty.columns.length], [[0, 13], 13]);
});
