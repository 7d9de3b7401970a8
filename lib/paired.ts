// Paired comparisons of two schemes over the same seeds: an exact (or seeded Monte Carlo) sign-flip permutation
// test, the sign test, the mean difference with a Student-t interval, a two-level bootstrap of mean Kendall tau
// that resamples both seeds and children (and, level by level, what it would take to resolve a difference), the
// verdict on a claim "A > B", and a clustered bootstrap (seeds, then batches within a seed) for measurements
// that share a supernet and a batch. Pure functions; every random choice comes from a seed.
import { kendallTau, mean, percentileInterval, std, type BootstrapOptions } from "./metrics";
import { Rng } from "./rng";

/** Per-seed differences a[i] - b[i]; throws naming the argument on mismatched lengths, empty or non-finite input. */
function pairedDiffs(a: ArrayLike<number>, b: ArrayLike<number>, fn: string): number[] {
  if (a.length !== b.length) throw new Error(`${fn}: a and b must be paired (same seeds), got lengths ${a.length} and ${b.length}`);
  if (a.length === 0) throw new Error(`${fn}: a and b are empty`);
  const d: number[] = [];
  for (let i = 0; i < a.length; i++) {
    if (!Number.isFinite(a[i])) throw new Error(`${fn}: a[${i}] is ${a[i]}, not a finite number`);
    if (!Number.isFinite(b[i])) throw new Error(`${fn}: b[${i}] is ${b[i]}, not a finite number`);
    d.push(a[i] - b[i]);
  }
  return d;
}

/** Up to this many pairs the permutation test enumerates all 2^n sign flips (65 536 sums of 16 terms). */
const EXACT_MAX_PAIRS = 16;

export interface PermutationTest {
  /** Number of pairs (seeds). */
  n: number;
  /** Mean of a[i] - b[i]. */
  meanDiff: number;
  /** Two-sided p-value of "no difference" (the differences are symmetric about 0). */
  pValue: number;
  /** True when all 2^n sign flips were enumerated, false for the Monte Carlo estimate. */
  exact: boolean;
}

/**
 * Paired sign-flip permutation test of mean(a - b) = 0 (a and b: one value per seed, same seeds). Under the
 * null each difference is as likely to have either sign, so p is the fraction of the 2^n sign flips whose
 * |sum| is at least the observed |sum|. Exact for n <= 16; beyond, `resamples` (default 10 000) seeded
 * random flips with p = (hits + 1) / (resamples + 1), which never reports an impossible p = 0. The smallest
 * exact p is 2 / 2^n: 0.25 for 3 seeds, 0.0625 for 5, so p <= 0.05 needs at least 6 seeds.
 */
export function pairedPermutationTest(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  options: { resamples?: number; seed?: number } = {},
): PermutationTest {
  const { resamples = 10000, seed = 0 } = options;
  if (!Number.isInteger(resamples) || resamples < 1) throw new Error(`pairedPermutationTest: resamples must be a positive integer, got ${resamples}`);
  const d = pairedDiffs(a, b, "pairedPermutationTest");
  const n = d.length;
  const observed = Math.abs(d.reduce((s, x) => s + x, 0));
  // A flip with the same |sum| up to rounding is as extreme as the observation.
  const tolerance = 1e-12 * d.reduce((s, x) => s + Math.abs(x), 0);
  const extreme = (sum: number) => Math.abs(sum) >= observed - tolerance;
  let hits = 0;
  if (n <= EXACT_MAX_PAIRS) {
    const flips = 2 ** n;
    for (let mask = 0; mask < flips; mask++) {
      let sum = 0;
      for (let i = 0; i < n; i++) sum += (mask >> i) & 1 ? -d[i] : d[i];
      if (extreme(sum)) hits++;
    }
    return { n, meanDiff: mean(d), pValue: hits / flips, exact: true };
  }
  const rng = new Rng(seed);
  for (let r = 0; r < resamples; r++) {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += rng.next() < 0.5 ? -d[i] : d[i];
    if (extreme(sum)) hits++;
  }
  return { n, meanDiff: mean(d), pValue: (hits + 1) / (resamples + 1), exact: false };
}

