// The Redis job queue (lib/queue/, issue 16) against a private redis-server (test/helpers/redis.ts): the tiny
// ground truth built by `npm run magic -- ground-truth --queue` with two `worker` processes, one SIGKILLed
// mid-job, equals the committed (local) table number for number and the killed job resumed on the other
// worker; jobs enqueued twice run once, and survive a Redis restart; a worker refuses foreign code and the
// producer reports a job that failed for good; a bad or unreachable --queue is one error line. Nothing is
// written into the checkout; every process started here is gone at the end.
import { after, before, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { bertKit } from "../lib/experiments/kit";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PROJECT_ROOT, projectPath, runsPath } from "../lib/paths";
import { CHECKPOINT_FILE, readCheckpoint } from "../lib/train/checkpoint";
import { GROUND_TRUTH_PRESETS, groundTruthHash, groundTruthJobs, verifyGroundTruth, type GroundTruthConfig, type GroundTruthTable } from "../lib/experiments/ground-truth";
import { CROSS_PLATFORM_TOLERANCE } from "../lib/experiments/verify";
import { initBackend } from "../lib/backend";
import { largestNumberDifference } from "./helpers/numbers";
import { groundTruthChildSpec } from "../lib/jobs/ground-truth-child";
import { queueTarget } from "../lib/queue/connection";
import { runOnQueue } from "../lib/queue/producer";
import { QUEUE_SETTINGS } from "../lib/queue/settings";
import { prepareMlmData } from "../lib/data";
import { bertArchSpace, makeSpace } from "../lib/nas/space";
import { freePort, redisMissing, startRedis, type TestRedis } from "./helpers/redis";
import { groupGone, groupMembers } from "./helpers/process-group";

const skip = redisMissing || (fs.existsSync("/proc/self/stat") ? false : "needs /proc (Linux) to see the workers' job processes");
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "magic-queue-"));
let redis: TestRedis;
/** Process groups started here; `after` kills any that a failed assertion left running. */
const groups: number[] = [];

before(async () => {
  if (!skip) redis = await startRedis();
});
after(async () => {
  for (const pgid of groups) if (groupMembers(pgid).length > 0) process.kill(-pgid, "SIGKILL");
  await redis?.stop();
  fs.rmSync(scratch, { recursive: true, force: true });
});

interface Started {
  pid: number;
  exited: Promise<number | null>;
  output(): string;
}

