// Job kind "ground-truth-child": one (child, seed) of the ground-truth benchmark trained from scratch
// (lib/experiments/ground-truth.ts runGroundTruthJob), resuming its checkpoint under the build folder.
import { prepareMlmData, type MlmData } from "../data";
import type { Preset } from "../preset";
import { runGroundTruthJob, type GroundTruthConfig, type GroundTruthRow, type Job } from "../experiments/ground-truth";
import { jobSpec, type JobKind, type JobSpec } from "./job";
import { kitFor, spaceOf, type AnyKit } from "../experiments/kit";

export interface GroundTruthChildParams {
  config: GroundTruthConfig;
  /** groundTruthHash of the config, space and data. */
  hash: string;
  job: Job;
}

/** The job of (child, seed) `job` in the build folder `runDir` (its checkpoint goes to runDir/jobs/<key>). */
export function groundTruthChildSpec(config: GroundTruthConfig, hash: string, job: Job, runDir: string): JobSpec<GroundTruthChildParams> {
  return jobSpec("ground-truth-child", `ground truth ${job.key}`, { config, hash, job }, runDir);
}

/** The MLM data of a preset, prepared once per process (a worker process runs many jobs); the CNN kit caches its own. */
const prepared = new Map<Preset, MlmData>();
function kitOf(config: GroundTruthConfig): AnyKit {
  if (spaceOf(config) !== "bert") return kitFor(config);
  if (!prepared.has(config.preset)) prepared.set(config.preset, prepareMlmData(config.preset));
  return kitFor(config, prepared.get(config.preset)!);
}

export const groundTruthChildKind: JobKind<GroundTruthChildParams, GroundTruthRow> = {
  steps: (p) => p.config.steps,
  async run(p, context) {
    const row = await runGroundTruthJob(p.config, kitOf(p.config), p.job, p.hash, { runDir: context.workDir, onStep: context.onStep });
    if (!row) throw new Error(`ground truth ${p.job.key}: stopped before its last step`); // only stopAfter stops it, and no job sets it
    return row;
  },
};
