// Views of the compression experiment (notebook 07), built from the units of compression.ts: the Pareto data
// (GLUE average against sub-layer parameters and against measured latency, with Student-t intervals over
// fine-tuning seeds), a table per budget, and per budget the verdicts searched vs hand-designed and
// MAGIC-AT-searched vs uniform-searched (and KD vs no KD where the control exists), all through glue-views.ts
// (glueAverageCells, glueTableRows, compareModels: paired over (task, seed), paired.ts claimVerdict).
import type { GlueTask } from "../data/glue";
import { fmt, fmtInterval, type PlotlyFigure } from "../display";
import { archId } from "../nas/space";
import { budgetParams } from "../nas/budgets";
import type { SearchSpace } from "../nas/types";
import type { Verdict } from "../paired";
import { compareModels, comparisonRows, glueAverageCells, glueTableRows, type ModelComparison, type SeedInterval } from "./glue-views";
import { sourcesSentence } from "./verify";
import type { LatencyUnit, Student, StudentGlueUnit, StudentPretrainUnit } from "./compression";

/** One student on the Pareto plot. */
export interface ParetoPoint {
  /** The student's row name (modelName: '-nokd' for the control). */
  model: string;
  /** 'hand' or the search scheme; '<kind> (no KD)' for the control. */
  series: string;
  fraction: number;
  maxParams: number;
  /** Sub-layer parameters (the budget's counting). */
  params: number;
  /** Median ms per encoder batch from the latency unit, null when it was not measured. */
  latencyMs: number | null;
  /** GLUE average over `tasks`, mean and interval over fine-tuning seeds. */
  glue: SeedInterval;
}

/** Distinct values in first-seen order. */
const distinct = <T>(xs: T[]) => [...new Set(xs)];

/** Per student: size, latency and GLUE average with its interval over seeds (students in first-seen order). */
export function paretoPoints(units: StudentGlueUnit[], tasks: GlueTask[], latency: LatencyUnit | null): ParetoPoint[] {
  return glueAverageCells(units, tasks).map((glue) => {
    const u = units.find((x) => x.model === glue.model)!;
    const row = latency?.rows.find((r) => r.student === u.student);
    return {
      model: glue.model,
      series: u.kd === null ? `${u.studentKind} (no KD)` : u.studentKind,
      fraction: u.budget.fraction,
      maxParams: u.budget.maxParams,
      params: u.budgetParams,
      latencyMs: row ? row.medianMs : null,
      glue,
    };
  });
}

/**
 * The points no other point dominates (at most its x, params or latency, and at least its mean GLUE average,
 * better in one of the two), by increasing x; points without a latency are left out of the latency front.
 */
export function paretoFront(points: ParetoPoint[], x: "params" | "latencyMs"): ParetoPoint[] {
  const at = (p: ParetoPoint) => (x === "params" ? p.params : p.latencyMs);
  const measured = points.filter((p) => at(p) !== null);
  const dominates = (q: ParetoPoint, p: ParetoPoint) => at(q)! <= at(p)! && q.glue.mean >= p.glue.mean && (at(q)! < at(p)! || q.glue.mean > p.glue.mean);
  return measured
    .filter((p) => !measured.some((q) => dominates(q, p)))
    .sort((a, b) => at(a)! - at(b)!);
}

/** GLUE average against sub-layer parameters or latency: one series per student kind, error bars = intervals over seeds. */
export function paretoFigure(points: ParetoPoint[], x: "params" | "latencyMs", title: string): PlotlyFigure {
  const shown = points.filter((p) => (x === "params" ? true : p.latencyMs !== null));
  const bound = (p: ParetoPoint, side: 0 | 1) => (Number.isFinite(p.glue.ci[side]) ? Math.abs(p.glue.ci[side] - p.glue.mean) : 0);
  return {
    data: distinct(shown.map((p) => p.series)).map((series) => {
      const own = shown.filter((p) => p.series === series);
      return {
        type: "scatter", mode: "markers+lines", name: series,
        x: own.map((p) => (x === "params" ? p.params : p.latencyMs)), y: own.map((p) => p.glue.mean), text: own.map((p) => p.model),
        error_y: { type: "data", symmetric: false, array: own.map((p) => bound(p, 1)), arrayminus: own.map((p) => bound(p, 0)) },
      };
    }),
    layout: {
      title: { text: title },
      xaxis: { title: { text: x === "params" ? "sub-layer parameters" : "latency (ms per encoder batch, median)" } },
      yaxis: { title: { text: "GLUE average (mean over seeds, 95 % interval)" } },
    },
  };
}

/** The budgets of `units`, smallest first. */
function budgets(units: StudentGlueUnit[]): { maxParams: number; fraction: number }[] {
  const seen = new Map(units.map((u) => [u.budget.maxParams, u.budget.fraction]));
  return [...seen].sort((a, b) => a[0] - b[0]).map(([maxParams, fraction]) => ({ maxParams, fraction }));
}

