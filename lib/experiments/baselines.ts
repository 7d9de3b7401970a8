// Zero-cost baselines for the ranking experiments: how well do predictors that need no training at all (size,
// compute, op counts, a random order) rank the ground-truth children? A supernet is only useful if it ranks
// better than these. Scored with the same Kendall tau, Spearman rho, precision@k and bootstrap as the supernets
// (lib/metrics.ts, see rankStats in ./ranking.ts).
import { bootstrapCI, kendallTau, mean, percentileInterval, precisionAtK, spearman } from "../metrics";
import { opFamilies } from "../nas/arch-space";
import type { Arch, ArchSpace } from "../nas/types";
import { Rng, seedFrom } from "../rng";

/**
 * Scores of the deterministic zero-cost predictors, lower = predicted lower (better) loss, like the supernet's
 * loss: `params` = -parameter count and `flops` = -forward FLOPs (bigger predicted better), and for each op
 * family present in the space (in order of first appearance: attention, ffn, sepconv, identity in the BERT
 * space; mbconv, identity in the CNN space) `count-<family>` = -(number of layers using that family). The sign
 * of an op count is not known a priori (more identity layers may well predict a *worse* loss), so we fix it to
 * "more is better" for every predictor and let the tau carry the sign: a negative tau means the opposite
 * direction predicts, and |tau| is what the predictor could reach with its sign chosen after the fact.
 */
export function baselineScores(space: ArchSpace, children: Arch[]): { name: string; scores: number[] }[] {
  return [
    { name: "params", scores: children.map((a) => -space.paramCount(a)) },
    { name: "flops", scores: children.map((a) => -space.flops(a)) },
    ...opFamilies(space).map((f) => ({
      name: `count-${f}`,
      scores: children.map((a) => -a.filter((k, l) => space.opFamily(l, k) === f).length),
    })),
  ];
}

export interface BaselineStat {
  /** `params`, `flops`, `count-<family>` or `random`. */
  name: string;
  /** Signed Kendall tau-b against the ground truth (NaN for a predictor constant over the children). */
  kendallTau: number;
  spearman: number;
  /** Precision@min(topK, children), ties broken at random in expectation (see precisionAtK). */
  precisionAtK: number;
  /** 95% interval of tau: bootstrap over children; for `random`, the central 95% of the null distribution. */
  ci: { kendallTau: [number, number] };
}

/**
 * Tau, rho and P@k of every zero-cost predictor against the ground-truth losses of `children`, as
 * `rankStats` scores a supernet (the same functions, the same paired bootstrap over children with the same
 * `resamples` and `seed`, so baseline and supernet CIs come from the same child resamples). The `random` row is
 * the null distribution: `resamples` seeded uniformly random orders of the children; its tau, rho and P@k are
 * the means over these orders (about 0, 0 and k/n) and its interval the 2.5 and 97.5 percentiles of their
 * taus, i.e. the range a predictor with no information falls in 95% of the time.
 */
export function baselineStats(
  space: ArchSpace,
  children: Arch[],
  groundTruth: ArrayLike<number>,
  topK: number,
  resamples: number,
  seed: number,
): BaselineStat[] {
  if (children.length === 0) throw new Error("baselineStats: children is empty");
  if (children.length !== groundTruth.length) {
    throw new Error(`baselineStats: children has ${children.length} entries, groundTruth ${groundTruth.length}`);
  }
  if (!Number.isInteger(topK) || topK < 1) throw new Error(`baselineStats: topK must be a positive integer, got ${topK}`);
  if (!Number.isInteger(resamples) || resamples < 1) throw new Error(`baselineStats: resamples must be a positive integer, got ${resamples}`);
  const g = Array.from(groundTruth), n = g.length, k = Math.min(topK, n);
  const rows: BaselineStat[] = baselineScores(space, children).map(({ name, scores }) => ({
    name,
    kendallTau: kendallTau(scores, g),
    spearman: spearman(scores, g),
    precisionAtK: precisionAtK(scores, g, k),
    ci: { kendallTau: bootstrapCI([scores, g], (a, b) => kendallTau(a, b), { resamples, seed }) },
  }));
  const rng = new Rng(seedFrom(seed, 0x4a11));
  const taus: number[] = [], rhos: number[] = [], pks: number[] = [];
  for (let r = 0; r < resamples; r++) {
    const order = rng.shuffle(Array.from({ length: n }, (_, i) => i));
    taus.push(kendallTau(order, g));
    rhos.push(spearman(order, g));
    pks.push(precisionAtK(order, g, k));
  }
  rows.push({ name: "random", kendallTau: mean(taus), spearman: mean(rhos), precisionAtK: mean(pks), ci: { kendallTau: percentileInterval(taus) } });
  return rows;
}

/**
 * Does a scheme rank better than a zero-cost baseline? Compares the scheme's mean-tau interval [lo, hi]
 * (e.g. `meanTauBootstrap`) with the baseline's |tau|, so the baseline gets its better sign for free (the
 * conservative side for the scheme): `beats` when lo > |tau|, `loses` when hi < |tau|, otherwise (or when
 * either is NaN, e.g. a constant predictor) `inconclusive`. For `random`, |tau| is the null mean (about 0),
 * so `beats` means "better than chance". The baseline's own uncertainty over children is not included; for
 * a fully paired check pass its sign-fixed scores to `pairedTauBootstrap` (lib/paired.ts) as the second scheme.
 */
export function beatsBaseline(schemeTauCI: [number, number], baseline: BaselineStat): "beats" | "loses" | "inconclusive" {
  const [lo, hi] = schemeTauCI;
  if (lo > hi) throw new Error(`beatsBaseline: schemeTauCI lower bound ${lo} exceeds upper bound ${hi}`);
  const ref = Math.abs(baseline.kendallTau);
  if (lo > ref) return "beats";
  if (hi < ref) return "loses";
  return "inconclusive";
}
