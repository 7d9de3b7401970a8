// Experiment 01 on the ranking runs' supernets at the tiny preset: the per-scheme section's shape, the same
// pairs under every scheme, committed units loaded and verified by a fresh recompute (bit-equal), a stale one
// an error naming the rebuild, and the reuse of a finished run of earlier code only when its scores match.
// Tables and runs go to temp folders (MAGIC_TABLES_DIR, MAGIC_RUNS_DIR), never into the checkout.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { useTinyTables } from "./helpers/tiny-tables";
import { commitRankResult, RANK_PRESETS, rankedSupernet, rankScheme } from "../lib/experiments/ranking";
import {
  commitInterferenceUnit, committedInterferenceFile, interferenceConfig, interferenceUnit, runInterference, verifyInterferenceUnit,
} from "../lib/experiments/interference";

const tables = useTinyTables("magic-interference-");
const config = interferenceConfig("tiny", { schemes: ["uniform", "magic-a"], seeds: [1, 2], resamples: 100 });

test("the report: both observations over seeds, the per-scheme section on the same pairs, the monitor from the ranking runs", async () => {
  const report = await runInterference(config, tables.data, tables.gt);
  const layers = 4; // the tiny space
  const c = report.checkpoints[0];
  assert.equal(c.step, RANK_PRESETS.tiny.steps);
  assert.deepEqual(c.seeds, [1, 2]);
  assert.equal(c.pairs.length, 2 * layers * (layers - 1) * config.pairsPerCell, "uniform: every (layer, k) cell, both seeds");
  assert.deepEqual(c.clusters, { seeds: 2, batches: 2 * config.analysisBatches });
  assert.deepEqual(c.withinK.map((w) => w.k), [1, 2, 3]);
  assert.deepEqual(Object.keys(c.partial).sort(), ["input", "inputGivenOutputGrad", "output", "outputGivenOutputGrad", "outputGrad"]);
  for (const b of c.byK) assert.equal(b.clusteredCi.length, 2);

  const [base, other] = report.schemes.rows;
  assert.deepEqual(report.schemes.rows.map((r) => r.scheme), ["uniform", "magic-a"]);
  const yardstick = 2 * layers * config.yardstickKs.length * config.yardstickPairs;
  assert.equal(base.pairs, yardstick);
  assert.equal(other.pairs, yardstick);
  assert.equal(base.vsBase, null);
  assert.equal(other.vsBase!.pairs, yardstick, "every yardstick pair of magic-a matched to uniform's");
  assert.deepEqual(other.byK.map((b) => b.k), config.yardstickKs);
  assert.equal(report.schemes.units.length, 4);
  assert.equal(report.schemes.tauCorrelation.units, 4);
  assert.deepEqual(report.monitor.map((m) => m.sampler), ["uniform", "magic-a"]);
  assert.deepEqual(report.units.map((u) => [u.scheme, u.seed, u.source]), [["uniform", 1, "computed"], ["uniform", 2, "computed"], ["magic-a", 1, "computed"], ["magic-a", 2, "computed"]]);

  // The yardstick pairs of magic-a are uniform's, arch for arch and batch for batch.
  const key = (p: { seed: number; layer: number; k: number; index: number; batch: number; a: number[]; b: number[] }) => `${p.seed}/${p.layer}/${p.k}/${p.index}/${p.batch}/${p.a}/${p.b}`;
  const uniformKeys = new Set(c.pairs.map(key));
  const magicA = await interferenceUnit(config, "magic-a", 1, tables.data, tables.gt);
  assert.equal(magicA.source, "cache");
  assert.ok(magicA.pairs.every((p) => uniformKeys.has(key(p))));
});

test("commit, load, verify: the committed unit is served without training, and a fresh recompute equals it", async () => {
  const computed = await interferenceUnit(config, "magic-a", 2, tables.data, tables.gt);
  const file = commitInterferenceUnit(computed);
  assert.equal(file, committedInterferenceFile("tiny", "magic-a", 2));
  assert.equal(file, path.join(tables.scratch, "tables", "interference", "tiny", "magic-a-seed2.json"));
  fs.rmSync(path.join(tables.scratch, "runs", "interference"), { recursive: true, force: true });
  const loaded = await interferenceUnit(config, "magic-a", 2, tables.data, tables.gt);
  assert.equal(loaded.source, "committed");
  assert.deepEqual(loaded.pairs, computed.pairs);

  const check = await verifyInterferenceUnit(config, loaded, tables.data, tables.gt);
  assert.equal(check.numbers, 5 * computed.pairs.length);
  assert.equal(check.maxAbsDiff, 0);
  assert.ok(check.ok);
  const tampered = structuredClone(loaded);
  tampered.pairs[1].outputGradCosine += 1e-7;
  assert.equal((await verifyInterferenceUnit(config, tampered, tables.data, tables.gt)).ok, false, "a changed number fails the check");
});

test("a committed unit of another configuration is an error naming the command that rebuilds it", async () => {
  const file = committedInterferenceFile("tiny", "uniform", 2);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify({ configHash: "0000", pairs: [] }));
  await assert.rejects(interferenceUnit(config, "uniform", 2, tables.data, tables.gt), /was computed for config hash 0000.*interference --preset tiny --commit/);
  await assert.doesNotReject(interferenceUnit(config, "uniform", 2, tables.data, tables.gt, { useCommitted: false }));
  fs.rmSync(file);
});

test("a finished run left by earlier code is reused only when its first children score as the ranking result", async () => {
  const rankConfig = RANK_PRESETS.tiny;
  const first = await rankedSupernet(rankConfig, "uniform", 3, tables.data, tables.gt);
  assert.equal(first.origin, "trained");
  const scores = first.rank.children.map((c) => c.supernet);
  first.release();
  commitRankResult(first.rank);
  // The same run under another code digest (folder name), as after an edit of any result source.
  const dir = first.checkpointDir, earlier = dir.replace(/-[0-9a-f]{12}-([a-z]+)$/, "-000000000000-$1");
  fs.renameSync(dir, earlier);
  const reused = await rankedSupernet(rankConfig, "uniform", 3, tables.data, tables.gt);
  assert.equal(reused.origin, "earlier-code run");
  assert.equal(reused.checkpointDir, earlier);
  assert.equal(reused.rank.source, "committed");
  assert.deepEqual(reused.model.evaluate(reused.rank.children[0].arch, tables.data.validationBatches(tables.gt.config.evalBatches)).loss, scores[0]);
  reused.release();
  // A ranking result the earlier run does not reproduce: the run is not trusted, the supernet is trained again.
  const file = path.join(tables.scratch, "tables", "ranking", "tiny", "uniform-seed3.json");
  const doctored = JSON.parse(fs.readFileSync(file, "utf8"));
  doctored.children[0].supernet += 1e-6;
  fs.writeFileSync(file, JSON.stringify(doctored));
  const retrained = await rankedSupernet(rankConfig, "uniform", 3, tables.data, tables.gt);
  assert.equal(retrained.origin, "trained");
  assert.equal(retrained.rank.source, "computed");
  assert.deepEqual(retrained.rank.children.map((c) => c.supernet), scores);
  retrained.release();
  assert.equal((await rankScheme(rankConfig, "uniform", 3, tables.data, tables.gt, { useCommitted: false })).source, "cache");
});
