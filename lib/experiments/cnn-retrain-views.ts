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
  seeds: number;
  /** "better" / "worse": the mean difference exceeds 2 standard errors; otherwise "within the seed spread". */
  verdict: "better" | "worse" | "within the seed spread";
}

/** Each searched model against `hand`, paired by seed (the same seeds train both). */
export function compareWithHand(units: RetrainUnit[], hand: string): RetrainComparison[] {
  const handBySeed = new Map(units.filter((u) => u.model === hand).map((u) => [u.seed, u.testAccuracy]));
  const searched = [...new Set(units.filter((u) => u.model !== hand).map((u) => u.model))];
  return searched.map((model) => {
    const diffs = units.filter((u) => u.model === model && handBySeed.has(u.seed)).map((u) => u.testAccuracy - handBySeed.get(u.seed)!);
    const meanDifference = mean(diffs);
    const standardError = diffs.length > 1 ? std(diffs) / Math.sqrt(diffs.length) : NaN;
    const clear = Number.isFinite(standardError) && Math.abs(meanDifference) > 2 * standardError;
    const verdict = clear ? (meanDifference > 0 ? "better" : "worse") : "within the seed spread";
    return { model, meanDifference, standardError, seeds: diffs.length, verdict };
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
    return `${c.model} (${s.archId}, ${s.flops} FLOPs): ${pct(s.meanAccuracy)} vs ${pct(h.meanAccuracy)}, paired difference ` +
      `${c.meanDifference >= 0 ? "+" : ""}${fmt(100 * c.meanDifference, 2)} points ± ${fmt(100 * c.standardError, 2)} (s.e., ${c.seeds} seeds): **${c.verdict}**`;
  });
  const better = compareWithHand(units, hand).filter((c) => c.verdict === "better").length;
  return `Under the FLOPs budget (<= ${budget.max} FLOPs), the hand-designed ${hand} (${h.archId}, ${h.flops} FLOPs) reaches ` +
    `${pct(h.meanAccuracy)} test accuracy (sd ${pct(h.sdAccuracy)} over ${h.seeds} seeds). ` +
    `${better} of ${lines.length} searched children beat it by more than twice the standard error of the paired difference.\n\n` +
    lines.map((l) => `- ${l}`).join("\n");
}
