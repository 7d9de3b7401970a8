// One ground-truth worker process, forked by lib/experiments/ground-truth-run.ts.
import { groundTruthWorker } from "../lib/experiments/ground-truth-run";

const [configJson, index, workers, runDir] = process.argv.slice(2);
// The builder is gone (killed, or failed on another worker's exit): stop now, rather than train on unwatched
// until the next progress message fails, racing a rerun's worker for the same jobs. A training step and its
// checkpoint write run without yielding, so this runs between steps, never inside a write. Unref'd: a
// `disconnect` listener would otherwise keep the IPC channel, and the process, alive after the last job.
process.on("disconnect", () => process.exit(1));
process.channel?.unref();
groundTruthWorker(JSON.parse(configJson), Number(index), Number(workers), runDir).catch((e) => {
  console.error(e instanceof Error ? e.stack ?? e.message : e);
  process.exit(1);
});