/** `npm run magic -- <args>` in a process group of its own, with `env` added and no other MAGIC_* variable. */
function magic(args: string[], env: Record<string, string> = {}): Started {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => (!k.startsWith("MAGIC_") || k === "MAGIC_BACKEND") && k !== "REDIS_URL"));
  const child = spawn(process.execPath, ["--import", "tsx", "scripts/magic.ts", ...args], {
    cwd: PROJECT_ROOT,
    env: { ...clean, ...env },
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  groups.push(child.pid!);
  let output = "";
  child.stdout!.on("data", (d: Buffer) => (output += d));
  child.stderr!.on("data", (d: Buffer) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
  return { pid: child.pid!, exited, output: () => output };
}

/** Polls `find` every 20 ms until it returns a value. */
async function until<T>(find: () => T | undefined | null | false): Promise<T> {
  for (;;) {
    const found = find();
    if (found) return found;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The numbers of a table: without the time, the commit and digest, and each row's seconds and resume point. */
/** A table's numbers and settings, without its timings, code provenance and platform. */
const numbers = ({ createdAt: _t, codeVersion: _v, codeDigest: _d, rows, ...rest }: GroundTruthTable) => ({
  ...rest,
  rows: rows.map(({ seconds: _s, resumedFrom: _r, platform: _p, ...row }) => row),
});

/** Lines of a worker's log that start or finish a job, from character `from` on. */
const logged = (worker: Started, what: "started" | "finished", from = 0) => [...worker.output().slice(from).matchAll(new RegExp(`\\] ${what} (.+?) \\(job`, "g"))].map((m) => m[1]);

const runs = path.join(scratch, "runs");
let survivor: Started;

test("the tiny ground truth on the queue with two workers, one SIGKILLed mid-job, equals the local table; the killed job resumes on the other", { skip, timeout: 600_000 }, async (t: TestContext) => {
  const t0 = Date.now();
  const env = { MAGIC_RUNS_DIR: runs, MAGIC_TABLES_DIR: path.join(scratch, "tables") };
  // 5 s: short enough for a quick retry, long enough that a loaded machine's late lock renewal is not a stall
  // (at 2 s, with a load average of ~12 on 2 cores, the survivor once took the job before the victim's checkpoint).
  const workerArgs = ["worker", "--queue", redis.url, "--concurrency", "1", "--stall-seconds", "5"];
  const victim = magic(workerArgs, env);
  survivor = magic(workerArgs, env);
  const out = path.join(scratch, "queue-tiny.json");
  const producer = magic(["ground-truth", "--preset", "tiny", "--queue", redis.url, "--out", out], env);

  // Kill the victim once the job it took has checkpointed step 10 of its 20 (a shared runs folder: the retry resumes).
  const key = await until(() => /\] started ground truth (\S+) /.exec(victim.output())?.[1]);
  await until(() => {
    const builds = fs.existsSync(path.join(runs, "ground-truth")) ? fs.readdirSync(path.join(runs, "ground-truth")) : [];
    return builds.some((b) => {
      const checkpoint = path.join(runs, "ground-truth", b, "jobs", key, CHECKPOINT_FILE);
      return fs.existsSync(checkpoint) && readCheckpoint(checkpoint).step >= 10;
    });
  });
  process.kill(victim.pid, "SIGKILL");
  await groupGone(victim.pid); // its job process stops by itself
  assert.ok(!logged(victim, "finished").includes(`ground truth ${key}`), `the victim finished ${key} before the kill`);

  assert.equal(await producer.exited, 0, producer.output());
  const table = JSON.parse(fs.readFileSync(out, "utf8")) as GroundTruthTable;
  const local = JSON.parse(fs.readFileSync(projectPath("data", "ground-truth", "tiny.json"), "utf8")) as GroundTruthTable;
  // Against the committed table: bit-equal where it records this machine's platform; it records none (built before
  // platforms were recorded), so within the cross-platform tolerance on a CPU whose float kernels differ.
  const difference = largestNumberDifference(numbers(table), numbers(local));
  const allowed = local.rows.every((r) => r.platform !== undefined && r.platform === table.rows[0].platform) ? 0 : CROSS_PLATFORM_TOLERANCE;
  if (difference !== 0) t.diagnostic(`the queue's table differs from the committed one by ${difference} (allowed ${allowed}: ${table.rows[0].platform})`);
  assert.ok(difference <= allowed, `the committed table is the local build's: largest difference ${difference} (allowed ${allowed})`);
  const resumed = table.rows.find((r) => `${r.id}-seed${r.seed}` === key)!;
  assert.equal(resumed.resumedFrom, 10, `${key} resumed from the victim's checkpoint`);
  // Bit for bit on this machine: the killed and resumed job equals the same job run once, uninterrupted.
  const runsBefore = process.env.MAGIC_RUNS_DIR;
  process.env.MAGIC_RUNS_DIR = path.join(scratch, "verify-runs");
  try {
    await initBackend({ quiet: true });
    const data = prepareMlmData("tiny");
    const index = groundTruthJobs(table.config, bertArchSpace(makeSpace("tiny", data.vocabSize))).findIndex((job) => job.key === key);
    const check = await verifyGroundTruth(table, data, index);
    assert.deepEqual([check.job, check.maxAbsDiff, check.tolerance], [key, 0, 0], check.basis);
  } finally {
    if (runsBefore === undefined) delete process.env.MAGIC_RUNS_DIR;
    else process.env.MAGIC_RUNS_DIR = runsBefore;
  }
  assert.match(survivor.output(), /stalled/, "the survivor saw the victim's job stall");
  assert.ok(logged(survivor, "started").includes(`ground truth ${key}`), "the survivor took the killed job");
  const finished = [...logged(victim, "finished"), ...logged(survivor, "finished")];
  assert.equal(finished.length, 12);
  assert.equal(new Set(finished).size, 12, "each job finished once");
  t.diagnostic(`killed the worker running ${key} at step 10; built in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
});

/** The tiny ground truth cut to 4 short jobs (2 children x 2 seeds, 10 steps): same path, less time. */
const SHORT: GroundTruthConfig = { ...GROUND_TRUTH_PRESETS.tiny, children: 2, steps: 10, budgetEvery: 5, evalBatches: 2 };

/** Builds the SHORT table in a process of its own, on the queue, with runs and tables folders of its own under `folder`. */
async function buildShort(folder: string): Promise<GroundTruthTable> {
  const folders = { runs: path.join(scratch, folder, "runs"), tables: path.join(scratch, folder, "tables") };
  const build = spawn(process.execPath, ["--import", "tsx", "test/helpers/ground-truth-build.ts", JSON.stringify(SHORT), redis.url], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, MAGIC_RUNS_DIR: folders.runs, MAGIC_TABLES_DIR: folders.tables },
    stdio: ["ignore", "ignore", "inherit"],
  });
  assert.equal(await new Promise((resolve) => build.on("close", resolve)), 0);
  return JSON.parse(fs.readFileSync(path.join(folders.tables, "ground-truth", "tiny.json"), "utf8")) as GroundTruthTable;
}

test("jobs enqueued twice run once; after a Redis restart a fresh producer collects them without a rerun", { skip, timeout: 300_000 }, async (t: TestContext) => {
  const t0 = Date.now();
  const from = survivor.output().length;
  // Two producers at once, each with runs and tables folders of its own (not the worker's either: results travel through Redis).
  const [first, second] = await Promise.all([buildShort("twice-a"), buildShort("twice-b")]);
  assert.deepEqual(numbers(first), numbers(second));
  const started = logged(survivor, "started", from);
  assert.equal(started.length, 4, `each of the 4 jobs started once:\n${started.join("\n")}`);
  assert.equal(new Set(started).size, 4);

  await redis.restart(); // SIGTERM: Redis writes its append-only file, and loads it back
  const after = survivor.output().length;
  const third = await buildShort("after-restart");
  assert.deepEqual(numbers(third), numbers(first));
  assert.deepEqual(logged(survivor, "started", after), [], "nothing ran again");
  t.diagnostic(`two producers and a third after the restart in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
});

test("a worker refuses a job of other code; the producer reports the job that failed every try, with its error", { skip, timeout: 120_000 }, async () => {
  const data = prepareMlmData("tiny");
  const space = makeSpace("tiny", data.vocabSize);
  const [job] = groundTruthJobs(SHORT, bertArchSpace(space));
  // A producer whose code digest is not the worker's (its spec says so); its work folder is in the runs folder.
  const spec = { ...groundTruthChildSpec(SHORT, groundTruthHash(SHORT, bertKit(SHORT.preset, data)), job, runsPath("foreign")), codeDigest: "000000000000" };
  const settings = { ...QUEUE_SETTINGS, attempts: 2, backoffMs: 100, pollMs: 100 };
  const noEvents = { onStep: () => {}, onDone: () => {} };
  await assert.rejects(runOnQueue(queueTarget(redis.url), settings)([spec], noEvents), (e: Error) => {
    assert.match(e.message, /^ground truth \S+ \(job ground-truth-child-\w+-000000000000\) failed 2 time\(s\); last error: refused ground truth \S+: this worker's code digest \w{12} differs from the producer's 000000000000; /);
    return true;
  });
  assert.match(survivor.output(), /failed ground truth \S+ \(job \S+-000000000000\): refused/);
});

test("a bad or unreachable --queue is one error line within seconds, before any work", { skip, timeout: 120_000 }, async (t: TestContext) => {
  const closed = await freePort();
  const usage = "use --queue redis://HOST:PORT, or --queue alone with REDIS_URL=redis://:PASSWORD@HOST:PORT";
  const cases: [string[], RegExp][] = [
    [["ground-truth", "--preset", "tiny", "--queue", "http://127.0.0.1:6379"], new RegExp(`^error: --queue http://127.0.0.1:6379: the scheme must be redis:// \\(or rediss:// for TLS\\); ${usage}\\n$`)],
    [["ground-truth", "--preset", "tiny", "--queue", "redis//nohost"], /^error: --queue redis\/\/nohost is not a URL; use --queue/],
    [["worker", "--queue"], /^error: --queue without a URL reads REDIS_URL, which is not set; use --queue/],
    [["ground-truth", "--preset", "tiny", "--queue", `redis://127.0.0.1:${closed}`], new RegExp(`^error: --queue redis://127.0.0.1:${closed}: Redis does not answer \\(.*ECONNREFUSED.*\\); start redis-server there`)],
    [["worker", "--queue", `redis://:secret@127.0.0.1:${closed}`], new RegExp(`^error: --queue redis://\\*\\*\\*@127.0.0.1:${closed}: Redis does not answer`)],
    [["rank-all", "--preset", "tiny", "--queue", redis.url, "--shard", "0/2"], /^error: --shard and --queue do not mix/],
  ];
  const t0 = Date.now();
  // Each run gets runs and tables folders that do not exist: none may be created (nothing prepared or trained).
  const results = await Promise.all(cases.map(([args]) => {
    const run = magic(args, { MAGIC_RUNS_DIR: path.join(scratch, "bad", "runs"), MAGIC_TABLES_DIR: path.join(scratch, "bad", "tables") });
    return run.exited.then((code) => ({ code, output: run.output() }));
  }));
  results.forEach(({ code, output }, i) => {
    assert.match(output, cases[i][1]);
    assert.equal(output.split("\n").length, 2, `one line: ${output}`);
    assert.equal(code, 2);
    assert.ok(!output.includes("secret"), "the password is never shown");
  });
  assert.ok(!fs.existsSync(path.join(scratch, "bad")), "nothing was prepared or trained");
  t.diagnostic(`${cases.length} bad --queue runs (in parallel) answered in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
});

test("the last worker stops on SIGTERM and leaves no process behind", { skip, timeout: 60_000 }, async () => {
  process.kill(survivor.pid, "SIGTERM");
  assert.equal(await survivor.exited, 0, survivor.output());
  await groupGone(survivor.pid);
});
