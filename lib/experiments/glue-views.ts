// Tables and verdicts of the GLUE sweep (notebook 05), built from the per-(model, task, seed) units of
// glue-sweep.ts. Every number is recomputed from the units' metrics (metrics.ts glueTaskScore), never typed in;
// intervals over seeds are Student-t (paired.ts pairedEffect), verdicts follow paired.ts claimVerdict.
import type { GlueTask } from "../data/glue";
import { bootstrapCI, glueAverage, glueTaskScore, kendallTau, mean, type BootstrapOptions } from "../metrics";
import { claimVerdict, pairedEffect, pairedPermutationTest, signTest, type Verdict } from "../paired";
import type { RankResult } from "./ranking";
import type { GlueUnit, PretrainUnit } from "./glue-sweep";
import type { SearchResult } from "./search";
import { sourcesSentence } from "./verify";
import { fmt, fmtInterval, type PlotlyFigure } from "../display";

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
function modelUnits<U extends GlueUnit>(units: U[]): U[] {
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

// ---- Notebook 05's tables, figures and text (every number from the units and searches passed in) ----

/** One row per search: the child found, its estimate and size, and what the search cost. */
export function searchRows(searches: SearchResult[]) {
  return searches.map((s) => ({
    scheme: s.scheme,
    seed: s.seed,
    method: s.method,
    "best child": s.best.id,
    "estimated loss": fmt(s.best.estimatedLoss, 4),
    params: s.best.params,
    budget: s.maxParams,
    "feasible share": fmt(s.feasibleFraction, 2),
    evaluations: `${s.evaluations} (${s.uniqueEvaluations} distinct)`,
    "search seconds": fmt(s.seconds, 0),
    source: s.source ?? "computed",
  }));
}

/** The search curves: best estimated loss so far against evaluations, evolution solid, random dotted. */
export function searchCurveFigure(searches: SearchResult[], title: string): PlotlyFigure {
  return {
    data: searches.map((s) => ({
      type: "scatter",
      mode: "lines",
      name: `${s.scheme} seed ${s.seed} (${s.method})`,
      x: s.history.map((h) => h.evaluation + 1),
      y: s.history.map((h) => h.bestSoFar),
      line: { dash: s.method === "evolution" ? "solid" : "dot" },
    })),
    layout: { title: { text: title }, xaxis: { title: { text: "child evaluations" } }, yaxis: { title: { text: "supernet-estimated validation MLM loss" } } },
  };
}

/** Where the searches came from, one sentence (notebook provenance). */
export function searchSources(searches: SearchResult[], preset: string): string {
  return sourcesSentence(searches, "searches", { committed: `\`data/search/${preset}/\``, cached: "runs under `runs/search/`", computed: "run now" });
}

/** Where the sweep's units came from, one sentence (notebook provenance). */
export function sweepSources(units: (PretrainUnit | GlueUnit)[], preset: string): string {
  return sourcesSentence(units, "GLUE sweep units (pre-trainings and fine-tunings)",
    { committed: `\`data/glue-results/${preset}/\``, cached: "runs under `runs/glue/`", computed: "trained now" });
}

/** One row per pre-trained model: its architecture, size and validation MLM loss. */
export function pretrainRows(pretrained: PretrainUnit[]) {
  return pretrained.map((p) => ({ model: p.model, arch: p.archId, params: p.params, "validation MLM loss": fmt(p.row.valLoss, 4), steps: p.row.steps, encoder: p.origin }));
}

/** Per model: every task's score and the GLUE average, "mean [95 % interval]" over fine-tuning seeds. */
export function glueTableRows(units: GlueUnit[], tasks: GlueTask[]) {
  const cells = glueTaskCells(units);
  return glueAverageCells(units, tasks).map((avg) => ({
    model: avg.model,
    ...Object.fromEntries(tasks.map((task) => {
      const c = cells.find((x) => x.model === avg.model && x.task === task)!;
      return [task, `${fmt(c.mean)} ${fmtInterval(c.ci)}`];
    })),
    "GLUE average": `${fmt(avg.mean)} ${fmtInterval(avg.ci)}`,
    seeds: avg.seeds,
  }));
}

/** Grouped bars: per task (and the average), each model's mean score with its 95 % interval over seeds. */
export function glueTaskFigure(units: GlueUnit[], tasks: GlueTask[], title: string): PlotlyFigure {
  const cells = glueTaskCells(units), averages = glueAverageCells(units, tasks);
  const errors = (xs: SeedInterval[]) => ({
    type: "data", symmetric: false,
    array: xs.map((x) => (Number.isFinite(x.ci[1]) ? x.ci[1] - x.mean : 0)),
    arrayminus: xs.map((x) => (Number.isFinite(x.ci[0]) ? x.mean - x.ci[0] : 0)),
  });
  return {
    data: averages.map(({ model }) => {
      const own = [...tasks.map((task) => cells.find((c) => c.model === model && c.task === task)!), averages.find((a) => a.model === model)!];
      return { type: "bar", name: model, x: [...tasks, "GLUE average"], y: own.map((c) => c.mean), error_y: errors(own) };
    }),
    layout: { title: { text: title }, barmode: "group", yaxis: { title: { text: "task score (mean of its metrics)" } } },
  };
}

/** One row per claim: the paired difference, its interval, p, wins and the verdict. */
export function comparisonRows(comparisons: ModelComparison[]) {
  return comparisons.map((c) => ({
    claim: c.claim, "(task, seed) pairs": c.pairs, "mean difference": fmt(c.meanDiff, 4), "95 % interval": fmtInterval(c.ci, 4),
    p: fmt(c.pValue, 3), wins: `${c.wins}/${c.pairs}`, verdict: c.verdict,
  }));
}

/**
 * Per scheme and task: the mean over ranking seeds of tau against the fine-tuned scores, and the MLM ground
 * truth's own tau. Tau is undefined (NaN) when every child fine-tunes to the same score (e.g. all predict the
 * majority class); such seeds are left out of the mean and counted.
 */
export function fineTunedTauRows(taus: FineTunedTau[]) {
  const keys = distinct(taus.map((t) => `${t.scheme}|${t.task}`));
  return keys.map((key) => {
    const own = taus.filter((t) => `${t.scheme}|${t.task}` === key);
    const defined = own.filter((t) => Number.isFinite(t.tau));
    const tau = defined.length ? seedInterval(defined.map((t) => t.tau)) : null;
    return {
      scheme: own[0].scheme, task: own[0].task, children: own[0].children, seeds: `${defined.length} of ${own.length} with a defined tau`,
      "tau vs fine-tuned": tau ? `${fmt(tau.mean)} ${fmtInterval(tau.ci)}` : "undefined (every child scores the same)",
      "MLM ground truth vs fine-tuned": fmt(own[0].mlmGroundTruthTau),
    };
  });
}

/** The fine-tuning unit that is cheapest to recompute: the fewest training steps (its pre-training is paid either way). */
export function cheapestUnit<U extends GlueUnit>(units: U[]): U {
  const own = modelUnits(units);
  if (own.length === 0) throw new Error("cheapestUnit: no fine-tuning units of the sweep's models");
  return own.reduce((best, u) => (u.steps < best.steps ? u : best));
}

/** The verdict paragraph: each claim's verdict with its numbers, then what the fine-tuned ground truth says. */
export function verdictText(comparisons: ModelComparison[], taus: FineTunedTau[]): string {
  const claims = comparisons.map((c) => `- **${c.claim}** on GLUE: **${c.verdict}** (mean difference ${fmt(c.meanDiff, 4)}, 95 % interval ${fmtInterval(c.ci, 4)}, p ${fmt(c.pValue, 3)}, ${c.wins}/${c.pairs} (task, seed) pairs won).`);
  const rows = fineTunedTauRows(taus);
  const tauLines = rows.map((r) => `${r.scheme} on ${r.task}: tau ${r["tau vs fine-tuned"]}`);
  return [...claims, "", `Against the fine-tuned ground truth (${rows[0]?.children ?? 0} children): ${tauLines.join("; ")}.`].join("\n");
}

/** One line for the index page. */
export function keyResultText(units: GlueUnit[], tasks: GlueTask[], comparisons: ModelComparison[]): string {
  const averages = glueAverageCells(units, tasks).map((a) => `${a.model} ${fmt(a.mean)}`).join(", ");
  const count = (v: Verdict) => comparisons.filter((c) => c.verdict === v).length;
  return `GLUE average: ${averages}; claims: ${count("reproduced")} reproduced, ${count("contradicted")} contradicted, ${count("inconclusive")} inconclusive of ${comparisons.length}`;
}
