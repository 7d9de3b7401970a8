// The ground-truth table's derived views (mean over seeds, seed-to-seed tau, budget settling), the draw and
// the pieces the recipe relies on (a seed changes the data order; the unigram floor), on synthetic tables.
import { bertKit } from "../lib/experiments/kit";
import { bertArchSpace } from "../lib/nas/space";
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { projectPath } from "../lib/paths";
import { backendPlatform, initBackend } from "../lib/backend";
import { CROSS_PLATFORM_TOLERANCE } from "../lib/experiments/verify";
import { prepareMlmData, unigramLoss } from "../lib/data";
import { makeSpace, paramCount } from "../lib/nas/space";
import {
  budgetSettling,
  groundTruthChildren,
  drawChildren,
  GROUND_TRUTH_PRESETS,
  groundTruthHash,
  groundTruthJobs,
  groundTruthRunDir,
  readGroundTruthRow,
  recordGroundTruthRow,
  seedToSeedTau,
  type GroundTruthCheck,
  type GroundTruthRow,
  type GroundTruthTable,
  verifyGroundTruth,
} from "../lib/experiments/ground-truth";
import { groundTruthFor } from "../lib/experiments/ground-truth-run";

const data = prepareMlmData("tiny");
const space = makeSpace("tiny", data.vocabSize);

/** A table of `losses[seed][child]` at the final budget 20, with the loss at budget 10 being loss + 1 - child/10. */
function syntheticTable(losses: number[][]): GroundTruthTable {
  const children = drawChildren(bertArchSpace(space), losses[0].length, 3);
  const config = { ...GROUND_TRUTH_PRESETS.tiny, seeds: losses.map((_, i) => i * 7) };
  const rows: GroundTruthRow[] = losses.flatMap((perChild, s) =>
    perChild.map((valLoss, c) => ({
      arch: children[c], id: `child${c}`, seed: config.seeds[s], valLoss, valAccuracy: 0, params: c, flops: c,
      seconds: 0, resumedFrom: 0, steps: 20, budgets: { "10": valLoss + 1 - c / 10, "20": valLoss }, backend: "test",
    })),
  );
  return { version: 2, preset: "tiny", configHash: "h", config, space, codeVersion: "t", codeDigest: "d", createdAt: "", unigramLoss: 9, rows };
}

test("groundTruthChildren averages each child over the seeds; seedToSeedTau compares the two seeds over every child", () => {
  const table = syntheticTable([
    [1, 2, 3, 4],
    [1.5, 1.8, 3.5, 3.4],
  ]);
  const children = groundTruthChildren(table);
  assert.deepEqual(children.map((c) => c.valLoss), [1.25, 1.9, 3.25, 3.7]);
  assert.deepEqual(children[1].perSeed, [2, 1.8]);
  // seed orders: 1 < 2 < 3 < 4 and 1.5 < 1.8 < 3.4 < 3.5: one discordant pair of 6 -> tau = (5 - 1) / 6
  const s2s = seedToSeedTau(table);
  assert.equal(s2s.children, 4);
  assert.deepEqual(s2s.seeds, [0, 7]);
  assert.ok(Math.abs(s2s.tau - 4 / 6) < 1e-12);
  assert.throws(() => groundTruthChildren({ ...table, rows: table.rows.slice(0, 7) }), /child child3 has no row for seed 7/);
});

test("budgetSettling: per budget the seed-to-seed tau, the median loss and the tau with the previous budget", () => {
  const table = syntheticTable([
    [1, 2, 3, 4],
    [1, 2, 3, 4],
  ]);
  const [b10, b20] = budgetSettling(table);
  assert.equal(b10.steps, 10);
  assert.equal(b10.tauWithPrevious, null);
  assert.equal(b10.seedToSeedTau, 1);
  // budget 10 losses: 2, 2.9, 3.8, 4.7 (same order as budget 20) -> tau 1; median = upper middle value
  assert.equal(b20.tauWithPrevious, 1);
  assert.equal(b20.medianLoss, 3);
  assert.ok(Math.abs(b10.medianLoss - 3.8) < 1e-12);
});

