// The ground-truth builder as a process of its own, for test/fault-campaign.test.ts: it builds the table of
// a config given as JSON (the CLI only builds a preset's full config, too slow to rebuild several times in a
// test) with `workers` worker processes. Usage: ground-truth-build.ts '<GroundTruthConfig JSON>' <workers>
import { buildGroundTruth } from "../../lib/experiments/ground-truth-run";

const [configJson, workers] = process.argv.slice(2);
buildGroundTruth(JSON.parse(configJson), Number(workers)).catch((e: unknown) => {
  console.error(e instanceof Error ? e.stack ?? e.message : e);
  process.exit(1);
});