/** P(X <= k) for X ~ Binomial(n, 1/2), summed in log space so that large n does not underflow 2^-n. */
function binomialHalfCdf(k: number, n: number): number {
  let logPmf = -n * Math.LN2, cdf = Math.exp(logPmf);
  for (let j = 0; j < k; j++) {
    logPmf += Math.log((n - j) / (j + 1));
    cdf += Math.exp(logPmf);
  }
  return cdf;
}

export interface SignTest {
  /** Seeds with a > b. */
  positive: number;
  /** Seeds with a < b. */
  negative: number;
  /** Seeds with a = b, left out of the test (the usual convention). */
  ties: number;
  /** Exact two-sided binomial p: min(1, 2 P(X <= min(positive, negative))), X ~ Bin(positive + negative, 1/2). */
  pValue: number;
}

/**
 * Sign test of "a > b and a < b are equally likely" over paired seeds: uses only the direction of each
 * difference, so one seed with a huge difference cannot dominate (complements the permutation test). p = 1
 * when every pair is tied. 5 wins of 5 give p = 2/32 = 0.0625.
 */
export function signTest(a: ArrayLike<number>, b: ArrayLike<number>): SignTest {
  const d = pairedDiffs(a, b, "signTest");
  const positive = d.filter((x) => x > 0).length, negative = d.filter((x) => x < 0).length;
  const n = positive + negative;
  return { positive, negative, ties: d.length - n, pValue: Math.min(1, 2 * binomialHalfCdf(Math.min(positive, negative), n)) };
}

/** ln Γ(x) for x > 0 (Lanczos, g = 7, 9 terms; ~15 significant digits). */
function logGamma(x: number): number {
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const z = x - 1;
  let s = c[0];
  for (let i = 1; i < 9; i++) s += c[i] / (z + i);
  const t = z + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(s);
}

/** Continued fraction of the regularized incomplete beta (modified Lentz, as Numerical Recipes' betacf). */
function betaContinuedFraction(x: number, a: number, b: number): number {
  const tiny = 1e-300;
  let c = 1, d = 1 - ((a + b) * x) / (a + 1);
  d = 1 / (Math.abs(d) < tiny ? tiny : d);
  let h = d;
  for (let m = 1; m <= 300; m++) {
    for (const num of [(m * (b - m) * x) / ((a + 2 * m - 1) * (a + 2 * m)), (-(a + m) * (a + b + m) * x) / ((a + 2 * m) * (a + 2 * m + 1))]) {
      d = 1 + num * d;
      d = 1 / (Math.abs(d) < tiny ? tiny : d);
      c = 1 + num / c;
      if (Math.abs(c) < tiny) c = tiny;
      h *= d * c;
    }
    if (Math.abs(d * c - 1) < 1e-15) break;
  }
  return h;
}

/** Regularized incomplete beta I_x(a, b). */
function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(a * Math.log(x) + b * Math.log(1 - x) - (logGamma(a) + logGamma(b) - logGamma(a + b)));
  return x < (a + 1) / (a + b + 2) ? (front * betaContinuedFraction(x, a, b)) / a : 1 - (front * betaContinuedFraction(1 - x, b, a)) / b;
}

/** Student t CDF with `df` degrees of freedom. */
function studentTCdf(t: number, df: number): number {
  const tail = 0.5 * incompleteBeta(df / (df + t * t), df / 2, 0.5);
  return t >= 0 ? 1 - tail : tail;
}

/**
 * The p-quantile of Student's t with `df` (> 0) degrees of freedom, by bisection on the CDF (relative error
 * ~1e-12). Used for the interval of a mean over a handful of seeds, where the normal 1.96 is too narrow.
 */
