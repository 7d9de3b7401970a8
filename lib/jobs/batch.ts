// Running a batch of job specs, whoever executes them: the local pool (runLocally) or the Redis queue
// (lib/queue/producer.ts runOnQueue) implement RunJobs, and the builders show one progress bar over either.
import * as os from "node:os";
import { progress } from "../progress";
import type { JobSpec } from "./job";
import { JOB_KINDS } from "./kinds";
import { JobProcessPool } from "./pool";

/** What an executor reports while a batch runs: job `index` reached `step`, or finished with `result`. */
export interface JobEvents {
  onStep(index: number, step: number): void;
  onDone(index: number, result: unknown): void;
}

/** Runs every spec and returns their results in order; throws on the first job that failed for good. */
export type RunJobs = (specs: JobSpec[], events: JobEvents) => Promise<unknown[]>;

/** Worker processes of a local build when none are asked for: one per core. */
export const defaultWorkers = () => Math.max(1, os.cpus().length);

/** The local executor: `workers` processes (default one per core) of lib/jobs/pool.ts. */
export function runLocally(workers = defaultWorkers()): RunJobs {
  return async (specs, events) => {
    const pool = new JobProcessPool(Math.min(workers, specs.length));
    try {
      return await Promise.all(specs.map((spec, i) => pool.run(spec, (step) => events.onStep(i, step)).then((result) => {
        events.onDone(i, result);
        return result;
      })));
    } finally {
      pool.close();
    }
  };
}

/**
 * Runs `specs` with `runJobs` under one progress bar over their training steps (with the count of finished
 * jobs); `onDone` stores each result as it arrives, so an interrupted batch keeps what finished.
 */
export async function runWithProgress(runJobs: RunJobs, specs: JobSpec[], label: string, onDone: (index: number, result: unknown) => void): Promise<unknown[]> {
  const steps = specs.map((s) => JOB_KINDS[s.kind].steps(s.params as never));
  const reached = specs.map(() => 0);
  let finished = 0;
  const bar = progress({ total: steps.reduce((a, b) => a + b, 0), label });
  const update = () => bar.update(reached.reduce((a, b) => a + b, 0), { jobs: `${finished}/${specs.length}` });
  try {
    return await runJobs(specs, {
      onStep(i, step) {
        reached[i] = Math.min(step, steps[i]);
        update();
      },
      onDone(i, result) {
        onDone(i, result);
        reached[i] = steps[i];
        finished++;
        update();
      },
    });
  } finally {
    bar.stop();
  }
}
