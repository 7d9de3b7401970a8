// Tables and verdicts of the GLUE sweep (notebook 05), built from the per-(model, task, seed) units of
// glue-sweep.ts. Every number is recomputed from the units' metrics (metrics.ts glueTaskScore), never typed in;
// intervals over seeds are Student-t (paired.ts pairedEffect), verdicts follow paired.ts claimVerdict.
import type { GlueTask } from "../data/glue";
import { bootstrapCI, glueAverage, glueTaskScore, kendallTau, mean, type BootstrapOptions } from "../metrics";
import { claimVerdict, pairedEffect, pairedPermutationTest, signTest, type Verdict } from "../paired";
import type { RankResult } from "./ranking";
import type { GlueUnit } from "./glue-sweep";

/** Mean over seeds and its (1 - alpha) Student-t interval ((-inf, inf) for one seed). */
export interface SeedInterval {
  seeds: number;
  mean: number;
  ci: [number, number];
}

/**
 * Mean of per-seed values with a Student-t interval: pairedEffect against zero is exactly the one-sample
 * interval mean ± t(1 - alpha/2, n - 1) sd / sqrt(n).
 */
export function seedInterval(values: number[], alpha = 0.05): SeedInterval {
  const effect = pairedEffect(values, values.map(() => 0), alpha);
  return { seeds: effect.n, mean: effect.meanDiff, ci: effect.ci };
}

/** The fine-tuning units of the sweep's models (the ground-truth children's left out). */
function modelUnits(units: GlueUnit[]): GlueUnit[] {
  return units.filter((u) => u.kind === "model");
}

/** Distinct values in first-seen order. */
const distinct = <T>(xs: T[]) => [...new Set(xs)];

/** Per model and task: the task's GLUE score over seeds, mean and interval (models and tasks in first-seen order). */
export function glueTaskCells(units: GlueUnit[], alpha = 0.05): ({ model: string; task: GlueTask } & SeedInterval)[] {
  const own = modelUnits(units);
  return distinct(own.map((u) => u.model)).flatMap((model) =>
    distinct(own.filter((u) => u.model === model).map((u) => u.task)).map((task) => {
      const scores = own.filter((u) => u.model === model && u.task === task).sort((a, b) => a.seed - b.seed).map((u) => glueTaskScore(u.metrics));
      return { model, task, ...seedInterval(scores, alpha) };
    }),
  );
}

/**
 * Per model and seed: the GLUE average over `tasks` (metrics.ts glueAverage). A (model, seed) lacking one of
 * the tasks is an error naming it (an average over fewer tasks would not be comparable).
 */
export function glueAverageBySeed(units: GlueUnit[], tasks: GlueTask[]): { model: string; seed: number; average: number }[] {
  const own = modelUnits(units);
  return distinct(own.map((u) => u.model)).flatMap((model) =>
    distinct(own.filter((u) => u.model === model).map((u) => u.seed)).sort((a, b) => a - b).map((seed) => {
      const scores = tasks.map((task) => {
        const unit = own.find((u) => u.model === model && u.seed === seed && u.task === task);
        if (!unit) throw new Error(`GLUE average: ${model} seed ${seed} has no ${task} result`);
        return glueTaskScore(unit.metrics);
      });
      return { model, seed, average: glueAverage(scores) };
    }),
  );
}

/** Per model: the GLUE average over seeds, mean and interval. */
export function glueAverageCells(units: GlueUnit[], tasks: GlueTask[], alpha = 0.05): ({ model: string } & SeedInterval)[] {
  const bySeed = glueAverageBySeed(units, tasks);
  return distinct(bySeed.map((r) => r.model)).map((model) => ({ model, ...seedInterval(bySeed.filter((r) => r.model === model).map((r) => r.average), alpha) }));
}

/** The claim "a > b" on GLUE, paired over the (task, seed) both models have. */
export interface ModelComparison {
  claim: string;
  /** (task, seed) pairs. */
  pairs: number;
  /** Mean over pairs of score(a) - score(b). */
  meanDiff: number;
  /** Student-t (1 - alpha) interval of the mean difference (paired.ts pairedEffect). */
  ci: [number, number];
  /** Two-sided sign-flip permutation p over the pairs (paired.ts pairedPermutationTest). */
  pValue: number;
  /** Pairs where a scores higher. */
  wins: number;
  verdict: Verdict;
}

/**
 * Verdict on "model a scores higher than model b": the task scores paired over every (task, seed) both have,
 * then paired.ts claimVerdict (reproduced when the interval is above 0 and p <= alpha; contradicted when below
 * 0 and p <= alpha; otherwise inconclusive).
 */
export function compareModels(units: GlueUnit[], a: string, b: string, alpha = 0.05): ModelComparison {
  const own = modelUnits(units);
  const scoreOf = new Map(own.filter((u) => u.model === b).map((u) => [`${u.task}/${u.seed}`, glueTaskScore(u.metrics)]));
  const pairs = own.filter((u) => u.model === a && scoreOf.has(`${u.task}/${u.seed}`));
  if (pairs.length === 0) throw new Error(`compareModels: ${a} and ${b} share no (task, seed)`);
  const sa = pairs.map((u) => glueTaskScore(u.metrics)), sb = pairs.map((u) => scoreOf.get(`${u.task}/${u.seed}`)!);
  const effect = pairedEffect(sa, sb, alpha);
  const p = pairedPermutationTest(sa, sb).pValue;
  return { claim: `${a} > ${b}`, pairs: pairs.length, meanDiff: effect.meanDiff, ci: effect.ci, pValue: p, wins: signTest(sa, sb).positive, verdict: claimVerdict(effect.ci, p, alpha) };
}

/** Kendall tau of a ranking against the fine-tuned ground truth of one task. */
export interface FineTunedTau {
  scheme: string;
  seed: number;
  task: GlueTask;
  /** Children with both a supernet score and a fine-tuned score. */
  children: number;
  /** tau(supernet loss, -fine-tuned score): 1 when the lowest loss is the best fine-tuned child, and so on. */
  tau: number;
  /** Percentile-bootstrap interval over children (metrics.ts bootstrapCI). */
  ci: [number, number];
  /** The same tau for the MLM ground truth (loss trained alone): how well pre-training loss predicts fine-tuning. */
  mlmGroundTruthTau: number;
}

/**
 * The ranking `rank` scored against the fine-tuned scores of the ground-truth children on `task` (units of
 * kind ground-truth; a child's score is its task score, averaged over its seeds; higher is better).
 */
export function fineTunedTau(rank: RankResult, units: GlueUnit[], task: GlueTask, options: BootstrapOptions = {}): FineTunedTau {
  const own = units.filter((u) => u.kind === "ground-truth" && u.task === task);
  const scoreOf = new Map(distinct(own.map((u) => u.archId)).map((id) => [id, mean(own.filter((u) => u.archId === id).map((u) => glueTaskScore(u.metrics)))]));
  const children = rank.children.filter((c) => scoreOf.has(c.id));
  if (children.length < 2) throw new Error(`fineTunedTau: ${rank.scheme} seed ${rank.seed} shares ${children.length} children with the fine-tuned ${task} scores; need >= 2`);
  const supernet = children.map((c) => c.supernet), fineTuned = children.map((c) => -scoreOf.get(c.id)!);
  return {
    scheme: rank.scheme,
    seed: rank.seed,
    task,
    children: children.length,
    tau: kendallTau(supernet, fineTuned),
    ci: bootstrapCI([supernet, fineTuned], (x, y) => kendallTau(x, y), options),
    mlmGroundTruthTau: kendallTau(children.map((c) => c.groundTruth), fineTuned),
  };
}
