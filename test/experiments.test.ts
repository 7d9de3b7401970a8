// The experiments' wiring on the tiny preset: the ground-truth draw and resumable jobs, and scheme ranking
// (sampler, MAGIC-A alignment, monitor, coverage, statistics checked against reference implementations on the
// CSV export). Runs go to a temporary MAGIC_RUNS_DIR; the checkout's runs/ and data/ stay as they were.
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { bertKit } from "../lib/experiments/kit";
import * as fs from "node:fs";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend";
import { prepareMlmData, type MlmData } from "../lib/data";
import { bertArchSpace, makeSpace } from "../lib/nas/space";
import {
  GROUND_TRUTH_PRESETS,
  checkFinalScoreBatches,
  groundTruthJobDir,
  groundTruthRunDir,
  groundTruthHash,
  groundTruthJobs,
  runGroundTruthJob,
  seedToSeedTau,
  type GroundTruthConfig,
  type GroundTruthRow,
  type GroundTruthTable,
} from "../lib/experiments/ground-truth";
import { RANK_PRESETS, parseScheme, rankScheme } from "../lib/experiments/ranking";
import { buildGroundTruth } from "../lib/experiments/ground-truth-run";
import { Supernet } from "../lib/nas/supernet";
import { loadWeights } from "../lib/train/loop";
import { childRows, toCsv } from "../lib/experiments/ranking-views";
import { checkoutState, useTemporaryOutputDirs } from "./helpers/checkout-state";
import { assertStatsMatchCsv, parseCsv, referenceKendallTau, referenceSpearman } from "./helpers/rank-check";

const checkoutBefore = checkoutState();
useTemporaryOutputDirs();
let data: MlmData;
before(async () => {
  await initBackend({ quiet: true });
  data = prepareMlmData("tiny");
});

const config: GroundTruthConfig = { ...GROUND_TRUTH_PRESETS.tiny, children: 4, steps: 8, budgetEvery: 4, evalBatches: 2 };

test("every ground-truth child is trained once per seed", () => {
  const space = makeSpace("tiny", data.vocabSize);
  const jobs = groundTruthJobs(config, bertArchSpace(space));
  assert.equal(jobs.length, config.children * config.seeds.length);
  assert.deepEqual(jobs.slice(4).map((j) => j.arch), jobs.slice(0, 4).map((j) => j.arch), "the second seed retrains every child");
  assert.deepEqual([...new Set(jobs.map((j) => j.seed))], config.seeds);
});

test("an interrupted ground-truth job resumes and ends with the numbers of an uninterrupted one", async () => {
  const space = makeSpace("tiny", data.vocabSize);
  const hash = groundTruthHash(config, bertKit(config.preset, data));
  const [job] = groundTruthJobs(config, bertArchSpace(space));
  assert.equal(await runGroundTruthJob(config, data, job, hash, { stopAfter: 3 }), null, "stopped early: no result yet");
  const resumed = await runGroundTruthJob(config, data, job, hash);
  assert.ok(resumed);
  assert.equal(resumed.resumedFrom, 3);
  const again = await runGroundTruthJob(config, data, job, hash);
  assert.deepEqual(again, resumed, "a finished job loads its result file");

  fs.rmSync(groundTruthRunDir(config, hash), { recursive: true, force: true });
  const straight = await runGroundTruthJob(config, data, job, hash);
  assert.ok(straight);
  assert.equal(straight.resumedFrom, 0);
  assert.equal(straight.valLoss, resumed.valLoss);
  assert.equal(straight.valAccuracy, resumed.valAccuracy);
});

test("finalScoreBatches: a child's final score is on those batches, rescoring a finished checkpoint gives the same row, a bad range fails first", async () => {
  const scored: GroundTruthConfig = { ...config, finalScoreBatches: [{ start: 0, count: 2 }, { start: 3, count: 1 }] };
  const kit = bertKit(scored.preset, data);
  const hash = groundTruthHash(scored, kit);
  assert.notEqual(hash, groundTruthHash(config, kit), "the final score's batches are part of the table's config");
  const [job] = groundTruthJobs(scored, bertArchSpace(makeSpace("tiny", data.vocabSize)));
  const row = (await runGroundTruthJob(scored, data, job, hash))!;
  const plain = (await runGroundTruthJob(config, data, job, groundTruthHash(config, kit)))!;
  assert.deepEqual(row.budgets, plain.budgets, "the budgets stay on the first evalBatches: the training run is the same");
  const model = new Supernet({ space: makeSpace("tiny", data.vocabSize), only: job.arch });
  loadWeights(groundTruthJobDir(groundTruthRunDir(scored, hash), job), model);
  const batches = [...data.validationBatches(2, 0), ...data.validationBatches(1, 3)];
  assert.equal(row.valLoss, model.evaluate(job.arch, batches).loss, "valLoss is the finished weights' loss on batches 0-1 and 3");
  assert.notEqual(row.valLoss, row.budgets[String(scored.steps)], "not the last budget's (batches 0-1)");
  model.dispose();
  tf.dispose(batches.flatMap((b) => [b.inputs, b.labels, b.weights]));

  fs.rmSync(path.join(groundTruthRunDir(scored, hash), "results"), { recursive: true });
  const rescored = (await runGroundTruthJob(scored, data, job, hash))!;
  assert.equal(rescored.resumedFrom, scored.steps, "only scored: the checkpoint was finished");
  assert.deepEqual({ ...rescored, seconds: 0, resumedFrom: 0 }, { ...row, seconds: 0, resumedFrom: 0 });

  const outside: GroundTruthConfig = { ...scored, finalScoreBatches: [{ start: 2, count: data.numValidationBatches }] };
  assert.throws(() => checkFinalScoreBatches(outside, kit), /finalScoreBatches range \{start 2, count \d+\} is outside the \d+ scoring batches/);
  await assert.rejects(buildGroundTruth(outside, { workers: 1 }, kit), /outside the \d+ scoring batches/);
});