export function studentTQuantile(p: number, df: number): number {
  if (!(p > 0 && p < 1)) throw new Error(`studentTQuantile: p must be in (0, 1), got ${p}`);
  if (!(df > 0)) throw new Error(`studentTQuantile: df must be > 0, got ${df}`);
  if (p === 0.5) return 0;
  if (p < 0.5) return -studentTQuantile(1 - p, df);
  let lo = 0, hi = 1;
  while (studentTCdf(hi, df) < p) [lo, hi] = [hi, hi * 2];
  for (let i = 0; i < 200 && hi - lo > 1e-13 * hi; i++) {
    const mid = (lo + hi) / 2;
    if (studentTCdf(mid, df) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

export interface PairedEffect {
  /** Number of pairs (seeds). */
  n: number;
  /** Mean of a[i] - b[i]: the effect in the units of the metric (e.g. Kendall tau). */
  meanDiff: number;
  /** Student-t (1 - alpha) interval of the mean difference; (-inf, inf) for one pair, [m, m] if all differences equal m. */
  ci: [number, number];
  /** Cohen's d_z = mean / sd of the differences (NaN for one pair, infinite if all differences are the same non-zero value). */
  cohenDz: number;
}

/**
 * Effect size of a over b on paired seeds: the mean difference with a Student-t interval, mean ± t(1 - alpha/2,
 * n - 1) sd / sqrt(n), and the standardised d_z. A t interval rather than a bootstrap over seeds because with
 * 3-5 seeds a bootstrap can only take a handful of distinct values and is far too narrow.
 */
export function pairedEffect(a: ArrayLike<number>, b: ArrayLike<number>, alpha = 0.05): PairedEffect {
  if (!(alpha > 0 && alpha < 1)) throw new Error(`pairedEffect: alpha must be in (0, 1), got ${alpha}`);
  const d = pairedDiffs(a, b, "pairedEffect");
  const n = d.length, m = mean(d);
  if (n === 1) return { n, meanDiff: m, ci: [-Infinity, Infinity], cohenDz: NaN };
  const sd = std(d);
  const half = (studentTQuantile(1 - alpha / 2, n - 1) * sd) / Math.sqrt(n);
  return { n, meanDiff: m, ci: [m - half, m + half], cohenDz: m / sd };
}

export interface TauInterval {
  /** Mean over seeds of Kendall tau(supernet scores, ground truth) on all children. */
  estimate: number;
  /** Percentile interval over resamples of seeds and children. */
  ci: [number, number];
}

/** Throws unless `scores` is a non-empty [seed][child] matrix whose rows match `truth`. */
function checkScores(scores: ArrayLike<number>[], truth: ArrayLike<number>, name: string, fn: string): void {
  if (scores.length === 0) throw new Error(`${fn}: ${name} has no seeds`);
  scores.forEach((row, s) => {
    if (row.length !== truth.length) throw new Error(`${fn}: ${name}[${s}] scores ${row.length} children, truth has ${truth.length}`);
  });
}

/** Throws unless `a` and `b` are [seed][child] matrices of the same seeds whose rows match `truth` (>= 2 children). */
function checkPairedScores(a: ArrayLike<number>[], b: ArrayLike<number>[], truth: ArrayLike<number>, fn: string): void {
  if (truth.length < 2) throw new Error(`${fn}: truth needs >= 2 children, got ${truth.length}`);
  checkScores(a, truth, "a", fn);
  checkScores(b, truth, "b", fn);
  if (a.length !== b.length) throw new Error(`${fn}: a and b must have the same seeds, got ${a.length} and ${b.length}`);
}

/** Which levels a bootstrap replicate redraws: both (the intervals), or one alone (to split the variance). */
type ResampledLevels = "seeds and children" | "seeds" | "children";

/**
 * Per-scheme mean-over-seeds tau on the full data, and its bootstrap replicates. Each replicate draws child
 * indices (shared by every seed and scheme) and then seed indices (shared by every scheme), both with
 * replacement (a level not in `levels` keeps all its indices); a replicate's value is NaN when some tau is
 * undefined (e.g. all drawn children identical).
 */
function meanTauReplicates(schemes: ArrayLike<number>[][], truth: ArrayLike<number>, resamples: number, seed: number,
  levels: ResampledLevels = "seeds and children") {
  const nSeeds = schemes[0].length, nChildren = truth.length;
  const meanTau = (rows: ArrayLike<number>[], seedIdx: number[], childIdx: number[]) => {
    const g = childIdx.map((c) => truth[c]);
    const taus = rows.map((row) => kendallTau(childIdx.map((c) => row[c]), g));
    return mean(seedIdx.map((s) => taus[s]));
  };
  const allSeeds = Array.from({ length: nSeeds }, (_, s) => s), allChildren = Array.from({ length: nChildren }, (_, c) => c);
  const estimates = schemes.map((rows) => meanTau(rows, allSeeds, allChildren));
  const rng = new Rng(seed);
  const replicates = schemes.map(() => [] as number[]);
  for (let r = 0; r < resamples; r++) {
    const childIdx = levels === "seeds" ? allChildren : Array.from({ length: nChildren }, () => rng.int(nChildren));
    const seedIdx = levels === "children" ? allSeeds : Array.from({ length: nSeeds }, () => rng.int(nSeeds));
    schemes.forEach((rows, k) => replicates[k].push(meanTau(rows, seedIdx, childIdx)));
  }
  return { estimates, replicates };
}

function checkBootstrapOptions(options: BootstrapOptions, fn: string): Required<BootstrapOptions> {
  const { resamples = 1000, alpha = 0.05, seed = 0 } = options;
  if (!Number.isInteger(resamples) || resamples < 1) throw new Error(`${fn}: resamples must be a positive integer, got ${resamples}`);
  if (!(alpha > 0 && alpha < 1)) throw new Error(`${fn}: alpha must be in (0, 1), got ${alpha}`);
  return { resamples, alpha, seed };
}

/**
 * One scheme's mean Kendall tau over seeds with a two-level percentile-bootstrap interval: each resample draws
 * seeds and children with replacement (the same children for every seed), so the interval reflects both the
 * seed-to-seed spread and the finite set of children. `scores[s][c]` is the supernet's loss of child c with
 * seed s, `truth[c]` its ground-truth loss. Seeded (default 1000 resamples, alpha 0.05, seed 0). With few
 * seeds the seed level has few distinct resamples, so the interval understates the seed spread.
 */
export function meanTauBootstrap(scores: ArrayLike<number>[], truth: ArrayLike<number>, options: BootstrapOptions = {}): TauInterval {
  const { resamples, alpha, seed } = checkBootstrapOptions(options, "meanTauBootstrap");
  if (truth.length < 2) throw new Error(`meanTauBootstrap: truth needs >= 2 children, got ${truth.length}`);
  checkScores(scores, truth, "scores", "meanTauBootstrap");
  const { estimates, replicates } = meanTauReplicates([scores], truth, resamples, seed);
  return { estimate: estimates[0], ci: percentileInterval(replicates[0], alpha) };
}

/**
 * Paired two-level bootstrap of mean tau(A) - mean tau(B): `a[s]` and `b[s]` are the per-child scores of the
 * two schemes with the same seed s. Every resample draws the same seed indices for both schemes and the same
 * child indices for all seeds and both, so shared noise (a hard-to-rank child, a lucky data order) cancels in
 * the difference. Returns each scheme's interval (identical to `meanTauBootstrap` with the same options) and
 * the difference's. A zero-cost baseline can be compared the same way by passing its (sign-fixed) scores as
 * B for every seed.
 */
export function pairedTauBootstrap(
  a: ArrayLike<number>[],
  b: ArrayLike<number>[],
  truth: ArrayLike<number>,
  options: BootstrapOptions = {},
): { a: TauInterval; b: TauInterval; diff: TauInterval } {
  const { resamples, alpha, seed } = checkBootstrapOptions(options, "pairedTauBootstrap");
  checkPairedScores(a, b, truth, "pairedTauBootstrap");
  const { estimates, replicates } = meanTauReplicates([a, b], truth, resamples, seed);
  const diffs = replicates[0].map((x, r) => x - replicates[1][r]);
  return {
    a: { estimate: estimates[0], ci: percentileInterval(replicates[0], alpha) },
    b: { estimate: estimates[1], ci: percentileInterval(replicates[1], alpha) },
    diff: { estimate: estimates[0] - estimates[1], ci: percentileInterval(diffs, alpha) },
  };
}

/** Where the variance of a paired Δ(mean tau) comes from, and what it would take to resolve the observed Δ. */
export interface TauDifferencePower {
  /** Δ(mean tau) on all seeds and children. */
  estimate: number;
  seeds: number;
  children: number;
  /** Variance of Δ over bootstrap replicates that redraw the seeds only (children fixed). */
  seedVariance: number;
  /** Variance of Δ over replicates that redraw the children only (seeds fixed). */
  childVariance: number;
  /**
   * Seeds per scheme with which the projected 95 % half-width drops below |estimate| at today's children, or
   * null when the children's share alone is already wider (more seeds cannot resolve it).
   */
  seedsToResolve: number | null;
  /** Children with which the projected half-width drops below |estimate| at today's seeds, or null (the seeds' share alone is wider). */
  childrenToResolve: number | null;
  /** Variance of Δ over the replicates that redraw both (those of `pairedTauBootstrap`'s interval). */
  variance: number;
  /** The factor by which seeds and children must both grow for the same (at least 1; Infinity when Δ is 0). */
  scaleToResolve: number;
}

/**
 * How far a paired Δ(mean tau) is from being resolved, under our projection: the one-level bootstraps split
 * the two-level variance V into a seed part vS (shrinking as 1 / seeds), a child part vC (as 1 / children) and
 * what is left, vSC = V - vS - vC (at least 0; as 1 / (seeds x children)); the projected 95 % half-width is
 * 1.96 sqrt of their sum, and the observed Δ is taken as the true one.
 * That is an approximation (tau's variance over children is only asymptotically 1 / n; the ground truth's own
 * noise is in the child part and also shrinks only with more, or better-trained, children) and says which
 * level to spend compute on, not a guarantee. Same inputs as `pairedTauBootstrap`.
 */
export function pairedTauPower(a: ArrayLike<number>[], b: ArrayLike<number>[], truth: ArrayLike<number>, options: BootstrapOptions = {}): TauDifferencePower {
  const { resamples, seed } = checkBootstrapOptions(options, "pairedTauPower");
  checkPairedScores(a, b, truth, "pairedTauPower");
  const diffVariance = (levels: ResampledLevels) => {
    const { estimates, replicates } = meanTauReplicates([a, b], truth, resamples, seed, levels);
    const diffs = replicates[0].map((x, r) => x - replicates[1][r]).filter(Number.isFinite);
    return { estimate: estimates[0] - estimates[1], variance: std(diffs) ** 2 };
  };
  const { estimate, variance } = diffVariance("seeds and children");
  const { variance: seedVariance } = diffVariance("seeds");
  const { variance: childVariance } = diffVariance("children");
  const target = (estimate / 1.96) ** 2; // the variance at which the 95 % half-width equals |estimate|
  const seeds = a.length, children = truth.length;
  const interaction = Math.max(0, variance - seedVariance - childVariance);
  // Grow one level until its shrinking parts plus the other level's fixed part fit the target (never below today's count).
  const toResolve = (grown: number, count: number, fixed: number) =>
    fixed >= target ? null : Math.max(count, Math.ceil(((grown + interaction) * count) / (target - fixed)));
  // Both by a factor f: (vS + vC) / f + vSC / f^2 = target, the positive root.
  const linear = seedVariance + childVariance;
  const scale = (linear + Math.sqrt(linear ** 2 + 4 * target * interaction)) / (2 * target);
  return {
    estimate, seeds, children, seedVariance, childVariance, variance,
    seedsToResolve: toResolve(seedVariance, seeds, childVariance),
    childrenToResolve: toResolve(childVariance, children, seedVariance),
    scaleToResolve: target === 0 ? Infinity : Math.max(1, scale),
  };
}

/**
 * Outcome of testing a claim "A > B": `reproduced` (the data support it), `contradicted` (the data support
 * the opposite, A < B), `inconclusive` (neither).
 */
export type Verdict = "reproduced" | "contradicted" | "inconclusive";

/**
 * Verdict on the claim "A > B" from the (1 - alpha) interval [lo, hi] of A - B (e.g. `pairedTauBootstrap`'s
 * diff) and a two-sided p-value of A = B over seeds (e.g. `pairedPermutationTest`). Rule: `reproduced` when
 * lo > 0 and p <= alpha; `contradicted` when hi < 0 and p <= alpha; otherwise `inconclusive` (also for NaN
 * bounds or p). Both are required so that neither the child-level interval alone nor the seed-level test
 * alone decides; an interval touching 0 is inconclusive. Consequence: with fewer than 6 seeds the exact
 * permutation p cannot reach 0.05, so no claim can be reproduced or contradicted at alpha = 0.05.
 */
export function claimVerdict(diffCI: [number, number], pValue: number, alpha = 0.05): Verdict {
  const [lo, hi] = diffCI;
  if (lo > hi) throw new Error(`claimVerdict: diffCI lower bound ${lo} exceeds upper bound ${hi}`);
  if (pValue < 0 || pValue > 1) throw new Error(`claimVerdict: pValue must be in [0, 1], got ${pValue}`);
  if (!(alpha > 0 && alpha < 1)) throw new Error(`claimVerdict: alpha must be in (0, 1), got ${alpha}`);
  if (!(pValue <= alpha)) return "inconclusive";
  if (lo > 0) return "reproduced";
  if (hi < 0) return "contradicted";
  return "inconclusive";
}

/**
 * Replicates of a clustered (two-level) bootstrap. `clusters[s][j]` holds the items measured on supernet seed s
 * and batch j (a seed's batches may differ in number). Each replicate draws seeds with replacement, then, for
 * every drawn seed, as many of its batches with replacement, and evaluates `statistic` on the concatenated
 * items: so items that share a supernet or a batch move together, and the spread reflects how few seeds and
 * batches there are, not how many pairs. `statistic` returns several numbers at once (one per component).
 * Seeded (default 1000 resamples, seed 0).
 */
export function clusteredReplicates<T>(clusters: T[][][], statistic: (items: T[]) => number[], options: BootstrapOptions = {}): number[][] {
  const { resamples, seed } = checkBootstrapOptions(options, "clusteredReplicates");
  if (clusters.length === 0) throw new Error("clusteredReplicates: no seeds");
  clusters.forEach((batches, s) => {
    if (batches.length === 0) throw new Error(`clusteredReplicates: seed ${s} has no batches`);
  });
  const rng = new Rng(seed);
  const replicates: number[][] = [];
  for (let r = 0; r < resamples; r++) {
    const items: T[] = [];
    for (let i = 0; i < clusters.length; i++) {
      const batches = clusters[rng.int(clusters.length)];
      for (let j = 0; j < batches.length; j++) items.push(...batches[rng.int(batches.length)]);
    }
    replicates.push(statistic(items));
  }
  return replicates;
}

/**
 * The statistic on all items and its clustered-bootstrap percentile interval per component (see
 * clusteredReplicates; NaN replicates are dropped).
 */
export function clusteredBootstrap<T>(
  clusters: T[][][],
  statistic: (items: T[]) => number[],
  options: BootstrapOptions = {},
): { estimate: number; ci: [number, number] }[] {
  const { alpha } = checkBootstrapOptions(options, "clusteredBootstrap");
  const estimates = statistic(clusters.flat(2));
  const replicates = clusteredReplicates(clusters, statistic, options);
  return estimates.map((estimate, c) => ({ estimate, ci: percentileInterval(replicates.map((r) => r[c]), alpha) }));
}
