// Fault campaign (issue 10, item 8): SIGKILL a supernet run (the CLI) and the ground-truth builder and its
// workers at seeded points (starting up, mid-step, in the middle of a checkpoint write, after the last
// step), rerun until done, and check that the results equal an uninterrupted run's bit for bit, and that
// after every kill each file under the temp runs and tables folders is whole: every JSON parses, every
// checkpoint verifies through the library's reader, and the temp file of an interrupted write is ignored
// and then removed by the rerun that redoes the write. Tiny preset; nothing is written into the checkout.
// Linux only: it finds the builder's workers in /proc.
import { after, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PROJECT_ROOT, projectPath } from "../lib/paths";
import { writeJsonAtomic } from "../lib/json-file";
import { Rng } from "../lib/rng";
import { CHECKPOINT_FILE, readCheckpoint, type Checkpoint } from "../lib/train/checkpoint";
import { groupGone, groupMembers } from "./helpers/process-group";
import { GROUND_TRUTH_PRESETS, type GroundTruthConfig, type GroundTruthTable } from "../lib/experiments/ground-truth";

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "magic-faults-"));
/** Process groups this file started; `after` kills any that a failed assertion left running. */
const startedGroups: number[] = [];
after(() => {
  for (const pgid of startedGroups) if (groupMembers(pgid).length > 0) process.kill(-pgid, "SIGKILL");
  fs.rmSync(scratch, { recursive: true, force: true });
});

const skip = fs.existsSync("/proc/self/stat") ? false : "needs /proc (Linux) to find the builder's workers";

/** Every kill point is drawn from this stream: the campaign is reproducible, and each kill lands elsewhere. */
const rng = new Rng(1008);

// ---- processes ----

