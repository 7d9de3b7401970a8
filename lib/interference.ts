// Interference between two children on a shared operator (the paper's Section 3), as we reconstruct it, in any
// space whose model exposes its layer states (LayeredModel: the BERT supernet's h_0..h_L, the CNN supernet's layer
// inputs x_0..x_L; the loss is the task's, MLM or cross-entropy):
// children A and B pick the same op at sub-layer `layer` and differ in exactly `k` other sub-layers. On
// the same batch (same masking) we take the gradient of the MLM loss w.r.t. the shared op's parameters
// under A and under B and report their cosine (1 = no interference), plus the cosine of the shared op's
// input (h_layer) and output (h_layer+1) under A and B (observation 2), and the cosine of the gradients that
// reach its output from above (dL/dh_layer+1): the op's parameter gradient is a product of its input and
// that output gradient, so the two similarities are the mechanical candidates behind observation 2.
// Summaries come with two intervals: over pairs (as if independent) and clustered (supernet seeds, then
// batches: pairs share both), plus correlations within k and partial ones given k and position.
import * as tf from "@tensorflow/tfjs";
import type { Arch, ArchSpace } from "./nas/types";
import type { Rng } from "./rng";
import { randomChild } from "./nas/arch-space";
import { bootstrapCI, cosineSimilarity, flatGradCosine, mean, partialSpearman, spearman } from "./metrics";
import { clusteredBootstrap } from "./paired";

/** Where the layers that differ between A and B sit relative to the shared layer. */
export type Where = "before" | "after" | "both";

export interface PairSpec {
  /** The sub-layer whose op A and B share. */
  layer: number;
  /** How many other sub-layers differ. */
  k: number;
  a: Arch;
  b: Arch;
  /** `after`: only the backward pass differs at `layer`; `before`/`both`: its input differs too. */
  where: Where;
}

export interface PairResult extends Omit<PairSpec, "a" | "b"> {
  a: Arch;
  b: Arch;
  /** Cosine of the shared op's parameter gradients under A and B (all its parameters). */
  gradCosine: number;
  /** The same, over its weight matrices only (no biases, no LayerNorm gains), which dominate its function. */
  matrixGradCosine: number;
  /** Cosine of the shared op's input h_layer under A and B (flattened over the batch). */
  inputCosine: number;
  /** Cosine of the shared op's output h_layer+1 under A and B. */
  outputCosine: number;
  /** Cosine of the loss gradient w.r.t. the shared op's output h_layer+1 under A and B (what reaches it from above). */
  outputGradCosine: number;
}

/** A measured pair and where it was measured: the clusters of the clustered bootstrap. */
export interface MeasuredPair extends PairResult {
  /** Seed of the supernet it was measured on. */
  seed: number;
  /** Index of the validation batch (A and B both saw it). */
  batch: number;
  /** Its position among the pairs of its (layer, k) cell: pairs with the same (layer, k, index) are the same pair. */
  index: number;
}

/**
 * What the measurement reads of a model: the variables of the op a child picks at a layer, the layer states of a
 * child (h_0..h_L: the input of layer l is h_l, its output h_{l+1}), and the loss continued from a layer state.
 * Implemented by lib/nas/supernet.ts and lib/nas/cnn-supernet.ts.
 */
export interface LayeredModel<B> {
  readonly archSpace: ArchSpace;
  opVariables(layer: number, arch: Arch): tf.Variable[];
  layerStates(arch: Arch, batch: B): tf.Tensor[];
  lossFromLayer(arch: Arch, layer: number, h: tf.Tensor, batch: B): tf.Scalar;
}

/** Choices of layer `layer` that own parameters: only those can be "shared" in the gradient sense. */
function parametricOps(space: ArchSpace, layer: number): number[] {
  return Array.from({ length: space.choices[layer] }, (_, k) => k).filter((k) => space.opFamily(layer, k) !== "identity");
}

/**
 * `count` pairs that share a parametric op at `layer` and differ in exactly `k` other sub-layers, chosen
 * uniformly among the other L-1 sub-layers; each differing sub-layer gets a uniformly chosen different op.
 */
