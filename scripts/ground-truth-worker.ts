// One ground-truth worker process, forked by lib/experiments/ground-truth-run.ts.
import { groundTruthWorker } from "../lib/experiments/ground-truth-run";

const [configJson, index, workers] = process.argv.slice(2);
groundTruthWorker(JSON.parse(configJson), Number(index), Number(workers)).catch((e) => {
  console.error(e instanceof Error ? e.stack ?? e.message : e);
  process.exit(1);
});
