// Statistics for the interference and ranking analyses: similarity and rank correlations, precision@k,
// seeded percentile-bootstrap confidence intervals, and the cosine of two sets of gradients. Pure functions
// (the tensor helper reads its inputs and disposes what it creates).
import * as tf from "@tensorflow/tfjs";
import { Rng } from "./rng";

function checkPair(a: ArrayLike<number>, b: ArrayLike<number>, what: string): void {
  if (a.length !== b.length) throw new Error(`${what}: lengths differ (${a.length} vs ${b.length})`);
  if (a.length === 0) throw new Error(`${what}: empty input`);
}

export function mean(a: ArrayLike<number>): number {
  if (a.length === 0) throw new Error("mean: empty input");
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return s / a.length;
}

/** Standard deviation; `ddof` 1 (default) is the sample estimate, 0 the population one. */
export function std(a: ArrayLike<number>, ddof = 1): number {
  if (a.length - ddof <= 0) throw new Error(`std: need more than ${ddof} values, got ${a.length}`);
  const m = mean(a);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - m) ** 2;
  return Math.sqrt(s / (a.length - ddof));
}

/** a·b / (|a| |b|); NaN when either vector is all zeros. */
export function cosineSimilarity(a: ArrayLike<number>, b: ArrayLike<number>): number {
  checkPair(a, b, "cosineSimilarity");
  let dot = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return dot / Math.sqrt(na * nb);
}

/** Pearson correlation; NaN when either input is constant. */
export function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  checkPair(a, b, "pearson");
  const ma = mean(a), mb = mean(b);
  let sab = 0, saa = 0, sbb = 0;
  for (let i = 0; i < a.length; i++) {
    const da = a[i] - ma, db = b[i] - mb;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  return sab / Math.sqrt(saa * sbb);
}

/** 1-based ranks, ties get the average of the ranks they span (as scipy.stats.rankdata). */
export function ranks(a: ArrayLike<number>): number[] {
  const idx = Array.from({ length: a.length }, (_, i) => i).sort((i, j) => a[i] - a[j]);
  const r = new Array<number>(a.length);
  for (let i = 0; i < idx.length; ) {
    let j = i;
    while (j + 1 < idx.length && a[idx[j + 1]] === a[idx[i]]) j++;
    const avg = (i + j) / 2 + 1;
    for (let t = i; t <= j; t++) r[idx[t]] = avg;
    i = j + 1;
  }
  return r;
}

/** Spearman rank correlation (Pearson of average ranks, so ties are handled). */
export function spearman(a: ArrayLike<number>, b: ArrayLike<number>): number {
  checkPair(a, b, "spearman");
  return pearson(ranks(a), ranks(b));
}

/** `v` minus the mean of its stratum (all of `v` is one stratum when `strata` is omitted). */
function centreWithin(v: number[], strata?: ArrayLike<string | number>): number[] {
  const sums = new Map<string | number, { sum: number; n: number }>();
  const key = (i: number) => (strata ? strata[i] : 0);
  v.forEach((x, i) => {
    const s = sums.get(key(i)) ?? { sum: 0, n: 0 };
    s.sum += x;
    s.n += 1;
    sums.set(key(i), s);
  });
  return v.map((x, i) => {
    const s = sums.get(key(i))!;
    return x - s.sum / s.n;
  });
}

/** `v` minus its least-squares projection on `u` (both already centred); `u` all zero leaves `v` as is. */
function residualOn(v: number[], u: number[]): number[] {
  let uv = 0, uu = 0;
  for (let i = 0; i < v.length; i++) {
    uv += u[i] * v[i];
    uu += u[i] * u[i];
  }
  const beta = uu > 0 ? uv / uu : 0;
  return v.map((x, i) => x - beta * u[i]);
}