test("budgetSettling on a CNN table ranks by the test error at every budget, not by the loss; a row without budgetAccuracy names the rebuild", () => {
  const bert = syntheticTable([
    [1, 2, 3, 4],
    [1, 2, 3, 4],
  ]);
  // The losses keep one order at both budgets (loss taus of 1); the accuracies of the two seeds are in opposite
  // orders at budget 10 and make child 3 the best at budget 20: the CNN taus must follow the accuracies.
  const accuracy: Record<number, number[][]> = { 0: [[0.4, 0.3, 0.2, 0.1], [0.5, 0.6, 0.7, 0.8]], 7: [[0.1, 0.2, 0.3, 0.9], [0.5, 0.6, 0.7, 0.8]] };
  const rows = bert.rows.map((r, i) => {
    const c = i % 4;
    return { ...r, valAccuracy: accuracy[r.seed][1][c], budgetAccuracy: { "10": accuracy[r.seed][0][c], "20": accuracy[r.seed][1][c] } };
  });
  const table: GroundTruthTable = { ...bert, config: { ...bert.config, space: "cnn" }, rows };
  const [b10, b20] = budgetSettling(table);
  assert.equal(b10.seedToSeedTau, -1, "seed 0 and seed 7 accuracies at budget 10 are in opposite orders");
  assert.equal(b20.seedToSeedTau, 1);
  assert.equal(seedToSeedTau(table, "10").tau, -1);
  // Mean errors at budget 10: 0.75, 0.75, 0.75, 0.5; at 20: 0.5, 0.4, 0.3, 0.2 -> 3 concordant pairs, 3 tied at
  // budget 10: tau-b = 3 / sqrt(3 x 6) (the losses would give 1).
  assert.ok(Math.abs(b20.tauWithPrevious! - 3 / Math.sqrt(18)) < 1e-12, String(b20.tauWithPrevious));
  assert.equal(b20.medianLoss, 3, "the median is still of the loss");
  const children = groundTruthChildren(table);
  assert.deepEqual(children.map((c) => c.budgetScores["20"]), [0.5, 0.4, 0.30000000000000004, 0.19999999999999996]);
  assert.deepEqual(children.map((c) => c.budgetScores["10"]), [0.75, 0.75, 0.75, 0.5]);
  // The BERT table's budget scores are its losses.
  assert.deepEqual(groundTruthChildren(bert).map((c) => c.budgetScores), groundTruthChildren(bert).map((c) => c.budgets));
  const old = { ...table, rows: table.rows.map(({ budgetAccuracy: _drop, ...r }) => r) };
  assert.throws(() => budgetSettling(old), /child0 seed 0 has no test accuracy at budget 10.*MAGIC_RECOMPUTE=1 npm run magic -- ground-truth --preset tiny --space cnn/);
});

test("drawChildren: distinct, stratified by size, deterministic, and not in size order", () => {
  const children = drawChildren(bertArchSpace(space), 12, 7);
  assert.deepEqual(children, drawChildren(bertArchSpace(space), 12, 7));
  assert.equal(new Set(children.map((a) => a.join())).size, 12);
  const sizes = children.map((a) => paramCount(space, a));
  const sorted = [...sizes].sort((a, b) => a - b);
  assert.notDeepEqual(sizes, sorted, "the draw order must not be the size order (first-k children would be the smallest)");
  assert.ok(sorted[11] > sorted[0], "the strata span several sizes");
});

test("a training seed changes the data order and masking; the same seed gives the same batch", () => {
  const a = data.trainArrays(3, 0), b = data.trainArrays(3, 1), again = data.trainArrays(3, 1);
  assert.notDeepEqual(a.inputs, b.inputs);
  assert.deepEqual(b.inputs, again.inputs);
  assert.deepEqual(b.weights, again.weights);
  assert.deepEqual(data.trainArrays(3).inputs, a.inputs, "the default seed is settings.seed (0)");
});

test("validation batch ranges are disjoint and in order; unigramLoss is the smoothed unigram cross-entropy", () => {
  const all = data.validationArrays(4);
  const tail = data.validationArrays(2, 2);
  assert.deepEqual(tail.map((b) => b.labels), all.slice(2).map((b) => b.labels));
  assert.equal(data.validationArrays(3, data.numValidationBatches - 1).length, 1, "capped at the batches available");

  // Recomputed here from the definition: add-one counts over the training stream, non-special ids only.
  const counts = new Map<number, number>();
  for (const id of data.train.stream) counts.set(id, (counts.get(id) ?? 0) + 1);
  const special = 5;
  let total = 0;
  for (let id = special; id < data.vocabSize; id++) total += (counts.get(id) ?? 0) + 1;
  let sum = 0, n = 0;
  for (const b of all) b.weights.forEach((w, p) => {
    if (w > 0) {
      sum -= Math.log(((counts.get(b.labels[p]) ?? 0) + 1) / total);
      n++;
    }
  });
  const loss = unigramLoss(data, [{ start: 0, count: 4 }]);
  assert.ok(Math.abs(loss - sum / n) < 1e-9, `${loss} vs ${sum / n}`);
  assert.ok(loss > 0 && loss < Math.log(data.vocabSize), "below the uniform distribution's loss");
  assert.equal(unigramLoss(data, [{ start: 0, count: 1 }, { start: 1, count: 3 }]), loss, "ranges that cover the same batches give the same floor");
  assert.notEqual(unigramLoss(data, [{ start: 0, count: 1 }, { start: 2, count: 2 }]), loss, "a skipped batch changes it");
});

/** `table` with job `check.job`'s row as recomputed here, recording this process's platform. */
function tableRecomputedHere(table: GroundTruthTable, check: GroundTruthCheck): GroundTruthTable {
  const copy = structuredClone(table);
  const row = copy.rows.find((r) => `${r.id}-seed${r.seed}` === check.job)!;
  Object.assign(row, { valLoss: check.recomputed.valLoss, budgets: check.recomputed.budgets, platform: backendPlatform() });
  return copy;
}

