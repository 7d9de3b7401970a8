// The producer side of the Redis queue: enqueues job specs under their job id (kind + config hash + code
// digest), so enqueuing a job twice (a rerun, two producers) runs it once and a finished job is never re-run,
// then follows them until each has a result or has failed for good.
import { Job, Queue } from "bullmq";
import { UserError } from "../errors";
import type { RunJobs } from "../jobs/batch";
import { jobId, type JobSpec } from "../jobs/job";
import { redisConnection, type QueueTarget } from "./connection";
import { QUEUE_SETTINGS, type QueueSettings } from "./settings";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Adds `spec` unless a job with its id exists; a job that failed for good gets fresh attempts (its cause may be fixed). */
async function enqueue(queue: Queue, spec: JobSpec, settings: QueueSettings): Promise<void> {
  const id = jobId(spec);
  const existing = await Job.fromId(queue, id);
  if (existing && (await existing.getState()) === "failed") await existing.retry("failed", { resetAttemptsMade: true, resetAttemptsStarted: true });
  // BullMQ adds nothing when the id exists (atomically, so two producers racing here still make one job).
  else if (!existing) {
    await queue.add(spec.label, spec, {
      jobId: id,
      attempts: settings.attempts,
      backoff: { type: "exponential", delay: settings.backoffMs },
      removeOnComplete: false,
      removeOnFail: false,
    });
  }
}

/** An executor (lib/jobs/batch.ts) whose jobs run on the workers of the queue at `target`. */
export function runOnQueue(target: QueueTarget, settings: QueueSettings = QUEUE_SETTINGS): RunJobs {
  return async (specs, events) => {
    const connection = redisConnection(target);
    const queue = new Queue(settings.name, { connection });
    try {
      for (const spec of specs) await enqueue(queue, spec, settings);
      const results: unknown[] = new Array(specs.length);
      const pending = new Set(specs.keys());
      while (pending.size > 0) {
        for (const i of pending) {
          const spec = specs[i];
          // The state first, then the job: a job read first could complete before its state is, and lack its result.
          const state = await queue.getJobState(jobId(spec));
          const job = await Job.fromId(queue, jobId(spec));
          // Gone: Redis lost it (restarted without persistence, or flushed); enqueue it again.
          if (state === "unknown" || !job) {
            console.error(`queue: ${spec.label} is no longer in Redis; enqueuing it again`);
            await enqueue(queue, spec, settings);
            continue;
          }
          if (state === "completed") {
            results[i] = job.returnvalue;
            pending.delete(i);
            events.onDone(i, job.returnvalue);
          } else if (state === "failed") {
            throw new UserError(`${spec.label} (job ${job.id}) failed ${job.attemptsMade} time(s); last error: ${job.failedReason}. ` +
              "Fix the cause and rerun this command: finished jobs are kept, and the failed one gets fresh attempts");
          } else if (typeof job.progress === "number") events.onStep(i, job.progress);
        }
        if (pending.size > 0) await sleep(settings.pollMs);
      }
      return results;
    } finally {
      await queue.close();
      connection.disconnect();
    }
  };
}