/**
 * Partial Spearman correlation of `a` and `b` given the categorical `strata` (e.g. k and where the differing
 * layers sit) and continuous `covariates`: the Pearson correlation of the ranks of `a` and `b` after
 * regressing each (least squares) on one indicator per stratum and on the covariates' ranks. Computed by
 * centring within strata and then removing the covariates one after another, orthogonalised (Frisch-Waugh),
 * which equals the joint regression. Without covariates it is the correlation of within-stratum rank
 * deviations (ranks taken over all values), so a stratum whose `a` is constant adds to `b`'s variance but no
 * covariance; NaN when nothing varies within strata.
 */
export function partialSpearman(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  given: { strata?: ArrayLike<string | number>; covariates?: ArrayLike<number>[] } = {},
): number {
  checkPair(a, b, "partialSpearman");
  const { strata, covariates = [] } = given;
  if (strata && strata.length !== a.length) throw new Error(`partialSpearman: strata has ${strata.length} entries, a has ${a.length}`);
  covariates.forEach((c, j) => {
    if (c.length !== a.length) throw new Error(`partialSpearman: covariate ${j} has ${c.length} entries, a has ${a.length}`);
  });
  let ra = centreWithin(ranks(a), strata), rb = centreWithin(ranks(b), strata);
  const basis: number[][] = [];
  for (const c of covariates) {
    let rc = centreWithin(ranks(c), strata);
    for (const u of basis) rc = residualOn(rc, u);
    basis.push(rc);
    ra = residualOn(ra, rc);
    rb = residualOn(rb, rc);
  }
  // The residuals are centred, so their Pearson correlation is their cosine.
  return cosineSimilarity(ra, rb);
}

/** Kendall tau-b (ties in either input handled, as scipy.stats.kendalltau); O(n^2). */
export function kendallTau(a: ArrayLike<number>, b: ArrayLike<number>): number {
  checkPair(a, b, "kendallTau");
  let s = 0, pa = 0, pb = 0; // s = concordant - discordant; pa, pb = pairs untied in a, in b
  for (let i = 0; i < a.length; i++) {
    for (let j = i + 1; j < a.length; j++) {
      const sa = Math.sign(a[i] - a[j]), sb = Math.sign(b[i] - b[j]);
      s += sa * sb;
      pa += Math.abs(sa);
      pb += Math.abs(sb);
    }
  }
  return s / Math.sqrt(pa * pb);
}

/**
 * Probability that each element is among the k smallest of `a` when ties are broken uniformly at random:
 * 1 below the k-th smallest value, 0 above it, and (free slots) / (tied elements) at it.
 */
function topKInclusion(a: ArrayLike<number>, k: number): number[] {
  const v = Array.from(a).sort((x, y) => x - y)[k - 1];
  let below = 0, tied = 0;
  for (let i = 0; i < a.length; i++) {
    if (a[i] < v) below++;
    else if (a[i] === v) tied++;
  }
  return Array.from(a, (x) => (x < v ? 1 : x === v ? (k - below) / tied : 0));
}

/**
 * For lower-is-better scores (losses): the fraction of the true top-k (k smallest `truth`) that are also among
 * the predicted top-k (k smallest `predicted`). Ties at the k-th value (in either input) count as broken
 * uniformly at random and the result is the expected fraction, so a coarse predictor (e.g. an op count, with
 * many ties) is neither favoured nor penalised by the order of the children; without ties it is the plain
 * fraction. NaN if any value is NaN.
 */
export function precisionAtK(predicted: ArrayLike<number>, truth: ArrayLike<number>, k: number): number {
  checkPair(predicted, truth, "precisionAtK");
  if (!Number.isInteger(k) || k < 1 || k > truth.length) throw new Error(`precisionAtK: k must be in [1, ${truth.length}], got ${k}`);
  if (Array.from(predicted).some(Number.isNaN) || Array.from(truth).some(Number.isNaN)) return NaN;
  const p = topKInclusion(predicted, k), q = topKInclusion(truth, k);
  return p.reduce((s, pi, i) => s + pi * q[i], 0) / k;
}

