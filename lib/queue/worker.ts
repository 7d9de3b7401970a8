// The worker side of the Redis queue (`npm run magic -- worker --queue URL`): takes jobs from the queue and runs
// them in the local job pool (lib/jobs/pool.ts), `concurrency` at a time, until SIGINT or SIGTERM. This process
// only talks to Redis and to its job processes, so it renews the jobs' locks on time however long a training
// step takes; when it dies (kill -9), the locks lapse, its jobs count as stalled and go to another worker, and
// its job processes stop by themselves (they exit when their parent is gone).
import { Worker, type Job } from "bullmq";
import type { JobSpec } from "../jobs/job";
import { JobProcessPool } from "../jobs/pool";
import { checkJobCode } from "../jobs/run";
import { redisConnection, type QueueTarget } from "./connection";
import { QUEUE_SETTINGS, type QueueSettings } from "./settings";

export interface WorkerOptions {
  /** Jobs run at the same time, each in a process of its own with one OpenBLAS thread (e.g. one per core). */
  concurrency: number;
  /** Overrides of QUEUE_SETTINGS (stallSeconds is the worker's --stall-seconds). */
  settings?: Partial<QueueSettings>;
}

const log = (line: string) => console.log(`[worker ${process.pid}] ${line}`);

/** Runs jobs from the queue at `target` until a SIGINT or SIGTERM, then lets the running ones stop and returns. */
export async function runQueueWorker(target: QueueTarget, options: WorkerOptions): Promise<void> {
  const settings = { ...QUEUE_SETTINGS, ...options.settings };
  const pool = new JobProcessPool(options.concurrency);
  const connection = redisConnection(target);
  const lockMs = settings.stallSeconds * 1000;
  const worker = new Worker<JobSpec>(
    settings.name,
    async (job: Job<JobSpec>) => {
      const spec = job.data;
      log(`started ${spec.label} (job ${job.id}, try ${job.attemptsMade + 1} of ${job.opts.attempts ?? 1})`);
      checkJobCode(spec); // refuse foreign code before spending a process on it
      let reported = 0;
      const result = await pool.run(spec, (step) => {
        // At most one progress write a second per job; a lost one only delays the producer's bar.
        if (Date.now() - reported < 1000) return;
        reported = Date.now();
        job.updateProgress(step).catch(() => {});
      });
      log(`finished ${spec.label} (job ${job.id})`);
      return result;
    },
    { connection, concurrency: options.concurrency, lockDuration: lockMs, stalledInterval: lockMs, maxStalledCount: settings.maxStalledCount },
  );
  worker.on("failed", (job, error) => log(`failed ${job?.data.label ?? "a job"} (job ${job?.id}): ${error.message}`));
  worker.on("stalled", (id) => log(`job ${id} stalled (its worker stopped renewing the lock); back in the queue`));
  worker.on("error", (error) => log(`redis: ${error.message}`));
  log(`taking jobs from ${target.shown} (queue ${settings.name}, ${options.concurrency} at a time)`);
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  log("stopping: running jobs stop between two steps and go back to the queue");
  pool.close();
  await worker.close(true);
  connection.disconnect();
}
