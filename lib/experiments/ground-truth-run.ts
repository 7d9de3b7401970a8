// Builds the ground-truth table: every missing (child, seed) job becomes a job spec (lib/jobs/ground-truth-child.ts)
// run by the local pool (one worker process per core, each with a single OpenBLAS thread) or by the Redis
// queue's workers (--queue); one progress bar either way. An interrupted build resumes from the result files
// and the jobs' checkpoints.
import * as fs from "node:fs";
import { codeDigest } from "../code-digest";
import { recomputeRequested } from "../env";
import { UserError } from "../errors";
import { prepareMlmData, type MlmData } from "../data";
import { makeSpace } from "../nas/space";
import type { Preset } from "../preset";
import { defaultWorkers, runLocally, runWithProgress } from "../jobs/batch";
import { groundTruthChildSpec } from "../jobs/ground-truth-child";
import { runOnQueue } from "../queue/producer";
import type { QueueTarget } from "../queue/connection";
import {
  GROUND_TRUTH_PRESETS,
  groundTruthRunDir,
  groundTruthTablePath,
  groundTruthHash,
  groundTruthJobs,
  mergeGroundTruth,
  readGroundTruthRow,
  recordGroundTruthRow,
  type GroundTruthConfig,
  type GroundTruthRow,
  loadGroundTruth,
  type GroundTruthTable,
} from "./ground-truth";

/** Who trains the jobs of a build. */
export interface BuildTarget {
  /** Worker processes of a local build (default: one per core). */
  workers?: number;
  /** Run the jobs on this Redis queue's workers instead (`npm run magic -- worker`). */
  queue?: QueueTarget;
}

/** Trains every missing job (locally or on the queue), then writes the table. */
export async function buildGroundTruth(config: GroundTruthConfig, target: BuildTarget = {}): Promise<GroundTruthTable> {
  const data = prepareMlmData(config.preset);
  const space = makeSpace(config.preset, data.vocabSize);
  const hash = groundTruthHash(config, space, data);
  // One folder for the whole build, fixed here: its name holds the code digest, which must not be read again
  // later (by the merge) from sources that may have been edited while the jobs ran; the workers refuse a job
  // whose digest is not theirs (lib/jobs/run.ts).
  const built = { runDir: groundTruthRunDir(config, hash), codeDigest: codeDigest() };
  const jobs = groundTruthJobs(config, space);
  const missing = jobs.filter((job) => !readGroundTruthRow(built.runDir, job));
  const specs = missing.map((job) => groundTruthChildSpec(config, hash, job, built.runDir));
  const workers = target.workers ?? defaultWorkers();
  const runJobs = target.queue ? runOnQueue(target.queue) : runLocally(workers);
  const by = target.queue ? `queue ${target.queue.shown}` : `${workers} workers`;
  // A job run by a queue worker on another machine left its result file there: store it here for the merge.
  await runWithProgress(runJobs, specs, `ground truth (${specs.length} of ${jobs.length} jobs, ${by})`, (i, row) => {
    if (!readGroundTruthRow(built.runDir, missing[i])) recordGroundTruthRow(built.runDir, missing[i], row as GroundTruthRow);
  });
  return mergeGroundTruth(config, space, data, hash, built);
}

export interface GroundTruthOptions {
  /** Train the missing jobs and write the table (the ground-truth command); otherwise a missing table is an error. */
  build?: boolean;
  /**
   * Ignore the committed table and build it again (default: MAGIC_RECOMPUTE=1); implies `build`. A killed
   * rebuild resumes its finished jobs: the build folder is keyed by the config hash, the code digest and the
   * backend, so it never holds another code's or config's results.
   */
  recompute?: boolean;
  /** Who trains the jobs of a build (default: one local worker process per core). */
  target?: BuildTarget;
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

/** The table as stored, without the in-memory `source` (for writing it out or putting it in a job spec). */
export function storedTable(table: GroundTruthTable & { source?: string }): GroundTruthTable {
  const { source: _where, ...stored } = table;
  return stored;
}

/**
 * The ground-truth table of `preset`: the committed one, which must match the current config (see
 * requireGroundTruthTable and GroundTruthOptions for building it instead).
 */
export async function groundTruthFor(preset: Preset, data: MlmData, options: GroundTruthOptions = {}): Promise<SourcedGroundTruth> {
  requireGroundTruthTable(preset, options);
  const { build = false, recompute = recomputeRequested(), target } = options;
  const config = GROUND_TRUTH_PRESETS[preset];
  const hash = groundTruthHash(config, makeSpace(preset, data.vocabSize), data);
  // A build replaces a committed table of another config (the config changed: that is what the build is for).
  const committed = recompute ? null : loadGroundTruth(config, hash, { otherConfig: build ? "ignore" : "error" });
  if (committed) return { ...committed, source: "committed" };
  return { ...(await buildGroundTruth(config, target)), source: "computed" };
}
