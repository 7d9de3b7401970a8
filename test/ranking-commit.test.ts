// Committed ranking tables: a computed (scheme, seed) is committed, loaded back instead of retrained, verified
// by a fresh recompute (bit-equal on the same backend), and a stale one is an error naming the rebuild.
// Tables and runs go to temp folders (MAGIC_TABLES_DIR, MAGIC_RUNS_DIR), never into the checkout.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { initBackend } from "../lib/backend";
import { prepareMlmData, type MlmData } from "../lib/data";
import { projectPath } from "../lib/paths";
import type { GroundTruthTable } from "../lib/experiments/ground-truth";
import { commitRankResult, committedRankFile, plannedUnits, RANK_PRESETS, RANKING_PLAN, rankScheme, verifyRankUnit } from "../lib/experiments/ranking";

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "magic-commit-"));
let data: MlmData;
let gt: GroundTruthTable;
const config = { ...RANK_PRESETS.tiny, steps: 6, budgets: [3] };

before(async () => {
  process.env.MAGIC_RUNS_DIR = path.join(scratch, "runs");
  process.env.MAGIC_TABLES_DIR = path.join(scratch, "tables");
  await initBackend({ quiet: true });
  data = prepareMlmData("tiny");
  gt = JSON.parse(fs.readFileSync(projectPath("data", "ground-truth", "tiny.json"), "utf8")) as GroundTruthTable;
});
after(() => {
  delete process.env.MAGIC_RUNS_DIR;
  delete process.env.MAGIC_TABLES_DIR;
  fs.rmSync(scratch, { recursive: true, force: true });
});

test("commit, load, verify: the committed result is served instead of a retrain, and a fresh recompute equals it", async () => {
  const computed = await rankScheme(config, "magic-at", 1, data, gt);
  assert.equal(computed.source, "computed");
  const file = commitRankResult(computed);
  assert.equal(file, path.join(scratch, "tables", "ranking", "tiny", "magic-at-seed1.json"));
  assert.equal(committedRankFile("tiny", "magic-at", 1), file);

  fs.rmSync(path.join(scratch, "runs"), { recursive: true, force: true }); // no cache left: only the table can serve it
  const loaded = await rankScheme(config, "magic-at", 1, data, gt);
  assert.equal(loaded.source, "committed");
  assert.deepEqual(loaded.children, computed.children);
  assert.equal(fs.existsSync(path.join(scratch, "runs", "rank")), false, "nothing was trained");

  const check = await verifyRankUnit(config, loaded, data, gt);
  assert.equal(check.tolerance, 0);
  assert.equal(check.maxAbsDiff, 0);
  assert.ok(check.ok);
  const tampered = structuredClone(loaded);
  tampered.children[2].supernet += 1e-7;
  assert.equal((await verifyRankUnit(config, tampered, data, gt)).ok, false, "a changed number fails the check");
});

test("a committed result of another configuration is an error naming the command that rebuilds it", async () => {
  const file = committedRankFile("tiny", "uniform", 2);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify({ configHash: "0000", children: [] }));
  await assert.rejects(rankScheme(config, "uniform", 2, data, gt), /was computed for config hash 0000.*rank --scheme uniform --seed 2 --preset tiny --commit/);
  await assert.doesNotReject(rankScheme(config, "uniform", 2, data, gt, { useCommitted: false }));
});

test("the plan names known schemes; its units are distinct and cover every notebook's schemes and seeds", () => {
  const units = plannedUnits(RANK_PRESETS.small);
  assert.equal(new Set(units.map((u) => `${u.scheme}/${u.seed}`)).size, units.length);
  for (const { main, ablation } of Object.values(RANKING_PLAN)) {
    for (const scheme of main) for (const seed of RANK_PRESETS.small.seeds) assert.ok(units.some((u) => u.scheme === scheme && u.seed === seed), `${scheme}/${seed}`);
    for (const scheme of ablation) for (const seed of RANK_PRESETS.small.ablationSeeds) assert.ok(units.some((u) => u.scheme === scheme && u.seed === seed), `${scheme}/${seed}`);
  }
});
