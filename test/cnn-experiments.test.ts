// The CNN space through the same experiment runners as BERT (issue 13): a tiny ground truth (4 children x 2 seeds,
// the one runner: runGroundTruthJob + mergeGroundTruth), tiny rank runs of uniform and MAGIC-AT (the one
// rankScheme) with BN recalibration in every score, committed tables under the cnn-tiny layout, and the seam
// pieces (ArchSpace, baselines, search) on the CNN space. Tables and runs go to temp folders.
import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { after, before } from "node:test";
import { initBackend } from "../lib/backend";
import { cnnKit, kitFor, type CnnKit } from "../lib/experiments/kit";
import {
  CNN_GROUND_TRUTH_PRESETS,
  groundTruthChildren,
  groundTruthHash,
  groundTruthJobs,
  groundTruthTablePath,
  loadGroundTruth,
  mergeGroundTruth,
  runGroundTruthJob,
  seedToSeedTau,
  verifyGroundTruth,
  type GroundTruthTable,
} from "../lib/experiments/ground-truth";
import { CNN_RANK_PRESETS, commitRankResult, committedRankFile, plannedUnits, rankedSupernet, rankScheme } from "../lib/experiments/ranking";
import { baselineScores } from "../lib/experiments/baselines";
import { commitInterferenceUnit, committedInterferenceFile, interferenceConfig, interferenceUnit, runInterference } from "../lib/experiments/interference";
import { cnnArchSpace, cnnFlops, cnnLayers, cnnParamCount, makeCnnSpace, parseCnnArch } from "../lib/nas/cnn-space";
import { largestChild, smallestChild } from "../lib/nas/arch-space";
import { randomSearch, regularizedEvolution, smallestParamCount } from "../lib/nas/search";

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "magic-cnn-experiments-"));
let kit: CnnKit;

before(async () => {
  process.env.MAGIC_RUNS_DIR = path.join(scratch, "runs");
  process.env.MAGIC_TABLES_DIR = path.join(scratch, "tables");
  await initBackend({ quiet: true });
  kit = cnnKit("tiny");
});
after(() => {
  delete process.env.MAGIC_RUNS_DIR;
  delete process.env.MAGIC_TABLES_DIR;
  fs.rmSync(scratch, { recursive: true, force: true });
});

/** tfjs-backend-wasm has no conv gradient kernels (CnnSupernet.loss refuses it): say so and skip. */
function cannotTrain(t: TestContext): boolean {
  if (tf.getBackend() !== "wasm") return false;
  t.skip("tfjs-backend-wasm has no conv gradient kernels; the CNN trains on native or cpu");
  return true;
}

test("the CNN ArchSpace: per-layer choices (no identity where a stage starts), counts and ids as cnn-space.ts", () => {
  const space = makeCnnSpace("tiny");
  const arch = cnnArchSpace(space);
  assert.deepEqual(arch.choices, cnnLayers(space).map((l) => l.choices.length));
  assert.deepEqual(arch.choices, [6, 7, 6, 7]);
  const child = parseCnnArch(space, "k3e6-skip-k5e3-k7e6");
  assert.equal(arch.paramCount(child), cnnParamCount(space, child));
  assert.equal(arch.flops(child), cnnFlops(space, child));
  assert.equal(arch.archId(child), "k3e6-skip-k5e3-k7e6");
  assert.deepEqual(smallestChild(arch), parseCnnArch(space, "k3e3-skip-k3e3-skip"));
  assert.deepEqual(largestChild(arch), parseCnnArch(space, "k7e6-k7e6-k7e6-k7e6"));
  assert.throws(() => arch.validate([6, 6, 0, 0]), /layer 0: value 6 is not allowed.*so no identity/);
  const scores = new Map(baselineScores(arch, [child, smallestChild(arch)]).map((s) => [s.name, s.scores]));
  assert.deepEqual([...scores.keys()], ["params", "flops", "count-mbconv", "count-identity"]);
  assert.deepEqual(scores.get("count-identity"), [-1, -2]);
  assert.deepEqual(scores.get("count-mbconv"), [-3, -2]);
});

