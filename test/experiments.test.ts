// The experiments' wiring on the tiny preset: the ground-truth draw and resumable jobs, and scheme ranking
// (sampler, MAGIC-A alignment, monitor, coverage, recomputable statistics). Runs go to a temp MAGIC_RUNS_DIR.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { initBackend } from "../lib/backend";
import { prepareMlmData, type MlmData } from "../lib/data";
import { makeSpace } from "../lib/nas/space";
import {
  GROUND_TRUTH_PRESETS,
  groundTruthDirs,
  groundTruthHash,
  groundTruthJobs,
  runGroundTruthJob,
  seedToSeedTau,
  type GroundTruthConfig,
  type GroundTruthRow,
  type GroundTruthTable,
} from "../lib/experiments/ground-truth";
import { RANK_PRESETS, parseScheme, rankScheme, rankStats } from "../lib/experiments/ranking";

const runs = fs.mkdtempSync(path.join(os.tmpdir(), "magic-exp-"));
let data: MlmData;
before(async () => {
  process.env.MAGIC_RUNS_DIR = runs;
  await initBackend({ quiet: true });
  data = prepareMlmData("tiny");
});
after(() => {
  delete process.env.MAGIC_RUNS_DIR;
  fs.rmSync(runs, { recursive: true, force: true });
});

const config: GroundTruthConfig = { ...GROUND_TRUTH_PRESETS.tiny, children: 4, steps: 8, budgetEvery: 4, evalBatches: 2 };

test("every ground-truth child is trained once per seed", () => {
  const space = makeSpace("tiny", data.vocabSize);
  const jobs = groundTruthJobs(config, space);
  assert.equal(jobs.length, config.children * config.seeds.length);
  assert.deepEqual(jobs.slice(4).map((j) => j.arch), jobs.slice(0, 4).map((j) => j.arch), "the second seed retrains every child");
  assert.deepEqual([...new Set(jobs.map((j) => j.seed))], config.seeds);
});

test("an interrupted ground-truth job resumes and ends with the numbers of an uninterrupted one", async () => {
  const space = makeSpace("tiny", data.vocabSize);
  const hash = groundTruthHash(config, space, data);
  const [job] = groundTruthJobs(config, space);
  assert.equal(await runGroundTruthJob(config, data, job, hash, { stopAfter: 3 }), null, "stopped early: no result yet");
  const resumed = await runGroundTruthJob(config, data, job, hash);
  assert.ok(resumed);
  assert.equal(resumed.resumedFrom, 3);
  const again = await runGroundTruthJob(config, data, job, hash);
  assert.deepEqual(again, resumed, "a finished job loads its result file");

  fs.rmSync(groundTruthDirs(config, hash).run, { recursive: true, force: true });
  const straight = await runGroundTruthJob(config, data, job, hash);
  assert.ok(straight);
  assert.equal(straight.resumedFrom, 0);
  assert.equal(straight.valLoss, resumed.valLoss);
  assert.equal(straight.valAccuracy, resumed.valAccuracy);
});

test("ranking wires sampler, alignment and monitor, and its statistics recompute from per-child values", async () => {
  const space = makeSpace("tiny", data.vocabSize);
  const hash = groundTruthHash(config, space, data);
  const rows: GroundTruthRow[] = [];
  for (const job of groundTruthJobs(config, space)) rows.push((await runGroundTruthJob(config, data, job, hash))!);
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
  const recomputed = rankStats(at.children, rank.topK, rank.resamples, at.seed);
  assert.equal(recomputed.kendallTau, at.kendallTau);
  assert.deepEqual(recomputed.ci, at.ci);
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
