// The space-agnostic core (issue 13) must not change a BERT number or hash: test/fixtures/bert-tiny-before-seams.json
// holds what the code before the refactor (commit 57713e6) computed at tiny: the ground truth's and every planned
// ranking unit's config hash, and five full tiny rank runs (uniform, FairNAS, MAGIC-T, MAGIC-A, MAGIC-AT, seed 1).
// The committed small ranking units (data/ranking/small) and searches (data/search/small) must still hash to the
// configuration they were computed for.
import { bertKit } from "../lib/experiments/kit";
import { bertArchSpace } from "../lib/nas/space";
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import { useTinyTables } from "./helpers/tiny-tables";
import { largestNumberDifference } from "./helpers/numbers";
import { CROSS_PLATFORM_TOLERANCE } from "../lib/experiments/verify";
import { projectPath } from "../lib/paths";
import { backendInfo } from "../lib/backend";
import { prepareMlmData } from "../lib/data";
import { makeSpace } from "../lib/nas/space";
import { GROUND_TRUTH_PRESETS, groundTruthHash, groundTruthJobHash, groundTruthJobs, type GroundTruthTable } from "../lib/experiments/ground-truth";
import { plannedUnits, RANK_PRESETS, rankRunHash, rankScheme, type RankResult } from "../lib/experiments/ranking";
import { SEARCH_PRESETS, searchConfigHash, type SearchResult } from "../lib/experiments/search";

interface Before {
  backend: string;
  commit: string;
  tinyGroundTruthHash: string;
  tinyJobHashes: string[];
  tinyRankHashes: Record<string, string>;
  tinyRank: Record<string, Omit<RankResult, "source" | "codeDigest" | "secondsPerStep" | "backend">>;
}

const before = JSON.parse(fs.readFileSync(projectPath("test", "fixtures", "bert-tiny-before-seams.json"), "utf8")) as Before;
const tables = useTinyTables("magic-bert-unchanged-");

test("BERT tiny: the ground truth's and every planned ranking unit's config hash are those of the code before the refactor", () => {
  const space = makeSpace("tiny", tables.data.vocabSize);
  const config = GROUND_TRUTH_PRESETS.tiny;
  assert.equal(groundTruthHash(config, bertKit(config.preset, tables.data)), before.tinyGroundTruthHash);
  assert.equal(tables.gt.configHash, before.tinyGroundTruthHash);
  assert.deepEqual(groundTruthJobs(config, bertArchSpace(space)).map((job) => groundTruthJobHash(config, tables.data, job)), before.tinyJobHashes);
  const hashes = Object.fromEntries(plannedUnits(RANK_PRESETS.tiny).map((u) => [`${u.scheme}/${u.seed}`, rankRunHash(RANK_PRESETS.tiny, u.scheme, u.seed, tables.data, tables.gt)]));
  assert.deepEqual(hashes, before.tinyRankHashes);
});

test("BERT tiny rank runs give the numbers of the code before the refactor (bit-equal where it was recorded, within the cross-platform tolerance elsewhere)", async (t) => {
  const backend = backendInfo()?.name;
  if (backend !== before.backend) {
    t.skip(`recorded on the ${before.backend} backend, this process runs ${backend}: bit-equality is only defined on the same backend`);
    return;
  }
  // The fixture records no platform (see agreement in verify.ts): bit-equal on the machines that recorded it; on a CPU
  // whose float kernels differ, the numbers may differ in their last bits, within CROSS_PLATFORM_TOLERANCE.
  for (const [scheme, recorded] of Object.entries(before.tinyRank)) {
    const { source, codeDigest: _digest, secondsPerStep: _seconds, backend: _backend, platform, ...now } = await rankScheme(RANK_PRESETS.tiny, scheme, 1, tables.data, tables.gt);
    assert.equal(source, "computed");
    const difference = largestNumberDifference(now, recorded);
    if (difference !== 0) t.diagnostic(`${scheme}: not bit-equal on ${platform}: largest difference ${difference}`);
    assert.ok(difference <= CROSS_PLATFORM_TOLERANCE, `${scheme}: largest difference ${difference} from the code before the refactor`);
  }
});

test("the committed small ranking units still hash to the configuration they were computed for", () => {
  const data = prepareMlmData("small");
  const gt = JSON.parse(fs.readFileSync(projectPath("data", "ground-truth", "small.json"), "utf8")) as GroundTruthTable;
  assert.equal(groundTruthHash(GROUND_TRUTH_PRESETS.small, bertKit(GROUND_TRUTH_PRESETS.small.preset, data)), gt.configHash);
  const dir = projectPath("data", "ranking", "small");
  const files = fs.readdirSync(dir).filter((f) => f.endsWith(".json"));
  assert.ok(files.length > 0);
  for (const file of files) {
    const unit = JSON.parse(fs.readFileSync(`${dir}/${file}`, "utf8")) as RankResult;
    assert.equal(rankRunHash(RANK_PRESETS.small, unit.scheme, unit.seed, data, gt), unit.configHash, file);
  }
  // The committed small searches (parameter budgets) too: FLOPs budgets left a parameter budget's hash as it was.
  const searchDir = projectPath("data", "search", "small");
  const searches = fs.readdirSync(searchDir).filter((f) => f.endsWith(".json"));
  assert.ok(searches.length > 0);
  for (const file of searches) {
    const unit = JSON.parse(fs.readFileSync(`${searchDir}/${file}`, "utf8")) as SearchResult;
    assert.equal(searchConfigHash(SEARCH_PRESETS.small, unit.scheme, unit.seed, unit.maxParams!, unit.method, data, gt), unit.configHash, file);
  }
});