export function samplePairs(space: ArchSpace, layer: number, k: number, count: number, rng: Rng): PairSpec[] {
  const { choices } = space;
  const layers = choices.length;
  if (!Number.isInteger(layer) || layer < 0 || layer >= layers) throw new Error(`samplePairs: layer must be in [0, ${layers - 1}], got ${layer}`);
  if (!Number.isInteger(k) || k < 1 || k > layers - 1) throw new Error(`samplePairs: k must be in [1, ${layers - 1}], got ${k}`);
  if (choices.some((n) => n < 2)) throw new Error("samplePairs: the space needs at least 2 ops per sub-layer");
  const shareable = parametricOps(space, layer);
  if (shareable.length === 0) throw new Error(`samplePairs: no op with parameters at layer ${layer}`);
  const others = Array.from({ length: layers }, (_, j) => j).filter((j) => j !== layer);
  return Array.from({ length: count }, () => {
    const a = randomChild(space, rng);
    a[layer] = rng.choice(shareable);
    const b = [...a];
    const changed = rng.shuffle([...others]).slice(0, k);
    for (const j of changed) b[j] = (a[j] + 1 + rng.int(choices[j] - 1)) % choices[j]; // uniform among the layer's other ops
    const before = changed.some((j) => j < layer);
    const after = changed.some((j) => j > layer);
    const where: Where = before && after ? "both" : before ? "before" : "after";
    return { layer, k, a, b, where };
  });
}

/** Cosine of two tensors' flattened values. */
function tensorCosine(x: tf.Tensor, y: tf.Tensor): number {
  return cosineSimilarity(x.dataSync() as Float32Array, y.dataSync() as Float32Array);
}

/**
 * Child `arch`'s gradients on `batch`, from its hidden states `h` (h_0..h_L): w.r.t. the shared op's
 * variables `vars` (continuing from h_layer) and w.r.t. the op's output h_layer+1. The caller disposes them.
 */
function gradients<B>(model: LayeredModel<B>, arch: Arch, layer: number, h: tf.Tensor[], batch: B, vars: tf.Variable[]) {
  const { value, grads } = tf.variableGrads(() => model.lossFromLayer(arch, layer, h[layer], batch), vars);
  value.dispose();
  const outputGrad = tf.grad((x) => model.lossFromLayer(arch, layer + 1, x, batch))(h[layer + 1]);
  return { params: vars.map((v) => grads[v.name]), outputGrad };
}

/** Measures one pair on one batch (A and B see the same tokens and the same masking). */
export function measurePair<B>(model: LayeredModel<B>, pair: PairSpec, batch: B): PairResult {
  const vars = model.opVariables(pair.layer, pair.a); // the very same variables as under pair.b
  const hA = model.layerStates(pair.a, batch); // h_0..h_L ([B, T, D] each in the BERT space)
  const hB = model.layerStates(pair.b, batch);
  const gA = gradients(model, pair.a, pair.layer, hA, batch, vars);
  const gB = gradients(model, pair.b, pair.layer, hB, batch, vars);
  const gradCosine = flatGradCosine(gA.params, gB.params);
  const matrices = vars.flatMap((v, i) => (v.rank >= 2 ? [i] : []));
  const matrixGradCosine = flatGradCosine(matrices.map((i) => gA.params[i]), matrices.map((i) => gB.params[i]));
  const result = {
    ...pair,
    gradCosine,
    matrixGradCosine,
    inputCosine: tensorCosine(hA[pair.layer], hB[pair.layer]),
    outputCosine: tensorCosine(hA[pair.layer + 1], hB[pair.layer + 1]),
    outputGradCosine: tensorCosine(gA.outputGrad, gB.outputGrad),
  };
  tf.dispose([...gA.params, ...gB.params, gA.outputGrad, gB.outputGrad, ...hA, ...hB]);
  return result;
}

/** A statistic with its two intervals: over pairs as if independent, and clustered by supernet seed and batch. */
export interface Estimate {
  value: number;
  /** Percentile bootstrap over pairs (treats pairs as independent: too narrow, kept for comparison). */
  ci: [number, number];
  /** Clustered bootstrap: supernet seeds, then batches within each seed (lib/paired.ts clusteredBootstrap). */
  clusteredCi: [number, number];
}

export interface ByK {
  k: number;
  mean: number;
  /** Bootstrap over pairs. */
  ci: [number, number];
  /** Clustered bootstrap (seeds, then batches). */
  clusteredCi: [number, number];
  pairs: number;
}

/** Spearman correlations of the gradient cosine with the three similarities, within one k. */
export interface WithinK {
  k: number;
  pairs: number;
  input: Estimate;
  output: Estimate;
  outputGrad: Estimate;
}

