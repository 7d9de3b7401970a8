// Notebook 06's view of the retrain comparison (cnn-retrain.ts): per model the test accuracy's mean and spread
// over the seeds, each searched child against the hand-designed control paired by seed, and the verdict computed
// from those numbers.
import { fmt } from "../display";
import { mean, std } from "../metrics";
import type { Budget } from "../nas/search";
import type { RetrainUnit } from "./cnn-retrain";

/** One model's row of the comparison: test accuracy over the seeds. */
export interface RetrainSummary {
  model: string;
  archId: string;
  params: number;
  flops: number;
  seeds: number;
  meanAccuracy: number;
  /** Sample standard deviation over the seeds. */
  sdAccuracy: number;
  minAccuracy: number;
  maxAccuracy: number;
  /** The supernet's estimate of the child's test error during the search (searched models only). */
  estimatedError?: number;
}

/** Per model (in the order of `units`' first appearance), the test accuracy's mean and spread over the seeds. */
export function retrainSummary(units: RetrainUnit[]): RetrainSummary[] {
  const names = [...new Set(units.map((u) => u.model))];
  return names.map((name) => {
    const own = units.filter((u) => u.model === name);
    const acc = own.map((u) => u.testAccuracy);
    return {
      model: name, archId: own[0].archId, params: own[0].params, flops: own[0].flops, seeds: own.length,
      meanAccuracy: mean(acc), sdAccuracy: acc.length > 1 ? std(acc) : NaN, minAccuracy: Math.min(...acc), maxAccuracy: Math.max(...acc),
      ...(own[0].search ? { estimatedError: own[0].search.estimatedLoss } : {}),
    };
  });
}

/** A searched model against the hand-designed control, paired by seed. */
export interface RetrainComparison {
  model: string;
  /** Mean over the shared seeds of (searched - hand) test accuracy. */
  meanDifference: number;
  /** Standard error of that mean (sd of the paired differences / sqrt(seeds)). */
  standardError: number;
  /** 95 % interval of the mean difference, Student's t with seeds - 1 degrees of freedom (null below MIN_VERDICT_SEEDS seeds). */
  interval: [number, number] | null;
  seeds: number;
  /**
   * "better" / "worse": the interval lies above / below 0; "within the seed spread" otherwise; "too few seeds" below
   * MIN_VERDICT_SEEDS (with 2 seeds two equal differences, common at tiny's coarse accuracies, give a zero spread).
   */
  verdict: "better" | "worse" | "within the seed spread" | "too few seeds";
}

/** Seeds a verdict needs (our choice): fewer leave the spread of the paired differences unestimated. */
export const MIN_VERDICT_SEEDS = 3;

/** Two-sided 95 % quantiles of Student's t for 1..10 degrees of freedom (more: 10's, slightly conservative). */
const T95 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228];

/** Each searched model against `hand`, paired by seed (the same seeds train both). */
export function compareWithHand(units: RetrainUnit[], hand: string): RetrainComparison[] {
  const handBySeed = new Map(units.filter((u) => u.model === hand).map((u) => [u.seed, u.testAccuracy]));
  const searched = [...new Set(units.filter((u) => u.model !== hand).map((u) => u.model))];
  return searched.map((model) => {
    const diffs = units.filter((u) => u.model === model && handBySeed.has(u.seed)).map((u) => u.testAccuracy - handBySeed.get(u.seed)!);
    const meanDifference = mean(diffs);
    const standardError = diffs.length > 1 ? std(diffs) / Math.sqrt(diffs.length) : NaN;
    if (diffs.length < MIN_VERDICT_SEEDS) return { model, meanDifference, standardError, interval: null, seeds: diffs.length, verdict: "too few seeds" as const };
    const half = T95[Math.min(diffs.length - 1, T95.length) - 1] * standardError;
    const interval: [number, number] = [meanDifference - half, meanDifference + half];
    const verdict = interval[0] > 0 ? "better" as const : interval[1] < 0 ? "worse" as const : "within the seed spread" as const;
    return { model, meanDifference, standardError, interval, seeds: diffs.length, verdict };
  });
}

/** The comparison as one markdown paragraph, computed from the numbers. */
export function retrainVerdictText(units: RetrainUnit[], hand: string, budget: Budget): string {
  const summary = retrainSummary(units);
  const h = summary.find((s) => s.model === hand);
  if (!h) throw new Error(`retrainVerdictText: no units of the hand-designed model ${hand}`);
  const pct = (x: number) => `${fmt(100 * x, 2)} %`;
  const lines = compareWithHand(units, hand).map((c) => {
    const s = summary.find((m) => m.model === c.model)!;
    const interval = c.interval ? `95 % interval [${fmt(100 * c.interval[0], 2)}, ${fmt(100 * c.interval[1], 2)}]` : `fewer than ${MIN_VERDICT_SEEDS} seeds: no interval`;
    return `${c.model} (${s.archId}, ${s.flops} FLOPs): ${pct(s.meanAccuracy)} vs ${pct(h.meanAccuracy)}, paired difference ` +
      `${c.meanDifference >= 0 ? "+" : ""}${fmt(100 * c.meanDifference, 2)} points (${interval}, ${c.seeds} seeds): **${c.verdict}**`;
  });
  const comparisons = compareWithHand(units, hand);
  const count = (v: RetrainComparison["verdict"]) => comparisons.filter((c) => c.verdict === v).length;
  return `Under the FLOPs budget (<= ${budget.max} FLOPs), the hand-designed ${hand} (${h.archId}, ${h.flops} FLOPs) reaches ` +
    `${pct(h.meanAccuracy)} test accuracy (sd ${pct(h.sdAccuracy)} over ${h.seeds} seeds). Of ${comparisons.length} searched children, ` +
    `${count("better")} beat it and ${count("worse")} lose to it (the 95 % interval of the paired difference, Student's t over seeds, above or below 0)` +
    `${count("too few seeds") ? `; ${count("too few seeds")} have fewer than ${MIN_VERDICT_SEEDS} seeds for a verdict` : ""}.\n\n` +
    lines.map((l) => `- ${l}`).join("\n");
}

/** The summary as table rows (accuracies in %). */
export function retrainRows(units: RetrainUnit[]): Record<string, unknown>[] {
  return retrainSummary(units).map((s) => ({
    model: s.model, child: s.archId, FLOPs: s.flops, parameters: s.params, seeds: s.seeds,
    "test accuracy (mean, %)": fmt(100 * s.meanAccuracy, 2), "sd (%)": fmt(100 * s.sdAccuracy, 2),
    "min (%)": fmt(100 * s.minAccuracy, 2), "max (%)": fmt(100 * s.maxAccuracy, 2),
    "supernet's estimated error": s.estimatedError ?? "",
  }));
}
