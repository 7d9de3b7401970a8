// Where the queue lives: the --queue URL (or REDIS_URL, so a password stays out of the command line and of
// `ps`), checked before any work: a bad URL or a Redis that does not answer is one UserError within seconds.
import IORedis from "ioredis";
import { UserError } from "../errors";
import { QUEUE_SETTINGS } from "./settings";

export interface QueueTarget {
  /** redis://[:PASSWORD@]HOST:PORT[/DB] as given. */
  url: string;
  /** The URL with its password hidden, for messages and logs. */
  shown: string;
}

const USAGE = "use --queue redis://HOST:PORT, or --queue alone with REDIS_URL=redis://:PASSWORD@HOST:PORT";

/** Hides the user and password of a URL-like string. */
function hidePassword(raw: string): string {
  return raw.replace(/\/\/[^@/]*@/, "//***@");
}

/** The queue named by --queue's value (`true`: the flag without a value reads REDIS_URL). */
export function queueTarget(value: string | true, env: NodeJS.ProcessEnv = process.env): QueueTarget {
  const raw = (value === true ? env.REDIS_URL : value)?.trim();
  if (!raw) throw new UserError(`--queue without a URL reads REDIS_URL, which is not set; ${USAGE}`);
  const shown = hidePassword(raw);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UserError(`--queue ${shown} is not a URL; ${USAGE}`);
  }
  if (url.protocol !== "redis:" && url.protocol !== "rediss:") throw new UserError(`--queue ${shown}: the scheme must be redis:// (or rediss:// for TLS); ${USAGE}`);
  if (!url.hostname) throw new UserError(`--queue ${shown} names no host; ${USAGE}`);
  if (!/^(\/\d*)?$/.test(url.pathname)) throw new UserError(`--queue ${shown}: the path may only be a database number (/0); ${USAGE}`);
  return { url: raw, shown };
}

/** A connection for BullMQ: commands wait (rather than fail) while Redis restarts, and run once it is back. */
export function redisConnection(target: QueueTarget): IORedis {
  return new IORedis(target.url, { maxRetriesPerRequest: null });
}

/** Throws a UserError naming the cause unless Redis at `target` answers a PING within a few seconds. */
export async function checkQueueReachable(target: QueueTarget, timeoutMs = QUEUE_SETTINGS.connectTimeoutMs): Promise<void> {
  const probe = new IORedis(target.url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  // The connection's own error (ECONNREFUSED, ENOTFOUND, ...) says more than the "Connection is closed." that follows it.
  let cause: Error | null = null;
  probe.on("error", (e: Error) => (cause ??= e));
  try {
    await probe.connect();
    await probe.ping();
  } catch (e) {
    const why = (cause ?? (e as Error)).message;
    throw new UserError(`--queue ${target.shown}: Redis does not answer (${why}); start redis-server there (README, "Many machines") or fix the host, port or password`);
  } finally {
    probe.disconnect();
  }
}