test("MAGIC-A refuses an anchor chosen on batches that score the ground truth", async () => {
  const rows = groundTruthJobs(config, bertArchSpace(makeSpace("tiny", data.vocabSize))).map((job) => ({ arch: job.arch, seed: job.seed }));
  const gt = { preset: "tiny", config: { ...config, finalScoreBatches: [{ start: 0, count: 4 }] }, rows } as unknown as GroundTruthTable;
  await assert.rejects(rankScheme({ ...RANK_PRESETS.tiny, steps: 2 }, "magic-a", 1, data, gt),
    /anchor batches 2-3 overlap the ground truth's final-score batches 0-3: MAGIC-A would choose its anchor on batches that score the children/);
});

test("ranking wires sampler, alignment and monitor; its tau, rho and P@k match reference implementations on its CSV export", async () => {
  const space = makeSpace("tiny", data.vocabSize);
  const hash = groundTruthHash(config, bertKit(config.preset, data));
  const rows: GroundTruthRow[] = [];
  for (const job of groundTruthJobs(config, bertArchSpace(space))) rows.push((await runGroundTruthJob(config, data, job, hash))!);
  const gt: GroundTruthTable = { version: 2, preset: "tiny", configHash: hash, config, space, codeVersion: "test", codeDigest: "test", createdAt: "", unigramLoss: 7, rows };
  assert.equal(seedToSeedTau(gt).children, 4);

  const rank = { ...RANK_PRESETS.tiny, steps: 6, monitorEvery: 1, resamples: 50, budgets: [3] };
  assert.throws(() => parseScheme("magic-x"), /unknown scheme 'magic-x'; use one of: uniform, fairnas, magic-t/);
  const at = await rankScheme(rank, "magic-at", 1, data, gt);
  assert.equal(at.children.length, config.children);
  assert.deepEqual(at.children.map((c) => c.groundTruth), rows.slice(0, 4).map((r, i) => (r.valLoss + rows[4 + i].valLoss) / 2), "mean over the two seeds");
  assert.ok(at.baselines.some((b) => b.name === "params") && at.baselines.some((b) => b.name === "random"));
  assert.ok(at.children.every((c) => Number.isFinite(c.supernet)));
  assert.equal(at.coverage.reduce((a, row) => a + row.reduce((x, y) => x + y, 0), 0), rank.steps * space.layers, "every step's child counted");
  assert.equal(at.monitor.length, rank.steps - 1, "magic-t children always share ops: one cosine per step after the first");
  assertStatsMatchCsv([at], toCsv(childRows([at])), "magic-at seed 1");
  const bestK = (key: "supernet" | "groundTruth") => new Set([...at.children].sort((a, b) => a[key] - b[key]).slice(0, rank.topK).map((c) => c.id));
  const predicted = bestK("supernet");
  assert.equal(at.precisionAtK[String(rank.topK)], [...bestK("groundTruth")].filter((id) => predicted.has(id)).length / rank.topK);
  for (const [lo, hi] of [at.ci.kendallTau, at.ci.spearman]) assert.ok(-1 <= lo && lo <= hi && hi <= 1, `CI [${lo}, ${hi}]`);
  assert.equal(at.source, "computed");
  assert.deepEqual(at.budgetScores.map((b) => b.step), [3, 6], "the budget curve: scored at step 3 and at the end");
  assert.deepEqual(at.budgetScores[1].supernet, at.children.map((c) => c.supernet));
  assert.notDeepEqual(at.budgetScores[0].supernet, at.budgetScores[1].supernet);
  const cached = await rankScheme(rank, "magic-at", 1, data, gt);
  assert.equal(cached.source, "cache");
  assert.deepEqual({ ...cached, source: "computed" }, at, "a finished (scheme, seed) loads its result");
  const uniform = await rankScheme(rank, "uniform", 1, data, gt);
  assert.notDeepEqual(uniform.children.map((c) => c.supernet), at.children.map((c) => c.supernet));
});

test("the reference statistics of these checks give the hand-computed values (as scipy)", () => {
  // 10 pairs, C - D = 6, one tie in each input: 6 / sqrt(9 * 9); and S = 5 with 12 untied pairs in each.
  assert.ok(Math.abs(referenceKendallTau([1, 2, 2, 3, 4], [2, 1, 3, 3, 4]) - 2 / 3) < 1e-12);
  assert.ok(Math.abs(referenceKendallTau([1, 1, 2, 2, 3, 3], [1, 2, 1, 3, 3, 2]) - 5 / 12) < 1e-12);
  // ranks [1, 2.5, 2.5, 4, 5] and [2, 1, 3.5, 3.5, 5]: scipy.stats.spearmanr = 29/38
  assert.ok(Math.abs(referenceSpearman([1, 2, 2, 3, 4], [2, 1, 3, 3, 4]) - 29 / 38) < 1e-12);
  assert.deepEqual(parseCsv("scheme,seed,arch\nuniform,1,att2-id\n"), [{ scheme: "uniform", seed: "1", arch: "att2-id" }]);
});

test("the checkout's runs/ and data/ are as they were before these ground-truth and ranking runs", () => {
  assert.deepEqual(checkoutState(), checkoutBefore);
});
