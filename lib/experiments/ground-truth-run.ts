// Runs the ground-truth jobs on every core: one worker process per core (each with a single OpenBLAS
// thread), job j going to worker j mod W. Workers report steps over IPC so the parent shows one progress
// bar with an ETA; an interrupted build resumes from the result files and the jobs' checkpoints.
import { fork } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import { projectPath } from "../paths";
import { codeDigest } from "../code-digest";
import { initBackend } from "../backend";
import { recomputeRequested } from "../env";
import { UserError } from "../errors";
import { prepareMlmData, type MlmData } from "../data";
import { makeSpace } from "../nas/space";
import { progress } from "../progress";
import type { Preset } from "../preset";
import {
  GROUND_TRUTH_PRESETS,
  groundTruthRunDir,
  groundTruthTablePath,
  groundTruthHash,
  groundTruthJobs,
  mergeGroundTruth,
  runGroundTruthJob,
  type GroundTruthConfig,
  loadGroundTruth,
  type GroundTruthTable,
} from "./ground-truth";

type WorkerMessage = { kind: "step"; job: string; step: number } | { kind: "done"; job: string };

/** Trains every missing job with `workers` processes (default: one per core), then writes the table. */
export async function buildGroundTruth(config: GroundTruthConfig, workers = Math.max(1, os.cpus().length)): Promise<GroundTruthTable> {
  const data = prepareMlmData(config.preset);
  const space = makeSpace(config.preset, data.vocabSize);
  const hash = groundTruthHash(config, space, data);
  // One folder for the whole build, fixed here: its name holds the code digest, which must not be read again
  // later (by a worker or by the merge) from sources that may have been edited while the jobs ran.
  const built = { runDir: groundTruthRunDir(config, hash), codeDigest: codeDigest() };
  const jobs = groundTruthJobs(config, space);
  const perJob = new Map<string, number>();
  const bar = progress({ total: jobs.length * config.steps, label: `ground truth (${jobs.length} jobs, ${workers} workers)` });
  const update = () => bar.update([...perJob.values()].reduce((a, b) => a + b, 0), { jobs: `${[...perJob.values()].filter((s) => s >= config.steps).length}/${jobs.length}` });
  const run = (index: number) =>
    new Promise<void>((resolve, reject) => {
      const child = fork(projectPath("scripts", "ground-truth-worker.ts"), [JSON.stringify(config), String(index), String(workers), built.runDir], {
        execArgv: ["--import", "tsx"],
        env: { ...process.env, OPENBLAS_NUM_THREADS: "1" },
        stdio: ["ignore", "inherit", "inherit", "ipc"],
      });
      child.on("message", (m: WorkerMessage) => {
        perJob.set(m.job, m.kind === "done" ? config.steps : m.step);
        update();
      });
      child.on("error", reject);
      child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`ground-truth worker ${index} exited with code ${code}`))));
    });
  try {
    await Promise.all(Array.from({ length: workers }, (_, i) => run(i)));
  } finally {
    bar.stop();
  }
  return mergeGroundTruth(config, space, data, hash, built);
}

/** The body of one worker process (scripts/ground-truth-worker.ts). */
export async function groundTruthWorker(config: GroundTruthConfig, index: number, workers: number, runDir: string): Promise<void> {
  await initBackend({ quiet: true });
  const data = prepareMlmData(config.preset);
  const space = makeSpace(config.preset, data.vocabSize);
  const hash = groundTruthHash(config, space, data);
  const mine = groundTruthJobs(config, space).filter((_, j) => j % workers === index);
  for (const job of mine) {
    await runGroundTruthJob(config, data, job, hash, {
      runDir,
      onStep: (step) => {
        if (step % 10 === 0) process.send?.({ kind: "step", job: job.key, step } satisfies WorkerMessage);
      },
    });
    process.send?.({ kind: "done", job: job.key } satisfies WorkerMessage);
  }
}

export interface GroundTruthOptions {
  /** Train the missing jobs and write the table (the ground-truth command); otherwise a missing table is an error. */
  build?: boolean;
  /** Discard the finished jobs and rebuild (default: MAGIC_RECOMPUTE=1); implies `build`. */
  recompute?: boolean;
  /** Worker processes of a build (default: one per core). */
  workers?: number;
}

/**
 * Stops with the command that builds the table of `preset` when it is missing and no build was asked for:
 * building takes hours (small) to weeks (paper), so it never starts as a side effect of ranking or of a
 * notebook. Needs no data, so callers run it before preparing any.
 */
export function requireGroundTruthTable(preset: Preset, options: GroundTruthOptions = {}): void {
  const { build = false, recompute = recomputeRequested() } = options;
  const table = groundTruthTablePath(preset);
  if (build || recompute || fs.existsSync(table)) return;
  throw new UserError(`no ground-truth table for preset ${preset} (${table}); build it with \`npm run magic -- ground-truth --preset ${preset}\``);
}

/** A ground-truth table in memory, with where it came from (never stored): the committed table, or built in this process. */
export type SourcedGroundTruth = GroundTruthTable & { source: "committed" | "computed" };

/**
 * The ground-truth table of `preset`: the committed one, which must match the current config (see
 * requireGroundTruthTable and GroundTruthOptions for building it instead).
 */
export async function groundTruthFor(preset: Preset, data: MlmData, options: GroundTruthOptions = {}): Promise<SourcedGroundTruth> {
  requireGroundTruthTable(preset, options);
  const { recompute = recomputeRequested(), workers } = options;
  const config = GROUND_TRUTH_PRESETS[preset];
  const hash = groundTruthHash(config, makeSpace(preset, data.vocabSize), data);
  if (!recompute) {
    const table = loadGroundTruth(config, hash);
    if (table) return { ...table, source: "committed" };
  } else {
    fs.rmSync(groundTruthRunDir(config, hash), { recursive: true, force: true });
  }
  return { ...(await buildGroundTruth(config, workers)), source: "computed" };
}
