// Interference between two children on a shared operator (the paper's Section 3), as we reconstruct it:
// children A and B pick the same op at sub-layer `layer` and differ in exactly `k` other sub-layers. On
// the same batch (same masking) we take the gradient of the MLM loss w.r.t. the shared op's parameters
// under A and under B and report their cosine (1 = no interference), plus the cosine of the shared op's
// input (h_layer) and output (h_layer+1) under A and B (observation 2).
import * as tf from "@tensorflow/tfjs";
import type { Arch, MlmBatch, SearchSpace } from "./nas/types";
import type { Supernet } from "./nas/supernet";
import type { Rng } from "./rng";
import { bootstrapCI, cosineSimilarity, flatGradCosine, mean, spearman } from "./metrics";

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
}

/** Ops of the space that own parameters: only those can be "shared" in the gradient sense. */
function parametricOps(space: SearchSpace): number[] {
  return space.ops.flatMap((op, i) => (op.kind === "identity" ? [] : [i]));
}

/**
 * `count` pairs that share a parametric op at `layer` and differ in exactly `k` other sub-layers, chosen
 * uniformly among the other L-1 sub-layers; each differing sub-layer gets a uniformly chosen different op.
 */
export function samplePairs(space: SearchSpace, layer: number, k: number, count: number, rng: Rng): PairSpec[] {
  const { layers } = space;
  const numOps = space.ops.length;
  if (!Number.isInteger(layer) || layer < 0 || layer >= layers) throw new Error(`samplePairs: layer must be in [0, ${layers - 1}], got ${layer}`);
  if (!Number.isInteger(k) || k < 1 || k > layers - 1) throw new Error(`samplePairs: k must be in [1, ${layers - 1}], got ${k}`);
  if (numOps < 2) throw new Error("samplePairs: the space needs at least 2 ops per sub-layer");
  const shareable = parametricOps(space);
  if (shareable.length === 0) throw new Error("samplePairs: no op with parameters in the space");
  const others = Array.from({ length: layers }, (_, j) => j).filter((j) => j !== layer);
  return Array.from({ length: count }, () => {
    const a = Array.from({ length: layers }, () => rng.int(numOps));
    a[layer] = rng.choice(shareable);
    const b = [...a];
    const changed = rng.shuffle([...others]).slice(0, k);
    for (const j of changed) b[j] = (a[j] + 1 + rng.int(numOps - 1)) % numOps; // uniform among the other ops
    const before = changed.some((j) => j < layer);
    const after = changed.some((j) => j > layer);
    const where: Where = before && after ? "both" : before ? "before" : "after";
    return { layer, k, a, b, where };
  });
}

/** Gradient of child `arch`'s MLM loss on `batch` w.r.t. `vars`; the caller disposes the tensors. */
function gradients(model: Supernet, arch: Arch, batch: MlmBatch, vars: tf.Variable[]): tf.Tensor[] {
  const { value, grads } = tf.variableGrads(() => model.loss(arch, batch), vars);
  value.dispose();
  return vars.map((v) => grads[v.name]);
}

/** Cosine of two tensors' flattened values. */
function tensorCosine(x: tf.Tensor, y: tf.Tensor): number {
  return cosineSimilarity(x.dataSync() as Float32Array, y.dataSync() as Float32Array);
}

/** Measures one pair on one batch (A and B see the same tokens and the same masking). */
export function measurePair(model: Supernet, pair: PairSpec, batch: MlmBatch): PairResult {
  const vars = model.opVariables(pair.layer, pair.a); // the very same variables as under pair.b
  const gA = gradients(model, pair.a, batch, vars);
  const gB = gradients(model, pair.b, batch, vars);
  const gradCosine = flatGradCosine(gA, gB);
  const matrices = vars.flatMap((v, i) => (v.rank >= 2 ? [i] : []));
  const matrixGradCosine = flatGradCosine(matrices.map((i) => gA[i]), matrices.map((i) => gB[i]));
  tf.dispose([...gA, ...gB]);
  const hA = model.hidden(pair.a, batch.inputs); // h_0..h_L, [B, T, D] each
  const hB = model.hidden(pair.b, batch.inputs);
  const inputCosine = tensorCosine(hA[pair.layer], hB[pair.layer]);
  const outputCosine = tensorCosine(hA[pair.layer + 1], hB[pair.layer + 1]);
  tf.dispose([...hA, ...hB]);
  return { ...pair, gradCosine, matrixGradCosine, inputCosine, outputCosine };
}

export interface ByK {
  k: number;
  mean: number;
  ci: [number, number];
  pairs: number;
}

export interface InterferenceSummary {
  /** Observation 1, pooled over layers: mean gradient cosine per k with its bootstrap CI. */
  byK: ByK[];
  /** Observation 1 per shared layer. */
  byLayer: { layer: number; byK: ByK[] }[];
  /** Observation 1 split by where the differing layers are (input changes or only the backward). */
  byWhere: { where: Where; byK: ByK[] }[];
  /** Rank correlation of k with the gradient cosine over all pairs (negative = the paper's claim). */
  kCorrelation: { spearman: number; ci: [number, number] };
  /** The same for the weight-matrix-only gradient cosine. */
  kCorrelationMatrices: { spearman: number; ci: [number, number] };
  /** Observation 2: Spearman of input / output similarity with the gradient cosine (positive = the claim). */
  io: { inputSpearman: number; inputCi: [number, number]; outputSpearman: number; outputCi: [number, number] };
}

export interface SummaryOptions {
  /** Bootstrap resamples for every CI (default 1000). */
  resamples?: number;
  /** Seed of the bootstrap. */
  seed?: number;
}

function groupByK(pairs: PairResult[], options: SummaryOptions): ByK[] {
  const ks = [...new Set(pairs.map((p) => p.k))].sort((x, y) => x - y);
  return ks.map((k) => {
    const values = pairs.filter((p) => p.k === k).map((p) => p.gradCosine);
    return { k, mean: mean(values), ci: bootstrapCI(values, (s) => mean(s), options), pairs: values.length };
  });
}

/** Means, CIs and correlations of a set of measured pairs. */
export function summarizePairs(pairs: PairResult[], options: SummaryOptions = {}): InterferenceSummary {
  if (pairs.length < 2) throw new Error(`summarizePairs: need at least 2 pairs, got ${pairs.length}`);
  const corr = (x: number[], y = pairs.map((p) => p.gradCosine)) => ({
    rho: spearman(x, y),
    ci: bootstrapCI([x, y], (a, b) => spearman(a, b), options),
  });
  const k = corr(pairs.map((p) => p.k));
  const kMatrices = corr(pairs.map((p) => p.k), pairs.map((p) => p.matrixGradCosine));
  const input = corr(pairs.map((p) => p.inputCosine));
  const output = corr(pairs.map((p) => p.outputCosine));
  const layers = [...new Set(pairs.map((p) => p.layer))].sort((x, y) => x - y);
  const wheres = (["before", "after", "both"] as Where[]).filter((w) => pairs.some((p) => p.where === w));
  return {
    byK: groupByK(pairs, options),
    byLayer: layers.map((layer) => ({ layer, byK: groupByK(pairs.filter((p) => p.layer === layer), options) })),
    byWhere: wheres.map((where) => ({ where, byK: groupByK(pairs.filter((p) => p.where === where), options) })),
    kCorrelation: { spearman: k.rho, ci: k.ci },
    kCorrelationMatrices: { spearman: kMatrices.rho, ci: kMatrices.ci },
    io: { inputSpearman: input.rho, inputCi: input.ci, outputSpearman: output.rho, outputCi: output.ci },
  };
}
