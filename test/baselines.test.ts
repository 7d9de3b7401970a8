import { test } from "node:test";
import assert from "node:assert/strict";
import { baselineScores, baselineStats, beatsBaseline, type BaselineStat } from "../lib/experiments/baselines";
import { bootstrapCI, kendallTau } from "../lib/metrics";
import { bertArchSpace, defaultOps, flops, paramCount } from "../lib/nas/space";
import type { SearchSpace } from "../lib/nas/types";

const close = (a: number, b: number, eps = 1e-12) => assert.ok(Math.abs(a - b) <= eps, `${a} != ${b}`);

// Ops att2, ffn8, conv3, id at hidden 4. Op params (with their LN): att 88, ffn8 84, conv3 44, id 0; forward MACs
// at T = 2: att 160, ffn8 128, conv3 56, id 0. So the five children below grow in both params and FLOPs.
const space: SearchSpace = {
  id: "test-L2-D4",
  layers: 2,
  hidden: 4,
  seqLen: 2,
  vocabSize: 3,
  ops: defaultOps(4, { heads: [2], ffnMults: [2], kernels: [3], identity: true }),
};
const children = [[3, 3], [2, 3], [2, 2], [1, 1], [0, 0]];
// The biggest is not the best: children 3 and 4 are swapped (1 discordant pair of 10).
const truth = [5, 4, 3, 1, 2];

const byName = (rows: BaselineStat[]) => new Map(rows.map((r) => [r.name, r]));

test("zero-cost scores: lower = predicted better, -params, -flops and -count per op family", () => {
  assert.deepEqual(space.ops.map((o) => o.name), ["att2", "ffn8", "conv3", "id"]);
  const scores = new Map(baselineScores(bertArchSpace(space), children).map((s) => [s.name, s.scores]));
  assert.deepEqual([...scores.keys()], ["params", "flops", "count-attention", "count-ffn", "count-sepconv", "count-identity"]);
  assert.deepEqual(scores.get("params"), children.map((a) => -paramCount(space, a)));
  assert.deepEqual(scores.get("flops"), children.map((a) => -flops(space, a)));
  const shared = paramCount(space, [3, 3]);
  assert.deepEqual(scores.get("params")!.map((s) => -s - shared), [0, 44, 88, 168, 176]);
  const head = flops(space, [3, 3]);
  assert.deepEqual(scores.get("flops")!.map((s) => -s - head), [0, 112, 224, 512, 640]); // 2 x MACs
  assert.deepEqual(scores.get("count-attention")!.map((x) => -x), [0, 0, 0, 0, 2]);
  assert.deepEqual(scores.get("count-ffn")!.map((x) => -x), [0, 0, 0, 2, 0]);
  assert.deepEqual(scores.get("count-sepconv")!.map((x) => -x), [0, 1, 2, 0, 0]);
  assert.deepEqual(scores.get("count-identity")!.map((x) => -x), [2, 1, 0, 0, 0]);
  // A space without an identity op has no count-identity predictor.
  const noId = { ...space, ops: space.ops.slice(0, 3) };
  assert.ok(!baselineScores(bertArchSpace(noId), [[0, 1]]).some((s) => s.name === "count-identity"));
});

test("baselineStats: hand-computed tau, rho and P@k, signed", () => {
  const rows = baselineStats(bertArchSpace(space), children, truth, 2, 200, 1);
  assert.deepEqual(rows.map((r) => r.name), ["params", "flops", "count-attention", "count-ffn", "count-sepconv", "count-identity", "random"]);
  const r = byName(rows);
  for (const name of ["params", "flops"]) {
    close(r.get(name)!.kendallTau, 0.8); // (9 - 1) / 10
    close(r.get(name)!.spearman, 0.9); // 1 - 6 * 2 / (5 * 24)
    assert.equal(r.get(name)!.precisionAtK, 1); // predicted {3, 4} = true {3, 4}
  }
  // count-identity: 7 discordant pairs, 3 tied in the count: -7 / sqrt(7 * 10). More identity layers predict a
  // worse loss, so "more is better" gets a negative tau, reported with its sign.
  close(r.get("count-identity")!.kendallTau, -7 / Math.sqrt(70));
  assert.equal(r.get("count-identity")!.precisionAtK, 0); // predicted {0, 1}
  // count-attention: child 4 vs the other four: +1 +1 +1 -1 → 2 / sqrt(4 * 10). P@2: child 4 plus one of four tied.
  close(r.get("count-attention")!.kendallTau, 2 / Math.sqrt(40));
  close(r.get("count-attention")!.precisionAtK, (1 + 1 / 4) / 2);
  close(r.get("count-ffn")!.kendallTau, 4 / Math.sqrt(40));
  close(r.get("count-sepconv")!.kendallTau, -1 / Math.sqrt(70));
  // CIs: the same paired bootstrap over children as rankStats.
  const s = baselineScores(bertArchSpace(space), children)[0].scores;
  assert.deepEqual(r.get("params")!.ci.kendallTau, bootstrapCI([s, truth], (a, b) => kendallTau(a, b), { resamples: 200, seed: 1 }));
  // topK above the number of children is clipped, as in rankStats.
  assert.equal(byName(baselineStats(bertArchSpace(space), children, truth, 9, 10, 1)).get("params")!.precisionAtK, 1);
});

