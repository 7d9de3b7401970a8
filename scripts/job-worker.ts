// One worker process of the local job pool (lib/jobs/pool.ts): runs the job specs it is sent, one at a time,
// and reports steps, the result or the error over IPC. Usage: job-worker.ts <index> (the index names it in logs).
import { initBackend } from "../lib/backend";
import { UserError } from "../lib/errors";
import type { JobSpec } from "../lib/jobs/job";
import type { JobProcessMessage } from "../lib/jobs/pool";
import { runJob } from "../lib/jobs/run";

// The pool is gone (closed, killed, or failed): stop now, rather than train on unwatched, racing a rerun's
// worker for the same job. A training step and its checkpoint write run without yielding, so this runs
// between steps, never inside a write.
process.on("disconnect", () => process.exit(1));

const send = (message: JobProcessMessage) => {
  if (process.connected) process.send!(message);
};
const backend = initBackend({ quiet: true });

process.on("message", (m: { kind: "run"; spec: JobSpec }) => {
  backend
    .then(() => runJob(m.spec, (step) => step % 10 === 0 && send({ kind: "step", step })))
    .then(
      (result) => send({ kind: "done", result }),
      (e: unknown) => send({ kind: "failed", message: e instanceof Error ? (e instanceof UserError ? e.message : e.stack ?? e.message) : String(e), userError: e instanceof UserError }),
    );
});
