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
import { cheapestChild, randomSearch, regularizedEvolution, smallestParamCount } from "../lib/nas/search";
import { CNN_SEARCH_PRESETS, commitSearchResult, committedSearchFile, defaultBudget, feasibleFraction, searchScheme, verifySearch } from "../lib/experiments/search";
import { UserError } from "../lib/errors";
import { CNN_RETRAIN_PRESETS, type RetrainUnit, commitRetrainUnit, committedRetrainFile, handModel, retrainBudget, retrainModels, retrainUnits, verifyRetrainUnit } from "../lib/experiments/cnn-retrain";
import { compareWithHand, retrainSummary, retrainVerdictText } from "../lib/experiments/cnn-retrain-views";
import { cnnNotebookTables, missingCnnTables, requireCnnTables } from "../lib/experiments/cnn-tables";
import { notebookWaiting } from "../scripts/reproduce";
import { cnnGroundTruthText } from "../lib/experiments/cnn-views";
import { GROUND_TRUTH_TARGETS } from "../lib/experiments/ranking-views";
import { projectPath } from "../lib/paths";

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

test("a FLOPs budget: the cheapest child by FLOPs, every child drawn within it, the default is the children's median FLOPs", async () => {
  const space = makeCnnSpace("small");
  const arch = cnnArchSpace(space);
  const cheapest = cheapestChild(arch, "flops");
  assert.deepEqual(cheapest.arch, parseCnnArch(space, "k3e3-skip-k3e3-skip-skip-k3e3-skip-skip"));
  assert.equal(cheapest.cost, cnnFlops(space, cheapest.arch));
  const budget = defaultBudget(CNN_SEARCH_PRESETS.small, arch);
  assert.equal(budget.measure, "flops", "the CNN default budget is of FLOPs");
  assert.ok(Math.abs(feasibleFraction(arch, budget) - 0.5) < 0.01, "the median: half the children fit");
  const score = (a: number[]) => -arch.paramCount(a); // a synthetic score: the most parameters within the FLOPs budget
  const outcome = await regularizedEvolution({ space: arch, evaluations: 60, seed: 1, maxFlops: budget.max, score, population: 12, sampleSize: 3 });
  for (const step of outcome.history) {
    assert.equal(step.flops, cnnFlops(space, step.arch));
    assert.ok(step.flops <= budget.max, `${step.id}: ${step.flops} FLOPs over ${budget.max}`);
  }
  assert.ok(outcome.history.some((h) => h.flops > 0.9 * budget.max), "the search pushes against the budget");
  await assert.rejects(regularizedEvolution({ space: arch, evaluations: 4, seed: 1, maxFlops: cheapest.cost - 1, score, population: 2, sampleSize: 1 }),
    new UserError(`maxFlops ${cheapest.cost - 1} is below the smallest child of space ${arch.id} (${cheapest.cost} FLOPs: the op with the fewest FLOPs ` +
      `at each of its 8 sub-layers plus the fixed layers'); use maxFlops >= ${cheapest.cost}`));
  await assert.rejects(randomSearch({ space: arch, evaluations: 4, seed: 1, maxFlops: budget.max, maxParams: 1e9, score }), /a search takes one budget/);
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
    assert.deepEqual(Object.keys(row.budgetAccuracy!), ["6", "12"], "CNN rows keep the test accuracy per budget");
    assert.equal(row.budgetAccuracy!["12"], row.valAccuracy);
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
  for (const c of children) assert.equal(c.budgetScores["12"], c.score, "the settling view ranks by the test error");
  // The committed row is recomputed by the same runner (fresh folder, no cache); built here, it records this
  // platform, so bit-equality is required.
  const check = await verifyGroundTruth(table, kit, 1);
  assert.deepEqual([check.maxAbsDiff, check.tolerance, check.ok], [0, 0, true], check.basis);
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

test("CNN tiny FLOPs-budget search: the default budget's search of the uniform supernet, committed as -f<budget>, loaded back and verified by recompute", async (t) => {
  if (cannotTrain(t) || !table) return assert.ok(tf.getBackend() === "wasm", "the ground-truth test ran first");
  const config = CNN_SEARCH_PRESETS.tiny;
  const budget = defaultBudget(config, kit.archSpace);
  const result = await searchScheme(config, "uniform", 1, budget, kit, table);
  assert.equal(result.source, "computed");
  assert.equal(result.space, "cnn");
  assert.equal(result.maxFlops, budget.max);
  assert.equal(result.maxParams, undefined);
  assert.equal(result.supernet.origin, "run", "the ranking test's supernet");
  assert.equal(result.evaluations, config.evaluations);
  assert.ok(result.history.every((h) => h.flops <= budget.max && h.estimatedLoss >= 0 && h.estimatedLoss <= 1), "test errors within the budget");
  assert.equal(result.best.flops, kit.archSpace.flops(result.best.arch));
  const file = commitSearchResult(result);
  assert.equal(file, path.join(scratch, "tables", "search", "cnn-tiny", `uniform-seed1-f${budget.max}.json`));
  assert.equal(committedSearchFile(config, "uniform", 1, budget), file);
  const loaded = await searchScheme(config, "uniform", 1, budget, kit, table);
  assert.equal(loaded.source, "committed");
  assert.deepEqual(loaded.best, result.best);
  const check = await verifySearch(config, loaded, kit, table);
  assert.ok(check.ok && check.sameChildren && check.maxAbsDiff === 0, JSON.stringify(check));
});

test("the hand-designed MobileNetV2-like controls: k3e6 everywhere but the fewest skips, the most FLOPs of such children within the default FLOPs budget", () => {
  for (const preset of ["tiny", "small"] as const) {
    const space = makeCnnSpace(preset);
    const arch = cnnArchSpace(space);
    const budget = retrainBudget(CNN_RETRAIN_PRESETS[preset], arch);
    const hand = handModel(CNN_RETRAIN_PRESETS[preset], arch);
    // Enumerate the k3e6/skip children (skip only where a layer allows it).
    const k3e6 = space.ops.findIndex((o) => o.name === "k3e6"), skip = space.ops.findIndex((o) => o.kind === "identity");
    const free = cnnLayers(space).flatMap((l, i) => (l.choices.includes(skip) ? [i] : []));
    const candidates = Array.from({ length: 2 ** free.length }, (_, m) => cnnLayers(space).map((_, l) => (free.includes(l) && m & (1 << free.indexOf(l)) ? skip : k3e6)));
    const fitting = candidates.filter((a) => arch.flops(a) <= budget.max).sort((a, b) => arch.flops(b) - arch.flops(a));
    assert.deepEqual(hand.arch, fitting[0], preset);
    assert.ok(arch.flops(hand.arch) > 0.75 * budget.max, `${preset}: similar FLOPs to the budget`);
  }
  assert.equal(archFlops("tiny", "k3e6-k3e6-k3e6-skip"), 3792704, "the FLOPs the preset's comment states");
  assert.equal(archFlops("small", "k3e6-k3e6-k3e6-skip-skip-k3e6-k3e6-k3e6"), 13973920, "the FLOPs the preset's comment states");
  assert.throws(() => handModel({ ...CNN_RETRAIN_PRESETS.tiny, hand: { name: "big", arch: "k7e6-k7e6-k7e6-k7e6" } }, kit.archSpace), /big \(k7e6-k7e6-k7e6-k7e6\) has \d+ FLOPs, over the \d+ FLOPs budget; add skips/);
});

/** FLOPs of an arch id of a preset's CNN space. */
function archFlops(preset: "tiny" | "small", id: string): number {
  const space = makeCnnSpace(preset);
  return cnnFlops(space, parseCnnArch(space, id));
}

test("CNN tiny retrain-and-compare: the searched child and the hand-designed one trained from scratch with 2 seeds, committed, verified by recompute", async (t) => {
  if (cannotTrain(t) || !table) return assert.ok(tf.getBackend() === "wasm", "the ground-truth test ran first");
  const config = { ...CNN_RETRAIN_PRESETS.tiny, schemes: ["uniform"] }; // the supernet the ranking test trained
  const { models, searches } = await retrainModels(config, kit, table);
  assert.equal(searches[0].source, "committed", "the FLOPs-search test's committed search");
  assert.deepEqual(models.map((m) => m.name), ["searched-uniform", "mobilenetv2-like"]);
  assert.deepEqual(models[0].arch, searches[0].best.arch);
  const units = await retrainUnits(config, models, kit);
  assert.deepEqual(units.map((u) => `${u.model}-${u.seed}`), ["searched-uniform-0", "mobilenetv2-like-0", "searched-uniform-1", "mobilenetv2-like-1"]);
  for (const u of units) {
    assert.equal(u.source, "computed");
    assert.ok(u.testAccuracy >= 0 && u.testAccuracy <= 1);
    assert.equal(u.testAccuracy, u.row.valAccuracy);
    assert.equal(u.row.steps, CNN_GROUND_TRUTH_PRESETS.tiny.steps, "the CNN ground-truth recipe");
    assert.ok(u.flops <= retrainBudget(config, kit.archSpace).max);
    assert.equal(commitRetrainUnit(config, u), committedRetrainFile(config, u.model, u.seed));
  }
  assert.equal(committedRetrainFile(config, "mobilenetv2-like", 0), path.join(scratch, "tables", "retrain", "cnn-tiny", "mobilenetv2-like-seed0.json"));
  const loaded = await retrainUnits(config, models, kit);
  assert.ok(loaded.every((u) => u.source === "committed"));
  assert.deepEqual(loaded.map((u) => u.testAccuracy), units.map((u) => u.testAccuracy));
  const check = await verifyRetrainUnit(config, loaded[1], kit);
  assert.ok(check.ok && check.maxAbsDiff === 0, JSON.stringify(check));
  // The comparison is computed from the units: mean and spread per model, the paired difference per seed.
  const summary = retrainSummary(units);
  const hand = units.filter((u) => u.model === "mobilenetv2-like").map((u) => u.testAccuracy);
  const searched = units.filter((u) => u.model === "searched-uniform").map((u) => u.testAccuracy);
  assert.equal(summary[1].meanAccuracy, (hand[0] + hand[1]) / 2);
  assert.ok(Math.abs(summary[1].sdAccuracy - Math.abs(hand[0] - hand[1]) / Math.SQRT2) < 1e-12);
  const [comparison] = compareWithHand(units, "mobilenetv2-like");
  assert.ok(Math.abs(comparison.meanDifference - ((searched[0] - hand[0]) + (searched[1] - hand[1])) / 2) < 1e-12);
  assert.equal(comparison.verdict, "too few seeds", "2 seeds: no verdict");
  assert.match(retrainVerdictText(units, "mobilenetv2-like", retrainBudget(config, kit.archSpace)), /searched-uniform .*fewer than 3 seeds: no interval, 2 seeds\): \*\*too few seeds\*\*/);
});

test("compareWithHand: paired by seed, a Student's t 95 % interval over seeds decides better / worse / within the seed spread", () => {
  const unit = (model: string, seed: number, testAccuracy: number) => ({ model, seed, testAccuracy }) as RetrainUnit;
  const hand = [0.5, 0.6, 0.7].map((a, seed) => unit("hand", seed, a));
  const shifted = (model: string, diffs: number[]) => diffs.map((d, seed) => unit(model, seed, hand[seed].testAccuracy + d));
  const units = [...hand, ...shifted("a", [0.1, 0.12, 0.11]), ...shifted("b", [-0.1, -0.12, -0.11]), ...shifted("c", [0.1, -0.05, 0.02])];
  const [a, b, c] = compareWithHand(units, "hand");
  // a: differences 0.10, 0.12, 0.11: mean 0.11, sd 0.01, s.e. 0.01 / sqrt 3; t(2) = 4.303.
  assert.ok(Math.abs(a.meanDifference - 0.11) < 1e-12 && Math.abs(a.standardError - 0.01 / Math.sqrt(3)) < 1e-12);
  assert.ok(Math.abs(a.interval![0] - (0.11 - 4.303 * 0.01 / Math.sqrt(3))) < 1e-12);
  assert.deepEqual([a.verdict, b.verdict, c.verdict], ["better", "worse", "within the seed spread"]);
  assert.equal(compareWithHand(units.filter((u) => u.seed < 2), "hand")[0].verdict, "too few seeds");
});

test("notebook 06 above tiny: one error naming the first missing committed CNN table and the command that builds it; the main job lists it as waiting", () => {
  const tables = cnnNotebookTables("small");
  // ground truth, 5 schemes x 3 seeds of ranking and of interference, 4 searches, (4 searched + 1 hand) x 3 retraining seeds
  assert.equal(tables.length, 1 + 15 + 15 + 4 + 15);
  assert.deepEqual([...new Set(tables.map((t) => t.command))], [
    "npm run magic -- ground-truth --preset small --space cnn",
    "npm run magic -- rank-all --preset small --space cnn",
    "npm run magic -- interference --preset small --space cnn --commit --out interference-cnn-small.json",
    "npm run magic -- cnn-retrain --preset small --commit",
  ]);
  assert.ok(tables.every((t) => t.file.startsWith(path.join(scratch, "tables"))) && new Set(tables.map((t) => t.file)).size === tables.length);
  const gtFile = path.join(scratch, "tables", "ground-truth", "cnn-small.json");
  const message = `notebook 06 at preset small loads committed CNN tables and does not compute them (hours): ` +
    `50 of 50 are missing, the first being the ground truth (${gtFile}); build it with \`npm run magic -- ground-truth --preset small --space cnn\` ` +
    "(then run the notebook again: it names the next one)";
  assert.throws(() => requireCnnTables("small"), new UserError(message));
  // npm run reproduce: at small the notebook waits (not run, this message logged); at tiny, and the other notebooks, run.
  assert.equal(notebookWaiting("06-imagenet", "small"), message);
  assert.equal(notebookWaiting("06-imagenet", "tiny"), null);
  assert.equal(notebookWaiting("04-magic-at", "small"), null);
  fs.writeFileSync(gtFile, "{}");
  try {
    assert.throws(() => requireCnnTables("small"), /49 of 50 are missing, the first being the ranking unit uniform seed 1 \(.*cnn-small.uniform-seed1\.json\); build it with `npm run magic -- rank-all --preset small --space cnn`/);
  } finally {
    fs.rmSync(gtFile);
  }
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

test("the committed CNN small ground truth: of today's config, every child with both seeds, and notebook 06's text weighs its seed-to-seed tau against the aim", () => {
  const gt = JSON.parse(fs.readFileSync(projectPath("data", "ground-truth", "cnn-small.json"), "utf8")) as GroundTruthTable;
  assert.deepEqual(gt.config, CNN_GROUND_TRUTH_PRESETS.small, "the table is of the current CNN small config");
  const children = groundTruthChildren(gt);
  assert.equal(children.length, CNN_GROUND_TRUTH_PRESETS.small.children);
  assert.equal(gt.rows.length, 2 * children.length, "every child is trained with both seeds");
  assert.ok(gt.rows.every((r) => r.steps === gt.config.steps && r.valAccuracy > 0.5), "every row finished its steps, far above chance (10 %)");
  const text = cnnGroundTruthText(gt);
  const tau = seedToSeedTau(gt).tau;
  assert.match(text, new RegExp(`Seed-to-seed Kendall tau of the test error over all children \\*\\*${tau.toFixed(2)}\\*\\*`));
  // 0.31 at the small preset: the text must say plainly that the aim is missed, with the spread and the noise that explain it.
  if (tau < GROUND_TRUTH_TARGETS.seedToSeedTau) assert.match(text, /below the issue's aim of 0\.8\*\*: the children's mean accuracies spread by \d+\.\d\d points .* differ by \d+\.\d\d points per seed/);
  else assert.match(text, /it meets the issue's aim of >= 0\.8/);
});

test("every table notebook 06 loads at small is committed under data/, so the main job runs it", () => {
  const tablesDir = process.env.MAGIC_TABLES_DIR;
  process.env.MAGIC_TABLES_DIR = projectPath("data");
  try {
    assert.equal(cnnNotebookTables("small").length, 50);
    assert.equal(missingCnnTables("small"), null);
    assert.equal(notebookWaiting("06-imagenet", "small"), null);
  } finally {
    process.env.MAGIC_TABLES_DIR = tablesDir;
  }
});