export interface BootstrapOptions {
  /** Number of resamples (default 1000). */
  resamples?: number;
  /** Two-sided level: the interval covers 1 - alpha (default 0.05). */
  alpha?: number;
  /** Seed of the resampling RNG (default 0). */
  seed?: number;
}

/** Linear-interpolated quantile of sorted values (numpy's default method). */
function quantileSorted(sorted: number[], q: number): number {
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos), hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/**
 * Central (1 - alpha) percentile interval [alpha/2 and 1 - alpha/2 quantiles, numpy's linear method] of a
 * sample of statistics, e.g. bootstrap replicates or a null distribution. NaN values are dropped (a resample
 * can make a correlation undefined); none left gives [NaN, NaN].
 */
export function percentileInterval(values: ArrayLike<number>, alpha = 0.05): [number, number] {
  if (!(alpha > 0 && alpha < 1)) throw new Error(`percentileInterval: alpha must be in (0, 1), got ${alpha}`);
  const sorted = Array.from(values).filter((v) => !Number.isNaN(v)).sort((x, y) => x - y);
  if (sorted.length === 0) return [NaN, NaN];
  return [quantileSorted(sorted, alpha / 2), quantileSorted(sorted, 1 - alpha / 2)];
}

/**
 * Seeded percentile-bootstrap interval [lo, hi] of `statistic`. With one array the elements are resampled;
 * with a pair [a, b] the same indices are drawn for both (paired data, e.g. correlations). Resamples whose
 * statistic is NaN (e.g. a constant resample's correlation) are dropped; all NaN gives [NaN, NaN].
 */
export function bootstrapCI(data: ArrayLike<number>, statistic: (s: number[]) => number, options?: BootstrapOptions): [number, number];
export function bootstrapCI(
  data: [ArrayLike<number>, ArrayLike<number>],
  statistic: (a: number[], b: number[]) => number,
  options?: BootstrapOptions,
): [number, number];
export function bootstrapCI(
  data: ArrayLike<number> | [ArrayLike<number>, ArrayLike<number>],
  statistic: (a: number[], b: number[]) => number,
  options: BootstrapOptions = {},
): [number, number] {
  const { resamples = 1000, alpha = 0.05, seed = 0 } = options;
  if (!(alpha > 0 && alpha < 1)) throw new Error(`bootstrapCI: alpha must be in (0, 1), got ${alpha}`);
  if (!Number.isInteger(resamples) || resamples < 1) throw new Error(`bootstrapCI: resamples must be a positive integer`);
  const paired = data.length === 2 && typeof data[0] !== "number";
  const [a, b] = paired
    ? (data as [ArrayLike<number>, ArrayLike<number>])
    : [data as ArrayLike<number>, data as ArrayLike<number>];
  checkPair(a, b, "bootstrapCI");
  const rng = new Rng(seed);
  const n = a.length;
  const stats: number[] = [];
  for (let r = 0; r < resamples; r++) {
    const sa = new Array<number>(n), sb = new Array<number>(n);
    for (let i = 0; i < n; i++) {
      const j = rng.int(n);
      sa[i] = a[j];
      sb[i] = b[j];
    }
    stats.push(paired ? statistic(sa, sb) : statistic(sa, sa));
  }
  return percentileInterval(stats, alpha);
}

/**
 * Cosine between two gradients given as lists of tensors (same shapes, pairwise), i.e. of their flattened
 * concatenations, without building the concatenation: Σ<a_i,b_i> / sqrt(Σ|a_i|² Σ|b_i|²).
 */
