// Job kind "supernet-rank": one (scheme, seed) of the ranking experiments: train its supernet (resuming its
// checkpoint under the runs folder's rank/) and rank the ground-truth children with it
// (lib/experiments/ranking.ts rankScheme). The ground-truth table travels in the spec, so a worker ranks
// against exactly the producer's table.
import { prepareMlmData } from "../data";
import { runsPath } from "../paths";
import type { GroundTruthTable } from "../experiments/ground-truth";
import { storedTable } from "../experiments/ground-truth-run";
import { rankScheme, type RankConfig, type RankResult } from "../experiments/ranking";
import { jobSpec, type JobKind, type JobSpec } from "./job";
import { spaceOf } from "../experiments/kit";

export interface SupernetRankParams {
  config: RankConfig;
  scheme: string;
  seed: number;
  groundTruth: GroundTruthTable;
}

/** The job of (scheme, seed) ranked against `groundTruth`; its runs live under the runs folder's rank/. */
export function supernetRankSpec(config: RankConfig, scheme: string, seed: number, groundTruth: GroundTruthTable): JobSpec<SupernetRankParams> {
  // The table's content identifies the job, not where this process got it.
  return jobSpec("supernet-rank", `${scheme} seed ${seed}`, { config, scheme, seed, groundTruth: storedTable(groundTruth) }, runsPath("rank"));
}

export const supernetRankKind: JobKind<SupernetRankParams, RankResult> = {
  // Progress only: a compute-matched scheme trains longer (SchemeSpec.stepsFactor) and shows full until it ends.
  steps: (p) => p.config.steps,
  // Computed (or loaded from a finished run under workDir), never loaded from a committed table: the producer
  // only enqueues the units it has no committed result for.
  run: (p, context) => rankScheme(p.config, p.scheme, p.seed, spaceOf(p.config) === "bert" ? prepareMlmData(p.config.preset) : undefined, p.groundTruth, { runRoot: context.workDir, useCommitted: false, onStep: context.onStep }),
};