interface Attempt {
  /** pid of the started process, and the id of its process group (the builder's workers join it). */
  pid: number;
  /** Settles once the process has exited and every holder of its output pipes (its workers) has closed them. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): string;
}

/** Starts `script` under tsx in a process group of its own, so a kill can take the builder with its workers. */
function start(script: string, args: string[], env: Record<string, string>): Attempt {
  const child = spawn(process.execPath, ["--import", "tsx", script, ...args], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, MAGIC_PRESET: "tiny", ...env },
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const pid = child.pid!;
  startedGroups.push(pid);
  let output = "";
  child.stdout!.on("data", (d: Buffer) => (output += d));
  child.stderr!.on("data", (d: Buffer) => (output += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("close", (code, signal) => resolve({ code, signal })),
  );
  return { pid, exited, output: () => output };
}

// ---- kill points ----

/** Where an attempt is killed: `arm` starts watching and calls `fire` (with what set it off) once; it returns the disarm. */
interface KillPoint {
  what: string;
  arm(fire: (trigger: string) => void): () => void;
}

function afterDelay(ms: number): KillPoint {
  return {
    what: `${ms} ms after start (starting up)`,
    arm(fire) {
      const timer = setTimeout(() => fire("timer"), ms);
      return () => clearTimeout(timer);
    },
  };
}

type FileEvent = { event: string; file: string };

/**
 * Fires on the first file event in `dirs` for which `matches` holds, `delayMs` later; with no delay, still
 * inside the event callback, so that a temp file's appearance kills its writer in the middle of the write.
 */
function onFileEvent(what: string, dirs: string[], matches: (e: FileEvent) => boolean, delayMs = 0): KillPoint {
  return {
    what,
    arm(fire) {
      let fired = false;
      let timer: NodeJS.Timeout | undefined;
      const watchers = dirs.map((dir) =>
        fs.watch(dir, (event, name) => {
          if (fired || !name) return;
          const file = path.join(dir, name);
          if (!matches({ event, file })) return;
          fired = true;
          if (delayMs > 0) timer = setTimeout(() => fire(file), delayMs);
          else fire(file);
        }),
      );
      return () => {
        clearTimeout(timer);
        for (const w of watchers) w.close();
      };
    },
  };
}

/** The temp file of an atomic write: `<file>.tmp-<pid of the writer>` (lib/temp-files.ts). */
const TEMP_FILE = /\.tmp-\d+$/;
const isCheckpointTemp = (file: string) => TEMP_FILE.test(file) && path.basename(file).startsWith(`${CHECKPOINT_FILE}.tmp-`);

/** A checkpoint of at least `step` steps has landed (read through the library's reader, which verifies it). */
function checkpointLanded(step: number): (e: FileEvent) => boolean {
  return ({ file }) => path.basename(file) === CHECKPOINT_FILE && fs.existsSync(file) && readCheckpoint(file).step >= step;
}

/** A checkpoint write has begun (its temp file appeared) after a checkpoint of at least `step` steps landed. */
function checkpointWriteAfter(step: number): (e: FileEvent) => boolean {
  const landed = checkpointLanded(step);
  let armed = false;
  return (e) => {
    if (!armed) {
      armed = landed(e);
      return false;
    }
    // A temp file's creation and its rename away are both "rename" events; only a present one is mid-write.
    return e.event === "rename" && isCheckpointTemp(e.file) && fs.existsSync(e.file);
  };
}

/**
 * Runs `attempt` to its end or to `point`, where `kill` is called; then waits until its whole process group
 * is gone. An attempt that was not killed must succeed. Returns what set off the kill, or null.
 */
async function runUntil(attempt: Attempt, point: KillPoint | null, kill: () => void): Promise<string | null> {
  let trigger: string | null = null;
  const disarm = point?.arm((what) => {
    trigger = what;
    kill();
  });
  const { code, signal } = await attempt.exited;
  disarm?.();
  await groupGone(attempt.pid);
  if (trigger === null) assert.equal(code, 0, `exited with ${code ?? signal} without being killed:\n${attempt.output()}`);
  return trigger;
}

// ---- files ----

/** Checks every file under `root`: JSON parses, checkpoints verify, nothing else exists. Returns the temp files. */
function checkFiles(root: string): string[] {
  const temps: string[] = [];
  for (const rel of fs.readdirSync(root, { recursive: true }) as string[]) {
    const file = path.join(root, rel);
    if (fs.statSync(file).isDirectory()) continue;
    if (TEMP_FILE.test(file)) temps.push(file);
    else if (file.endsWith(".json")) {
      try {
        JSON.parse(fs.readFileSync(file, "utf8"));
      } catch (e) {
        assert.fail(`${file} is torn: ${(e as Error).message}`);
      }
    } else if (path.basename(file) === CHECKPOINT_FILE) readCheckpoint(file); // throws a CheckpointError naming the file
    else assert.fail(`unexpected file ${file}`);
  }
  return temps.sort();
}

/**
 * After a kill set off by a checkpoint temp file: if the kill landed just after the rename, leave what a kill
 * a moment earlier leaves (half a checkpoint in the dead writer's temp file), so the rerun's handling of a
 * torn temp is checked every time. Only when the rerun will redo that write (`redone`). Returns what was found.
 */
function ensureTornTemp(trigger: string | null, redone: (checkpoint: string) => boolean): string {
  if (trigger === null || !isCheckpointTemp(trigger)) return "";
  if (fs.existsSync(trigger)) return `; killed mid-write, left ${path.basename(trigger)}`;
  const checkpoint = path.join(path.dirname(trigger), CHECKPOINT_FILE);
  if (!redone(checkpoint)) return "; killed just after the write (of the last checkpoint)";
  const bytes = fs.readFileSync(checkpoint);
  fs.writeFileSync(trigger, bytes.subarray(0, bytes.length >> 1));
  return `; killed just after the write, planted a torn ${path.basename(trigger)}`;
}

function readJson<T>(file: string): T {
  return JSON.parse(fs.readFileSync(file, "utf8")) as T;
}

/** Bit-equal weights and Adam moments, same step, hash and run state. */
function assertSameCheckpoint(actual: Checkpoint, expected: Checkpoint): void {
  // checkpointEvery is the one config field a rerun may change (it is not hashed); the campaign varies it.
  const meta = (c: Checkpoint) => {
    const m = c.meta as { config: Record<string, unknown> };
    return { ...m, config: { ...m.config, checkpointEvery: undefined } };
  };
  assert.equal(actual.configHash, expected.configHash);
  assert.equal(actual.step, expected.step);
  assert.deepEqual(meta(actual), meta(expected));
  assert.deepEqual(actual.tensors.map((t) => [t.name, t.shape]), expected.tensors.map((t) => [t.name, t.shape]));
  const bytes = (data: Float32Array) => Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  actual.tensors.forEach((t, i) => assert.ok(bytes(t.data).equals(bytes(expected.tensors[i].data)), `tensor ${t.name} differs`));
}

test("a write removes the temp files its dead writers left, never a live writer's nor another file's", () => {
  const dir = fs.mkdtempSync(path.join(scratch, "temps-"));
  const file = path.join(dir, "result.json");
  const dead = spawnSync(process.execPath, ["-e", ""]).pid!; // has exited (and been reaped) when spawnSync returns
  const live = process.ppid; // the test runner, writing nothing, but alive
  for (const name of [`result.json.tmp-${dead}`, `result.json.tmp-${live}`, `other.json.tmp-${dead}`]) fs.writeFileSync(path.join(dir, name), "{\"torn");
  writeJsonAtomic(file, { ok: true });
  assert.deepEqual(fs.readdirSync(dir).sort(), [`other.json.tmp-${dead}`, "result.json", `result.json.tmp-${live}`]);
  assert.deepEqual(readJson(file), { ok: true });
});

// ---- the campaigns ----

const SUPERNET_STEPS = 30;

/**
 * MAGIC-T with MAGIC-A alignment, the interference monitor and periodic validation: a resume has to restore
 * the sampler, the anchor policy, the previous child, Adam and the history exactly.
 */
function supernetArgs(out: string, checkpointEvery: number): string[] {
  return [
    "train-supernet", "--preset", "tiny", "--sampler", "magic-t", "--align", "best", "--monitor-every", "2", "--eval-every", "5",
    "--steps", String(SUPERNET_STEPS), "--checkpoint-every", String(checkpointEvery), "--out", out,
  ];
}

test("a supernet run SIGKILLed at seeded points and rerun ends bit-equal to an uninterrupted one; no file is ever torn", { skip, timeout: 600_000 }, async (t: TestContext) => {
  const runs = path.join(scratch, "supernet");
  const env = { MAGIC_RUNS_DIR: runs };
  const reference = path.join(runs, "reference");
  await runUntil(start("scripts/magic.ts", supernetArgs(reference, 3), env), null, () => {});

  const faulted = path.join(runs, "faulted");
  const checkpoint = path.join(faulted, CHECKPOINT_FILE);
  fs.mkdirSync(faulted, { recursive: true }); // fs.watch needs the folder before the run creates it
  const landed = (what: string, step: number, delayMs = 0) => onFileEvent(`${what} (checkpoint >= ${step}${delayMs ? ` + ${delayMs} ms` : ""})`, [faulted], checkpointLanded(step), delayMs);
  const points = [
    afterDelay(300 + rng.int(1700)),
    onFileEvent("during a checkpoint write", [faulted], checkpointWriteAfter(4 + rng.int(8))),
    landed("anywhere in a step", 14 + rng.int(10), rng.int(80)),
    landed("after the last step, before or while result.json is written", SUPERNET_STEPS),
  ];
  for (const point of points) {
    // checkpointEvery is not hashed, so a rerun may change it; with more than 1, kills also undo steps.
    const every = rng.choice([1, 2, 3]);
    const attempt = start("scripts/magic.ts", supernetArgs(faulted, every), env);
    const trigger = await runUntil(attempt, point, () => process.kill(-attempt.pid, "SIGKILL"));
    checkFiles(runs);
    const found = ensureTornTemp(trigger, (ckpt) => readCheckpoint(ckpt).step < SUPERNET_STEPS);
    const step = fs.existsSync(checkpoint) ? readCheckpoint(checkpoint).step : 0;
    t.diagnostic(`checkpoint every ${every}, kill ${point.what}: ${trigger === null ? "finished first" : `checkpoint at step ${step}${found}`}`);
  }

  const resumeFrom = fs.existsSync(checkpoint) ? readCheckpoint(checkpoint).step : 0;
  await runUntil(start("scripts/magic.ts", supernetArgs(faulted, 3), env), null, () => {});
  const result = readJson<Record<string, unknown>>(path.join(faulted, "result.json"));
  const expected = readJson<Record<string, unknown>>(path.join(reference, "result.json"));
  assert.equal(result.resumedFrom, resumeFrom);
  const numbers = ({ resumedFrom: _r, secondsPerStep: _s, ...rest }: Record<string, unknown>) => rest;
  assert.deepEqual(numbers(result), numbers(expected));
  assertSameCheckpoint(readCheckpoint(checkpoint), readCheckpoint(path.join(reference, CHECKPOINT_FILE)));
  assert.deepEqual(checkFiles(runs), [], "the reruns ignored and removed every temp file of an interrupted write");
});

/**
 * The tiny ground truth cut to 4 jobs (2 children x 2 seeds) of 10 steps: a full tiny build (12 jobs of 20
 * steps) takes tens of seconds on this 2-core VM, and the campaign builds five times. Same code path, fewer
 * and shorter jobs.
 */
const GT_CONFIG: GroundTruthConfig = { ...GROUND_TRUTH_PRESETS.tiny, children: 2, steps: 10, budgetEvery: 5, evalBatches: 2 };
const WORKERS = 2;

test("the ground-truth builder with workers SIGKILLed at seeded points and rerun builds the uninterrupted table; no file is ever torn", { skip, timeout: 600_000 }, async (t: TestContext) => {
  const committedTable = projectPath("data", "ground-truth", "tiny.json");
  const committed = fs.readFileSync(committedTable);
  const folders = (name: string) => ({ runs: path.join(scratch, name, "runs"), tables: path.join(scratch, name, "tables") });
  const build = (f: { runs: string; tables: string }) =>
    start("test/helpers/ground-truth-build.ts", [JSON.stringify(GT_CONFIG), String(WORKERS)], { MAGIC_RUNS_DIR: f.runs, MAGIC_TABLES_DIR: f.tables });
  const reference = folders("gt-reference");
  await runUntil(build(reference), null, () => {});

  // Same config hash and jobs as the reference: create the job folders up front so fs.watch can watch them.
  const faulted = folders("gt-faulted");
  const [buildDir] = fs.readdirSync(path.join(reference.runs, "ground-truth"));
  const jobs = fs.readdirSync(path.join(reference.runs, "ground-truth", buildDir, "jobs")).sort();
  const jobDir = (job: string) => path.join(faulted.runs, "ground-truth", buildDir, "jobs", job);
  const resultFile = (job: string) => path.join(faulted.runs, "ground-truth", buildDir, "results", `${job}.json`);
  for (const job of jobs) fs.mkdirSync(jobDir(job), { recursive: true });
  const watched = jobs.map(jobDir);

  const killWorker = (pgid: number, index: number) => {
    // The worker's command line ends with its index in the pool (lib/jobs/pool.ts).
    const found = groupMembers(pgid).find((p) => p.args.some((a) => a.endsWith("job-worker.ts")) && p.args.at(-1) === String(index));
    // Both are: this kill comes first, at the first checkpoint >= workerStep, while each worker trains its first job.
    assert.ok(found, `worker ${index} is not running`);
    process.kill(found.pid, "SIGKILL");
  };
  const workerStep = 2 * (1 + rng.int(4)), worker = rng.int(WORKERS);
  const builderStep = 2 * (1 + rng.int(4));
  const writeStep = 2 * (1 + rng.int(4));
  const campaign: { point: KillPoint; kill: (pgid: number) => void }[] = [
    {
      point: onFileEvent(`worker ${worker} (a job's checkpoint >= ${workerStep})`, watched, checkpointLanded(workerStep)),
      kill: (pgid) => killWorker(pgid, worker),
    },
    {
      // The orphaned workers must stop by themselves (runUntil waits for them) and never race the rerun's.
      point: onFileEvent(`the builder alone (a job's checkpoint >= ${builderStep})`, watched, checkpointLanded(builderStep)),
      kill: (pgid) => process.kill(pgid, "SIGKILL"),
    },
    {
      point: onFileEvent(`builder and workers during a checkpoint write (after a checkpoint >= ${writeStep})`, watched, checkpointWriteAfter(writeStep)),
      kill: (pgid) => process.kill(-pgid, "SIGKILL"),
    },
  ];

  /** Jobs a kill left with a checkpoint and no result: the rerun that finishes them must have resumed. */
  const interrupted = new Set<string>();
  for (const { point, kill } of campaign) {
    const attempt = build(faulted);
    const trigger = await runUntil(attempt, point, () => kill(attempt.pid));
    // Without the worker's disconnect handler, an orphan trains on until its next progress message throws this.
    assert.doesNotMatch(attempt.output(), /ERR_IPC_CHANNEL_CLOSED/, "a worker outlived its builder");
    checkFiles(faulted.runs);
    if (fs.existsSync(faulted.tables)) checkFiles(faulted.tables);
    const found = ensureTornTemp(trigger, (ckpt) => !fs.existsSync(resultFile(path.basename(path.dirname(ckpt)))));
    const unfinished = jobs.filter((job) => fs.existsSync(path.join(jobDir(job), CHECKPOINT_FILE)) && !fs.existsSync(resultFile(job)));
    unfinished.forEach((job) => interrupted.add(job));
    t.diagnostic(`kill ${point.what}: ${trigger === null ? "finished first" : `${unfinished.length} job(s) left mid-training${found}`}`);
  }

  await runUntil(build(faulted), null, () => {});
  const table = readJson<GroundTruthTable>(path.join(faulted.tables, "ground-truth", "tiny.json"));
  const expected = readJson<GroundTruthTable>(path.join(reference.tables, "ground-truth", "tiny.json"));
  const numbers = ({ createdAt: _c, rows, ...rest }: GroundTruthTable) => ({ ...rest, rows: rows.map(({ seconds: _s, resumedFrom: _r, ...row }) => row) });
  assert.deepEqual(numbers(table), numbers(expected));
  for (const row of table.rows) {
    if (interrupted.has(`${row.id}-seed${row.seed}`)) assert.ok(row.resumedFrom > 0, `${row.id} seed ${row.seed} was interrupted but did not resume`);
  }
  t.diagnostic(`${interrupted.size} of ${jobs.length} jobs were interrupted mid-training and resumed`);
  assert.deepEqual([...checkFiles(faulted.runs), ...checkFiles(faulted.tables)], [], "the reruns ignored and removed every temp file of an interrupted write");
  assert.ok(fs.readFileSync(committedTable).equals(committed), "the committed data/ground-truth/tiny.json was not touched");
});