export function flatGradCosine(gradsA: tf.Tensor[], gradsB: tf.Tensor[]): number {
  if (gradsA.length !== gradsB.length) throw new Error(`flatGradCosine: ${gradsA.length} vs ${gradsB.length} tensors`);
  if (gradsA.length === 0) throw new Error("flatGradCosine: no tensors");
  const sums = tf.tidy(() => {
    const parts = gradsA.map((ga, i) => {
      const gb = gradsB[i];
      if (!tf.util.arraysEqual(ga.shape, gb.shape)) {
        throw new Error(`flatGradCosine: tensor ${i} shapes differ (${ga.shape} vs ${gb.shape})`);
      }
      return tf.stack([tf.sum(tf.mul(ga, gb)), tf.sum(tf.square(ga)), tf.sum(tf.square(gb))]); // [3]
    });
    return tf.addN(parts); // [3]
  });
  const [dot, na, nb] = sums.dataSync();
  sums.dispose();
  return dot / Math.sqrt(na * nb);
}

// GLUE's metrics (as GLUE computes them with scikit-learn and scipy): binary labels and predictions are class
// ids 0/1, the positive class 1.

/** Counts of a binary confusion matrix, positive class 1. */
function confusion(labels: ArrayLike<number>, predictions: ArrayLike<number>, what: string) {
  checkPair(labels, predictions, what);
  let tp = 0, tn = 0, fp = 0, fn = 0;
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i], p = predictions[i];
    if ((y !== 0 && y !== 1) || (p !== 0 && p !== 1)) throw new Error(`${what}: labels and predictions must be 0 or 1, got ${y} and ${p} at ${i}`);
    if (p === 1) y === 1 ? tp++ : fp++;
    else y === 0 ? tn++ : fn++;
  }
  return { tp, tn, fp, fn };
}

/** Fraction of predictions equal to their label (any class ids). */
export function accuracy(labels: ArrayLike<number>, predictions: ArrayLike<number>): number {
  checkPair(labels, predictions, "accuracy");
  let hits = 0;
  for (let i = 0; i < labels.length; i++) if (labels[i] === predictions[i]) hits++;
  return hits / labels.length;
}

/** Binary F1 of class 1: 2TP / (2TP + FP + FN); 0 when there is no positive label or prediction (as sklearn). */
export function f1Score(labels: ArrayLike<number>, predictions: ArrayLike<number>): number {
  const { tp, fp, fn } = confusion(labels, predictions, "f1Score");
  const denominator = 2 * tp + fp + fn;
  return denominator === 0 ? 0 : (2 * tp) / denominator;
}

/** Matthews correlation (TP TN - FP FN) / sqrt((TP+FP)(TP+FN)(TN+FP)(TN+FN)); 0 when a margin is empty (as sklearn). */
export function matthewsCorrelation(labels: ArrayLike<number>, predictions: ArrayLike<number>): number {
  const { tp, tn, fp, fn } = confusion(labels, predictions, "matthewsCorrelation");
  const denominator = Math.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn));
  return denominator === 0 ? 0 : (tp * tn - fp * fn) / denominator;
}

/** A GLUE metric by name. */
export type GlueMetric = "accuracy" | "f1" | "matthews" | "pearson" | "spearman";

const GLUE_METRIC_FNS: Record<GlueMetric, (labels: ArrayLike<number>, predictions: ArrayLike<number>) => number> = {
  accuracy,
  f1: f1Score,
  matthews: matthewsCorrelation,
  pearson,
  spearman,
};

/** The named metrics of predictions against labels (class ids, or STS-B scores for pearson/spearman). */
export function glueMetrics(names: readonly GlueMetric[], labels: ArrayLike<number>, predictions: ArrayLike<number>): Partial<Record<GlueMetric, number>> {
  return Object.fromEntries(names.map((n) => [n, GLUE_METRIC_FNS[n](labels, predictions)]));
}

/**
 * A task's GLUE score: the mean of its metrics (GLUE averages F1 and accuracy for MRPC and QQP, Pearson and
 * Spearman for STS-B; the other tasks have one metric).
 */
export function glueTaskScore(metrics: Partial<Record<GlueMetric, number>>): number {
  const values = Object.values(metrics).filter((v): v is number => v !== undefined);
  return mean(values);
}

/** The GLUE average: the unweighted mean of the task scores. */
export function glueAverage(taskScores: readonly number[]): number {
  return mean(taskScores);
}
