// One job abstraction for every heavy unit of the reproduction (a ground-truth child, a ranking supernet; later
// fine-tuning runs and CNN children): a JSON spec naming its kind, its parameters and the folder it
// checkpoints in; a runner of that kind that executes it resumably from that folder; a JSON result. The local
// pool (lib/jobs/pool.ts, one process per core) and the Redis queue (lib/queue/) run the same specs through
// the same runner (lib/jobs/run.ts), so a result does not depend on which of them ran it.
// A new kind is one file exporting a JobKind plus one line in lib/jobs/kinds.ts.
import * as path from "node:path";
import { codeDigest } from "../code-digest";
import { runsPath } from "../paths";
import { configHash } from "../train/checkpoint";

/** A job as it travels to a worker process or through the queue: plain JSON. */
export interface JobSpec<P = unknown> {
  /** Which runner executes it: a key of JOB_KINDS (lib/jobs/kinds.ts). */
  kind: string;
  /** What the logs and errors call it, e.g. "ground truth att4-ffn64-id-conv3-seed0". */
  label: string;
  /** Hash of the kind and its parameters: what the result depends on besides the code. */
  configHash: string;
  /** Digest of the producer's result-affecting sources (lib/code-digest.ts); a worker with other code refuses the job. */
  codeDigest: string;
  /**
   * The folder the job checkpoints and writes its result in, relative to the runs folder (MAGIC_RUNS_DIR), so
   * that a worker on another machine resolves it against its own runs folder: a shared one lets a retry resume.
   */
  workDir: string;
  /** The kind's input (JSON). */
  params: P;
}

/** What a runner gets besides its parameters. */
export interface JobContext {
  /** Absolute form of JobSpec.workDir on the machine running the job. */
  workDir: string;
  /** Called after each training step (progress only). */
  onStep: (step: number) => void;
}

/** A kind of job: how to run one resumably from its work folder. */
export interface JobKind<P, R> {
  /** Training steps of a job (the progress bar's unit). */
  steps(params: P): number;
  /** Runs the job, resuming its checkpoint under `context.workDir`; returns its JSON result. */
  run(params: P, context: JobContext): Promise<R>;
}

/** The spec of a `kind` job with `params`, working in `workDir` (an absolute path under the runs folder). */
export function jobSpec<P>(kind: string, label: string, params: P, workDir: string): JobSpec<P> {
  const relative = path.relative(runsPath(), workDir);
  if (relative.startsWith("..") || path.isAbsolute(relative)) throw new Error(`job ${label}: ${workDir} is not under the runs folder ${runsPath()}`);
  return { kind, label, configHash: configHash({ kind, params }), codeDigest: codeDigest(), workDir: relative, params };
}

/** The job's identity in the queue: kind, config hash and code digest, so enqueuing it twice runs it once. */
export function jobId(spec: JobSpec): string {
  return `${spec.kind}-${spec.configHash}-${spec.codeDigest}`;
}
