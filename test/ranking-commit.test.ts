// Committed ranking tables: a computed (scheme, seed) is committed, loaded back instead of retrained, verified
// by a fresh recompute (bit-equal on the same backend), and a stale one is an error naming the rebuild.
// Tables and runs go to temp folders (MAGIC_TABLES_DIR, MAGIC_RUNS_DIR), never into the checkout.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { useTinyTables } from "./helpers/tiny-tables";
import { commitRankResult, committedRankFile, plannedUnits, RANK_PRESETS, RANKING_PLAN, rankScheme, rebaseCommittedRankResults, verifyRankUnit, type RankResult } from "../lib/experiments/ranking";
import { kendallTau } from "../lib/metrics";
import { groundTruthChildren } from "../lib/experiments/ground-truth";

const tables = useTinyTables("magic-commit-");
const config = { ...RANK_PRESETS.tiny, steps: 6, budgets: [3] };

test("commit, load, verify: the committed result is served instead of a retrain, and a fresh recompute equals it", async () => {
  const computed = await rankScheme(config, "magic-at", 1, tables.data, tables.gt);
  assert.equal(computed.source, "computed");
  const file = commitRankResult(computed);
  assert.equal(file, path.join(tables.scratch, "tables", "ranking", "tiny", "magic-at-seed1.json"));
  assert.equal(committedRankFile("tiny", "magic-at", 1), file);

  fs.rmSync(path.join(tables.scratch, "runs"), { recursive: true, force: true }); // no cache left: only the table can serve it
  const loaded = await rankScheme(config, "magic-at", 1, tables.data, tables.gt);
  assert.equal(loaded.source, "committed");
  assert.deepEqual(loaded.children, computed.children);
  assert.equal(fs.existsSync(path.join(tables.scratch, "runs", "rank")), false, "nothing was trained");

  const check = await verifyRankUnit(config, loaded, tables.data, tables.gt);
  assert.equal(check.tolerance, 0);
  assert.equal(check.maxAbsDiff, 0);
  assert.ok(check.ok);
  const tampered = structuredClone(loaded);
  tampered.children[2].supernet += 1e-7;
  assert.equal((await verifyRankUnit(config, tampered, tables.data, tables.gt)).ok, false, "a changed number fails the check");
});

test("a committed result of another configuration is an error naming the command that rebuilds it", async () => {
  const file = committedRankFile("tiny", "uniform", 2);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify({ configHash: "0000", children: [] }));
  await assert.rejects(rankScheme(config, "uniform", 2, tables.data, tables.gt), /was computed for config hash 0000.*rank --scheme uniform --seed 2 --preset tiny --commit/);
  await assert.doesNotReject(rankScheme(config, "uniform", 2, tables.data, tables.gt, { useCommitted: false }));
  fs.rmSync(file);
});

test("a ground truth rebuilt for the same children rescores a committed result without training, as a retrain against it would", async () => {
  const computed = await rankScheme(config, "uniform", 1, tables.data, tables.gt);
  const file = commitRankResult(computed);
  // The same children trained differently: losses reversed, so every statistic against them moves.
  const rebuilt = structuredClone(tables.gt);
  rebuilt.configHash = "feedfacefeedface";
  for (const row of rebuilt.rows) row.valLoss = 10 - row.valLoss;
  await assert.rejects(rankScheme(config, "uniform", 1, tables.data, rebuilt), /scored against ground truth .* rank-rebase --preset tiny/);

  // Every committed result of the plan is rescored (the first test's magic-at seed 1 too).
  assert.deepEqual(rebaseCommittedRankResults(config, tables.data, rebuilt).sort(), [file, committedRankFile("tiny", "magic-at", 1)].sort());
  assert.deepEqual(rebaseCommittedRankResults(config, tables.data, rebuilt), [], "already rescored");
  const rebased = await rankScheme(config, "uniform", 1, tables.data, rebuilt);
  assert.equal(rebased.source, "committed");
  assert.equal(rebased.groundTruthHash, rebuilt.configHash);
  assert.ok(rebased.rebasedAt);
  assert.deepEqual(rebased.children.map((c) => c.supernet), computed.children.map((c) => c.supernet));
  assert.deepEqual(rebased.children.map((c) => c.groundTruth), groundTruthChildren(rebuilt).map((c) => c.valLoss));
  assert.equal(rebased.kendallTau, kendallTau(rebased.children.map((c) => c.supernet), rebased.children.map((c) => c.groundTruth)));
  assert.notEqual(rebased.kendallTau, computed.kendallTau);

  fs.rmSync(path.join(tables.scratch, "runs"), { recursive: true, force: true });
  const retrained = await rankScheme(config, "uniform", 1, tables.data, rebuilt, { useCommitted: false });
  assert.equal(retrained.source, "computed");
  const againstTruth = (r: RankResult) => ({ children: r.children, kendallTau: r.kendallTau, spearman: r.spearman, precisionAtK: r.precisionAtK, ci: r.ci, baselines: r.baselines, configHash: r.configHash });
  assert.deepEqual(againstTruth(rebased), againstTruth(retrained));
});

test("the plan names known schemes; its units are distinct and cover every notebook's schemes and seeds", () => {
  const units = plannedUnits(RANK_PRESETS.small);
  assert.equal(new Set(units.map((u) => `${u.scheme}/${u.seed}`)).size, units.length);
  for (const { main, ablation } of Object.values(RANKING_PLAN)) {
    for (const scheme of main) for (const seed of RANK_PRESETS.small.seeds) assert.ok(units.some((u) => u.scheme === scheme && u.seed === seed), `${scheme}/${seed}`);
    for (const scheme of ablation) for (const seed of RANK_PRESETS.small.ablationSeeds) assert.ok(units.some((u) => u.scheme === scheme && u.seed === seed), `${scheme}/${seed}`);
  }
});