test("random baseline is the null distribution: mean about 0, P@k about k/n, exact range for 3 children", () => {
  const rows = baselineStats(bertArchSpace(space), children, truth, 1, 2000, 4);
  const rnd = byName(rows).get("random")!;
  assert.ok(Math.abs(rnd.kendallTau) < 0.05, `${rnd.kendallTau}`); // sd of tau over orders of 5: 0.41 / sqrt(2000)
  assert.ok(Math.abs(rnd.spearman) < 0.05, `${rnd.spearman}`);
  assert.ok(Math.abs(rnd.precisionAtK - 1 / 5) < 0.03, `${rnd.precisionAtK}`);
  const [lo, hi] = rnd.ci.kendallTau;
  assert.ok(lo < -0.5 && hi > 0.5 && lo >= -1 && hi <= 1, `${lo} ${hi}`);
  // 3 children: tau of a random order is ±1 with probability 1/6 each, so the central 95% is [-1, 1].
  const three = byName(baselineStats(bertArchSpace(space), children.slice(0, 3), [1, 2, 3], 1, 600, 2)).get("random")!;
  assert.deepEqual(three.ci.kendallTau, [-1, 1]);
});

test("baselineStats: deterministic under a seed, JSON shape, constant predictors give NaN", () => {
  const a = baselineStats(bertArchSpace(space), children, truth, 2, 100, 7);
  assert.deepEqual(baselineStats(bertArchSpace(space), children, truth, 2, 100, 7), a);
  const other = baselineStats(bertArchSpace(space), children, truth, 2, 100, 8);
  assert.notDeepEqual(other.map((r) => r.ci), a.map((r) => r.ci));
  assert.deepEqual(other.map((r) => r.kendallTau).slice(0, -1), a.map((r) => r.kendallTau).slice(0, -1)); // point estimates do not depend on the seed
  const json = JSON.parse(JSON.stringify({ baselines: a }));
  for (const row of json.baselines) assert.deepEqual(Object.keys(row), ["name", "kendallTau", "spearman", "precisionAtK", "ci"]);
  // No child uses attention: the predictor is constant, carries no ranking information, and says so with NaN.
  const noAtt = byName(baselineStats(bertArchSpace(space), [[1, 2], [3, 1], [2, 2]], [1, 2, 3], 1, 50, 1)).get("count-attention")!;
  assert.ok(Number.isNaN(noAtt.kendallTau) && Number.isNaN(noAtt.spearman));
  assert.deepEqual(noAtt.ci.kendallTau, [NaN, NaN]);
  close(noAtt.precisionAtK, 1 / 3);
  assert.equal(beatsBaseline([0.2, 0.4], noAtt), "inconclusive");
});

test("baselineStats rejects bad input, naming the argument", () => {
  assert.throws(() => baselineStats(bertArchSpace(space), [], [], 1, 10, 0), /children is empty/);
  assert.throws(() => baselineStats(bertArchSpace(space), children, [1, 2], 1, 10, 0), /children has 5 entries, groundTruth 2/);
  assert.throws(() => baselineStats(bertArchSpace(space), children, truth, 0, 10, 0), /topK/);
  assert.throws(() => baselineStats(bertArchSpace(space), children, truth, 1, 0, 0), /resamples/);
  assert.throws(() => baselineStats(bertArchSpace(space), [[0, 4], ...children.slice(1)], truth, 1, 10, 0), /arch layer 1: value 4/);
});

test("beatsBaseline compares the scheme's interval with the baseline's |tau|", () => {
  const base = (kendallTau: number): BaselineStat => ({ name: "params", kendallTau, spearman: kendallTau, precisionAtK: 0.5, ci: { kendallTau: [kendallTau - 0.1, kendallTau + 0.1] } });
  assert.equal(beatsBaseline([0.5, 0.7], base(0.4)), "beats");
  assert.equal(beatsBaseline([0.5, 0.7], base(-0.4)), "beats");
  assert.equal(beatsBaseline([0.5, 0.7], base(-0.6)), "inconclusive"); // the sign is free: |-0.6| is inside
  assert.equal(beatsBaseline([0.5, 0.7], base(0.7)), "inconclusive"); // touching is not beating
  assert.equal(beatsBaseline([0.5, 0.7], base(-0.8)), "loses");
  assert.equal(beatsBaseline([-0.2, 0.1], base(0.01)), "inconclusive");
  assert.equal(beatsBaseline([0.1, 0.3], base(0.01)), "beats"); // better than chance
  assert.throws(() => beatsBaseline([0.7, 0.5], base(0.1)), /schemeTauCI lower bound 0.7 exceeds upper bound 0.5/);
});
