// The Redis job queue's settings, in one place (our defaults; README "Many machines" says what each fault does).
export const QUEUE_SETTINGS = {
  /** Name of the BullMQ queue every producer and worker of this project uses. */
  name: "magic-jobs",
  /** Tries of a job before it is reported as failed: a worker's error, or its refusal of foreign code, each use one. */
  attempts: 3,
  /** Wait before the first retry of a failed try (ms), doubled at each further one (exponential backoff). */
  backoffMs: 10_000,
  /**
   * Seconds a worker holds a job's lock without renewing it before the job counts as stalled (its worker died:
   * kill -9, power loss) and goes back to the queue for another worker. The worker renews it every half of it.
   */
  stallSeconds: 30,
  /** Stalls a job may have before it is reported as failed (each death of its worker is one). */
  maxStalledCount: 2,
  /** How often the producer looks at its jobs (ms). */
  pollMs: 1000,
  /** How long the check that Redis answers waits (ms) before a command stops with an error. */
  connectTimeoutMs: 3000,
};

export type QueueSettings = typeof QUEUE_SETTINGS;