test("the search runs on the CNN space's seam: every child within the budget, stage starts never identity", async () => {
  const arch = cnnArchSpace(makeCnnSpace("small"));
  const maxParams = Math.round((smallestParamCount(arch) + arch.paramCount(largestChild(arch))) / 2);
  const score = (a: number[]) => -arch.flops(a); // a synthetic score: the most FLOPs within the budget
  for (const outcome of [
    await regularizedEvolution({ space: arch, evaluations: 60, seed: 1, maxParams, score, population: 12, sampleSize: 3 }),
    await randomSearch({ space: arch, evaluations: 60, seed: 1, maxParams, score }),
  ]) {
    for (const step of outcome.history) {
      arch.validate(step.arch);
      assert.ok(step.params <= maxParams);
    }
  }
});

let table: GroundTruthTable;

test("CNN tiny ground truth: the one runner trains 4 children x 2 seeds, scores test accuracy with BN recalibrated, writes cnn-tiny.json", async (t) => {
  if (cannotTrain(t)) return;
  const config = CNN_GROUND_TRUTH_PRESETS.tiny;
  const hash = groundTruthHash(config, kit);
  assert.notEqual(hash, groundTruthHash({ ...config, seeds: [0, 2] }, kit));
  const jobs = groundTruthJobs(config, kit.archSpace);
  assert.equal(jobs.length, 8);
  for (const job of jobs) {
    const row = (await runGroundTruthJob(config, kit, job, hash))!;
    assert.ok(row.valAccuracy >= 0 && row.valAccuracy <= 1 && Number.isFinite(row.valLoss), job.key);
    assert.deepEqual(Object.keys(row.budgets), ["6", "12"]);
  }
  table = mergeGroundTruth(config, kit, hash);
  assert.equal(groundTruthTablePath(config), path.join(scratch, "tables", "ground-truth", "cnn-tiny.json"));
  assert.deepEqual(loadGroundTruth(config, hash), table);
  assert.equal(table.unigramLoss, Math.log(10));
  const children = groundTruthChildren(table);
  // The CNN ranking key is the test error: 1 - accuracy, averaged over the seeds.
  for (const c of children) {
    const rows = table.rows.filter((r) => r.id === c.id);
    assert.equal(c.score, rows.reduce((a, r) => a + (1 - r.valAccuracy), 0) / rows.length);
  }
  assert.ok(Number.isFinite(seedToSeedTau(table).tau) || children.length < 2);
  // The committed row is recomputed bit for bit by the same runner (fresh folder, no cache).
  const check = await verifyGroundTruth(table, kit, 1);
  assert.equal(check.maxAbsDiff, 0);
  assert.ok(check.ok);
});