/** Per budget: glue-views' table (every task and the GLUE average, mean [interval]) with each student's size. */
export function budgetTables(units: StudentGlueUnit[], tasks: GlueTask[]) {
  return budgets(units).map((b) => {
    const own = units.filter((u) => u.budget.maxParams === b.maxParams);
    const rows = glueTableRows(own, tasks).map((row) => {
      const u = own.find((x) => x.model === row.model)!;
      return { ...row, arch: u.archId, params: u.budgetParams };
    });
    return { ...b, rows };
  });
}

/** The verdicts of one budget. */
export interface BudgetVerdict {
  maxParams: number;
  fraction: number;
  comparisons: ModelComparison[];
}

/**
 * Per budget: each scheme's searched student > the hand-designed one; the first scheme's > each other's
 * (magic-at > uniform by default order); each student with KD > its no-KD control where there is one. Paired
 * over (task, seed) with paired.ts claimVerdict (glue-views compareModels); a missing student is skipped.
 */
export function budgetVerdicts(units: StudentGlueUnit[], schemes: string[]): BudgetVerdict[] {
  return budgets(units).map((b) => {
    const own = units.filter((u) => u.budget.maxParams === b.maxParams);
    const withKd = (kind: string) => own.find((u) => u.kd !== null && u.studentKind === kind)?.model;
    const hand = withKd("hand");
    const searched = schemes.map(withKd).filter((m): m is string => m !== undefined);
    const claims: [string, string][] = [
      ...(hand ? searched.map((m): [string, string] => [m, hand]) : []),
      ...searched.slice(1).map((m): [string, string] => [searched[0], m]),
      ...distinct(own.filter((u) => u.kd === null).map((u) => u.student)).flatMap((student): [string, string][] => {
        const kd = own.find((u) => u.kd !== null && u.student === student);
        return kd ? [[kd.model, `${student}-nokd`]] : [];
      }),
    ];
    return { ...b, comparisons: claims.map(([a, c]) => compareModels(own, a, c)) };
  });
}

/** A budget as tables show it: "132864 (50 %)". */
const budgetLabel = (b: { maxParams: number; fraction: number }) => `${b.maxParams} (${fmt(100 * b.fraction, 0)} %)`;

/** One row per student: its budget, architecture and size (sub-layer parameters) and the share of the budget it uses. */
export function studentRows(space: SearchSpace, students: Student[]) {
  return students.map((s) => {
    const params = budgetParams(space, s.arch, s.budget.counting);
    return { budget: budgetLabel(s.budget), student: s.name, kind: s.kind, arch: archId(space, s.arch), params, "share of budget": fmt(params / s.budget.maxParams, 2) };
  });
}

/** Where the compression units and the latency measurement came from, one sentence (notebook provenance). */
export function compressionSources(units: (StudentPretrainUnit | StudentGlueUnit)[], latency: LatencyUnit, preset: string): string {
  const where = (folder: string) => ({ committed: `\`data/compression/${preset}/${folder}\``, cached: "runs under `runs/compression/`", computed: "trained now" });
  return `${sourcesSentence(units, "compression units (pre-trainings and fine-tunings)", where(""))} ` +
    sourcesSentence([latency], "latency measurement", { ...where("latency.json"), computed: "measured now" });
}

/** One row per student of the latency measurement, and the budget it is held to. */
export function latencyRows(latency: LatencyUnit) {
  return latency.rows.map((r) => ({ student: r.student, arch: r.archId, "median ms": fmt(r.medianMs, 2), [`within ${fmt(latency.maxMs, 2)} ms`]: r.withinBudget ? "yes" : "no" }));
}

/** Every budget's claims as glue-views comparisonRows, with the budget in front. */
export function verdictRows(verdicts: BudgetVerdict[]) {
  return verdicts.flatMap((v) => comparisonRows(v.comparisons).map((row) => ({ budget: budgetLabel(v), ...row })));
}

/** The verdict paragraph: per budget each claim's verdict with its numbers. */
export function compressionVerdictText(verdicts: BudgetVerdict[]): string {
  return verdicts.flatMap((v) => v.comparisons.map((c) =>
    `- budget ${budgetLabel(v)}: **${c.claim}**: **${c.verdict}** (mean difference ${fmt(c.meanDiff, 4)}, 95 % interval ${fmtInterval(c.ci, 4)}, p ${fmt(c.pValue, 3)}, ${c.wins}/${c.pairs} (task, seed) pairs won).`)).join("\n");
}

/** One line for the index page: the claims' verdict counts and the Pareto front's students. */
export function compressionKeyResult(points: ParetoPoint[], verdicts: BudgetVerdict[]): string {
  const all = verdicts.flatMap((v) => v.comparisons);
  const count = (v: Verdict) => all.filter((c) => c.verdict === v).length;
  const front = paretoFront(points, "params").map((p) => `${p.model} ${fmt(p.glue.mean)}`).join(", ");
  return `claims: ${count("reproduced")} reproduced, ${count("contradicted")} contradicted, ${count("inconclusive")} inconclusive of ${all.length}; Pareto front (params): ${front}`;
}