export interface InterferenceSummary {
  /** How many supernet seeds and (seed, batch) clusters the pairs come from. */
  clusters: { seeds: number; batches: number };
  /** Observation 1, pooled over layers: mean gradient cosine per k with its bootstrap CIs. */
  byK: ByK[];
  /** Observation 1 per shared layer. */
  byLayer: { layer: number; byK: ByK[] }[];
  /** Observation 1 split by where the differing layers are (input changes or only the backward). */
  byWhere: { where: Where; byK: ByK[] }[];
  /** Rank correlation of k with the gradient cosine over all pairs (negative = the paper's claim). */
  kCorrelation: { spearman: number; ci: [number, number]; clusteredCi: [number, number] };
  /** The same for the weight-matrix-only gradient cosine. */
  kCorrelationMatrices: { spearman: number; ci: [number, number]; clusteredCi: [number, number] };
  /**
   * Observation 2 pooled over k: Spearman of input / output similarity with the gradient cosine (positive =
   * the claim), and of the output-gradient similarity (the third variable).
   */
  io: {
    inputSpearman: number; inputCi: [number, number]; inputClusteredCi: [number, number];
    outputSpearman: number; outputCi: [number, number]; outputClusteredCi: [number, number];
    outputGradSpearman: number; outputGradCi: [number, number]; outputGradClusteredCi: [number, number];
  };
  /** Observation 2 within each k (k held fixed, so it cannot restate observation 1). */
  withinK: WithinK[];
  /**
   * Observation 2 controlled for observation 1: partial Spearman with the gradient cosine given k and where the
   * differing layers sit (one stratum per (k, where)); `...GivenOutputGrad` also given the output-gradient similarity.
   */
  partial: { input: Estimate; output: Estimate; outputGrad: Estimate; inputGivenOutputGrad: Estimate; outputGivenOutputGrad: Estimate };
}

export interface SummaryOptions {
  /** Bootstrap resamples for every CI (default 1000). */
  resamples?: number;
  /** Seed of the bootstrap. */
  seed?: number;
}

/** Pairs grouped by supernet seed, then by batch: the clusters of the clustered bootstrap. */
export function pairClusters<T extends { seed: number; batch: number }>(pairs: T[]): T[][][] {
  const seeds = new Map<number, Map<number, T[]>>();
  for (const p of pairs) {
    const batches = seeds.get(p.seed) ?? seeds.set(p.seed, new Map()).get(p.seed)!;
    (batches.get(p.batch) ?? batches.set(p.batch, []).get(p.batch)!).push(p);
  }
  const sorted = <V>(m: Map<number, V>) => [...m.keys()].sort((x, y) => x - y).map((key) => m.get(key)!);
  return sorted(seeds).map((batches) => sorted(batches));
}

type Statistic = (pairs: MeasuredPair[]) => number;

/** Estimates of several statistics on `pairs`, with pair-level and clustered intervals (one clustered bootstrap for all). */
function estimates(pairs: MeasuredPair[], statistics: Statistic[], options: SummaryOptions): Estimate[] {
  const clustered = clusteredBootstrap(pairClusters(pairs), (items) => statistics.map((f) => f(items)), options);
  const indices = pairs.map((_, i) => i);
  return statistics.map((f, j) => ({
    value: clustered[j].estimate,
    ci: bootstrapCI(indices, (s) => f(s.map((i) => pairs[i])), options),
    clusteredCi: clustered[j].ci,
  }));
}

const grad = (p: PairResult) => p.gradCosine;
const rankCorrelation = (x: (p: PairResult) => number, y: (p: PairResult) => number = grad): Statistic => (ps) => spearman(ps.map(x), ps.map(y));
const stratum = (p: PairResult) => `${p.k}/${p.where}`;
const partialGivenPosition = (x: (p: PairResult) => number, covariates: ((p: PairResult) => number)[] = []): Statistic => (ps) =>
  partialSpearman(ps.map(x), ps.map(grad), { strata: ps.map(stratum), covariates: covariates.map((c) => ps.map(c)) });

function groupByK(pairs: MeasuredPair[], options: SummaryOptions): ByK[] {
  const ks = [...new Set(pairs.map((p) => p.k))].sort((x, y) => x - y);
  return ks.map((k) => {
    const inK = pairs.filter((p) => p.k === k);
    const [m] = estimates(inK, [(ps) => mean(ps.map(grad))], options);
    return { k, mean: m.value, ci: m.ci, clusteredCi: m.clusteredCi, pairs: inK.length };
  });
}

