// The ground-truth builder as a process of its own, for test/fault-campaign.test.ts and test/queue.test.ts: it
// builds the table of a config given as JSON (the CLI only builds a preset's full config, too slow to rebuild
// several times in a test) with `workers` local worker processes, or on the Redis queue at a redis:// URL.
// Usage: ground-truth-build.ts '<GroundTruthConfig JSON>' <workers | redis://HOST:PORT>
import { initBackend } from "../../lib/backend";
import { buildGroundTruth } from "../../lib/experiments/ground-truth-run";
import { queueTarget } from "../../lib/queue/connection";

const [configJson, by] = process.argv.slice(2);
const build = async () => {
  await initBackend({ quiet: true }); // the build folder is keyed by the backend, as the ground-truth command's is
  await buildGroundTruth(JSON.parse(configJson), by.startsWith("redis://") ? { queue: queueTarget(by) } : { workers: Number(by) });
};
build().catch((e: unknown) => {
  console.error(e instanceof Error ? e.stack ?? e.message : e);
  process.exit(1);
});