test("CNN tiny ranking: uniform and MAGIC-AT through the one rankScheme; scores recalibrate BN; committed under ranking/cnn-tiny", async (t) => {
  if (cannotTrain(t) || !table) return assert.ok(tf.getBackend() === "wasm", "the ground-truth test ran first");
  const config = CNN_RANK_PRESETS.tiny;
  const before = tf.memory().numTensors;
  for (const scheme of ["uniform", "magic-at"]) {
    const result = await rankScheme(config, scheme, 1, kit, table);
    assert.equal(result.source, "computed");
    assert.equal(result.space, "cnn");
    assert.equal(result.children.length, 4);
    assert.deepEqual(result.coverage.map((row) => row.length), kit.archSpace.choices);
    assert.ok(result.children.every((c) => c.supernet >= 0 && c.supernet <= 1), "test errors");
    assert.deepEqual(result.children.map((c) => c.groundTruth), groundTruthChildren(table).map((c) => c.score));
    assert.deepEqual(result.budgetScores.map((b) => b.step), [6, 12]);
    assert.ok(result.monitor.length > 0, "the live interference monitor ran on the CNN supernet");
    assert.ok(result.baselines.some((b) => b.name === "count-identity"));
    const file = commitRankResult(result);
    assert.equal(file, path.join(scratch, "tables", "ranking", "cnn-tiny", `${scheme}-seed1.json`));
    assert.equal(committedRankFile(config, scheme, 1), file);
    assert.equal((await rankScheme(config, scheme, 1, kit, table)).source, "committed");
  }
  // Scoring recalibrates each child's BN statistics: stale running statistics do not change a score.
  const ranked = await rankedSupernet(config, "uniform", 1, kit, table);
  try {
    const child = groundTruthChildren(table)[0].arch;
    const first = ranked.score(child);
    assert.equal(first, ranked.rank.children[0].supernet);
    for (const v of ranked.model.runningStats().values()) tf.tidy(() => v.assign(tf.fill(v.shape, 3)));
    assert.equal(ranked.score(child), first);
  } finally {
    ranked.release();
  }
  assert.ok(tf.memory().numTensors <= before + 8, `tensors leak: ${before} -> ${tf.memory().numTensors}`);
});

test("kitFor: the config names the space; a kit of another space or preset is refused; the CNN plan is the issue's five schemes", () => {
  assert.deepEqual([...new Set(plannedUnits(CNN_RANK_PRESETS.small).map((u) => u.scheme))], ["uniform", "fairnas", "magic-t", "magic-a", "magic-at"]);
  assert.equal(plannedUnits(CNN_RANK_PRESETS.small).length, 15);
  assert.equal(kitFor(CNN_RANK_PRESETS.tiny), kit);
  assert.throws(() => kitFor({ preset: "small", space: "cnn" }, kit), /cnn tiny kit was passed for a cnn small config/);
  assert.throws(() => kitFor({ preset: "tiny" }, kit), /cnn tiny kit was passed for a bert tiny config/);
  assert.throws(() => cnnKit("paper"), /ImageNet-sized.*use --preset tiny or small/);
});

test("CNN tiny interference: the one analysis measures pairs on the ranking supernets (layer inputs x_0..x_L) and summarises them", async (t) => {
  if (cannotTrain(t) || !table) return assert.ok(tf.getBackend() === "wasm", "the ground-truth test ran first");
  const config = interferenceConfig("tiny", { schemes: ["uniform", "magic-at"], seeds: [1], resamples: 50 }, "cnn");
  assert.equal(config.space, "cnn");
  const unit = await interferenceUnit(config, "uniform", 1, kit, table);
  assert.equal(unit.source, "computed");
  assert.equal(unit.space, "cnn");
  assert.equal(unit.supernet.origin, "run", "the ranking test's trained supernet, not a retrain");
  assert.equal(unit.pairs.length, 4 * 3 * config.pairsPerCell, "every (layer, k) cell");
  for (const p of unit.pairs) {
    kit.archSpace.validate(p.a);
    kit.archSpace.validate(p.b);
    assert.ok(kit.archSpace.opFamily(p.layer, p.a[p.layer]) === "mbconv" && p.a[p.layer] === p.b[p.layer], "a shared op with parameters");
    assert.ok(Math.abs(p.gradCosine) <= 1 + 1e-6 && Number.isFinite(p.inputCosine), JSON.stringify(p));
  }
  const file = commitInterferenceUnit(unit);
  assert.equal(file, path.join(scratch, "tables", "interference", "cnn-tiny", "uniform-seed1.json"));
  assert.equal(committedInterferenceFile(config, "uniform", 1), file);
  const report = await runInterference(config, kit, table);
  assert.equal(report.space, kit.archSpace.id);
  assert.equal(report.checkpoints[0].pairs.length, unit.pairs.length);
  assert.equal(report.units.find((u) => u.scheme === "uniform")!.source, "committed");
});