/** Means, CIs and correlations of a set of measured pairs (one or more supernet seeds). */
export function summarizePairs(pairs: MeasuredPair[], options: SummaryOptions = {}): InterferenceSummary {
  if (pairs.length < 2) throw new Error(`summarizePairs: need at least 2 pairs, got ${pairs.length}`);
  const clusters = pairClusters(pairs);
  const [k, kMatrices, input, output, outputGrad] = estimates(pairs, [
    rankCorrelation((p) => p.k),
    rankCorrelation((p) => p.k, (p) => p.matrixGradCosine),
    rankCorrelation((p) => p.inputCosine),
    rankCorrelation((p) => p.outputCosine),
    rankCorrelation((p) => p.outputGradCosine),
  ], options);
  const [pInput, pOutput, pOutputGrad, pInputGivenOG, pOutputGivenOG] = estimates(pairs, [
    partialGivenPosition((p) => p.inputCosine),
    partialGivenPosition((p) => p.outputCosine),
    partialGivenPosition((p) => p.outputGradCosine),
    partialGivenPosition((p) => p.inputCosine, [(p) => p.outputGradCosine]),
    partialGivenPosition((p) => p.outputCosine, [(p) => p.outputGradCosine]),
  ], options);
  const ks = [...new Set(pairs.map((p) => p.k))].sort((x, y) => x - y);
  const withinK = ks.map((kk) => {
    const inK = pairs.filter((p) => p.k === kk);
    const [i, o, og] = estimates(inK, [rankCorrelation((p) => p.inputCosine), rankCorrelation((p) => p.outputCosine), rankCorrelation((p) => p.outputGradCosine)], options);
    return { k: kk, pairs: inK.length, input: i, output: o, outputGrad: og };
  });
  const layers = [...new Set(pairs.map((p) => p.layer))].sort((x, y) => x - y);
  const wheres = (["before", "after", "both"] as Where[]).filter((w) => pairs.some((p) => p.where === w));
  const corr = (e: Estimate) => ({ spearman: e.value, ci: e.ci, clusteredCi: e.clusteredCi });
  return {
    clusters: { seeds: clusters.length, batches: clusters.reduce((n, c) => n + c.length, 0) },
    byK: groupByK(pairs, options),
    byLayer: layers.map((layer) => ({ layer, byK: groupByK(pairs.filter((p) => p.layer === layer), options) })),
    byWhere: wheres.map((where) => ({ where, byK: groupByK(pairs.filter((p) => p.where === where), options) })),
    kCorrelation: corr(k),
    kCorrelationMatrices: corr(kMatrices),
    io: {
      inputSpearman: input.value, inputCi: input.ci, inputClusteredCi: input.clusteredCi,
      outputSpearman: output.value, outputCi: output.ci, outputClusteredCi: output.clusteredCi,
      outputGradSpearman: outputGrad.value, outputGradCi: outputGrad.ci, outputGradClusteredCi: outputGrad.clusteredCi,
    },
    withinK,
    partial: { input: pInput, output: pOutput, outputGrad: pOutputGrad, inputGivenOutputGrad: pInputGivenOG, outputGivenOutputGrad: pOutputGivenOG },
  };
}

/** One scheme against a base scheme on the same pairs (same (layer, k, index), same seed numbers and batches). */
export interface SchemeDifference {
  /** Pairs matched in both. */
  pairs: number;
  /** Mean gradient cosine under the scheme, under the base, and their difference (scheme - base: > 0 = less interference). */
  scheme: { value: number; ci: [number, number] };
  base: { value: number; ci: [number, number] };
  diff: { value: number; ci: [number, number] };
  /** The difference per k. */
  byK: { k: number; pairs: number; diff: { value: number; ci: [number, number] } }[];
}

/**
 * Mean gradient cosine of the same pairs under `scheme`'s and `base`'s supernets (matched by seed number and
 * (layer, k, index)), with clustered intervals: one resample draws the same seeds and batches for both, so
 * the noise they share (the pair, the batch, the data order of a seed) cancels in the difference.
 */
export function compareOnSamePairs(scheme: MeasuredPair[], base: MeasuredPair[], options: SummaryOptions = {}): SchemeDifference {
  const key = (p: MeasuredPair) => `${p.seed}/${p.layer}/${p.k}/${p.index}`;
  const baseOf = new Map(base.map((p) => [key(p), p]));
  const matched = scheme.flatMap((p) => {
    const b = baseOf.get(key(p));
    if (!b) return [];
    if (b.batch !== p.batch || b.a.join() !== p.a.join() || b.b.join() !== p.b.join()) {
      throw new Error(`compareOnSamePairs: pair ${key(p)} differs between the two schemes (arch or batch); measure both on the same pair set`);
    }
    return [{ seed: p.seed, batch: p.batch, k: p.k, scheme: p.gradCosine, base: b.gradCosine }];
  });
  if (matched.length < 2) throw new Error(`compareOnSamePairs: only ${matched.length} pairs in common`);
  type Matched = (typeof matched)[number];
  const ks = [...new Set(matched.map((m) => m.k))].sort((x, y) => x - y);
  const diffOf = (ms: Matched[]) => mean(ms.map((m) => m.scheme - m.base));
  const stats = clusteredBootstrap(pairClusters(matched), (ms) => [
    mean(ms.map((m) => m.scheme)),
    mean(ms.map((m) => m.base)),
    diffOf(ms),
    ...ks.map((k) => {
      const inK = ms.filter((m) => m.k === k);
      return inK.length ? diffOf(inK) : NaN;
    }),
  ], options);
  const est = (i: number) => ({ value: stats[i].estimate, ci: stats[i].ci });
  return {
    pairs: matched.length,
    scheme: est(0),
    base: est(1),
    diff: est(2),
    byK: ks.map((k, j) => ({ k, pairs: matched.filter((m) => m.k === k).length, diff: est(3 + j) })),
  };
}