test("verifyGroundTruth recomputes a committed tiny job bit-equal, and flags a changed number", async () => {
  const runs = fs.mkdtempSync(path.join(os.tmpdir(), "magic-verify-"));
  const before = process.env.MAGIC_RUNS_DIR;
  process.env.MAGIC_RUNS_DIR = runs;
  try {
    await initBackend({ quiet: true });
    const table = JSON.parse(fs.readFileSync(projectPath("data", "ground-truth", "tiny.json"), "utf8")) as GroundTruthTable;
    // The committed table records no platform: bit-equal on the machines that built it, within the
    // cross-platform tolerance on a CPU whose float kernels differ.
    const check = await verifyGroundTruth(table, data, 1);
    assert.equal(check.tolerance, CROSS_PLATFORM_TOLERANCE);
    assert.match(check.basis, /without a record of its platform/);
    assert.ok(check.maxAbsDiff <= CROSS_PLATFORM_TOLERANCE && check.ok, `largest difference ${check.maxAbsDiff}`);
    const tampered = structuredClone(table);
    const row = tampered.rows.find((r) => `${r.id}-seed${r.seed}` === check.job)!;
    row.budgets[Object.keys(row.budgets)[0]] += 10 * CROSS_PLATFORM_TOLERANCE;
    assert.equal((await verifyGroundTruth(tampered, data, 1)).ok, false, "a number changed beyond the tolerance fails");
    // A row that records this platform must come out bit-equal: a change in its last digits fails.
    const here = await verifyGroundTruth(tableRecomputedHere(table, check), data, 1);
    assert.deepEqual([here.maxAbsDiff, here.tolerance, here.ok], [0, 0, true], here.basis);
    const nudged = tableRecomputedHere(table, check);
    nudged.rows.find((r) => `${r.id}-seed${r.seed}` === check.job)!.valLoss += 1e-6;
    const failed = await verifyGroundTruth(nudged, data, 1);
    assert.deepEqual([failed.tolerance, failed.ok], [0, false]);
    assert.match(failed.basis, /^committed and recomputed on .*: bit-equal required$/);
    assert.deepEqual(fs.readdirSync(runs).flatMap((d) => fs.readdirSync(path.join(runs, d))), [], "the verification folder is removed");
  } finally {
    if (before === undefined) delete process.env.MAGIC_RUNS_DIR;
    else process.env.MAGIC_RUNS_DIR = before;
    fs.rmSync(runs, { recursive: true, force: true });
  }
});

test("a build replaces a committed table of another config, and a recompute resumes the build's finished jobs", async () => {
  const dirs = { MAGIC_RUNS_DIR: fs.mkdtempSync(path.join(os.tmpdir(), "magic-gt-runs-")), MAGIC_TABLES_DIR: fs.mkdtempSync(path.join(os.tmpdir(), "magic-gt-tables-")) };
  const before = { MAGIC_RUNS_DIR: process.env.MAGIC_RUNS_DIR, MAGIC_TABLES_DIR: process.env.MAGIC_TABLES_DIR };
  Object.assign(process.env, dirs);
  try {
    await initBackend({ quiet: true });
    const committed = JSON.parse(fs.readFileSync(projectPath("data", "ground-truth", "tiny.json"), "utf8")) as GroundTruthTable;
    const config = GROUND_TRUTH_PRESETS.tiny;
    const hash = groundTruthHash(config, bertKit(config.preset, data));
    assert.equal(committed.configHash, hash, "the committed tiny table is of the current config");
    fs.mkdirSync(path.join(dirs.MAGIC_TABLES_DIR, "ground-truth"));
    fs.writeFileSync(path.join(dirs.MAGIC_TABLES_DIR, "ground-truth", "tiny.json"), JSON.stringify({ ...committed, configHash: "0000" }));
    await assert.rejects(groundTruthFor("tiny", data, { recompute: false }), /computed for config hash 0000.*npm run magic -- ground-truth --preset tiny/);
    // Every job of the build already finished (its result files, marked so a retrain would show): nothing trains.
    const runDir = groundTruthRunDir(config, hash);
    const jobs = groundTruthJobs(config, bertArchSpace(space));
    const finished = jobs.map((job) => ({ ...committed.rows.find((r) => `${r.id}-seed${r.seed}` === job.key)!, seconds: -1 }));
    jobs.forEach((job, i) => recordGroundTruthRow(runDir, job, finished[i]));
    const built = await groundTruthFor("tiny", data, { build: true, recompute: false });
    assert.equal(built.source, "computed");
    assert.equal(built.configHash, hash);
    assert.deepEqual(built.rows, finished);
    const rebuilt = await groundTruthFor("tiny", data, { recompute: true });
    assert.deepEqual(rebuilt.rows, finished, "MAGIC_RECOMPUTE keeps the finished jobs of this code's build folder");
    assert.deepEqual(jobs.map((job) => readGroundTruthRow(runDir, job)), finished);
  } finally {
    for (const [name, value] of Object.entries(before)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    for (const dir of Object.values(dirs)) fs.rmSync(dir, { recursive: true, force: true });
  }
});
