import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend";
import { Rng } from "../lib/rng";
import { bertArchSpace, defaultOps } from "../lib/nas/space";
import { Supernet } from "../lib/nas/supernet";
import type { MlmBatch, SearchSpace } from "../lib/nas/types";
import { compareOnSamePairs, measurePair, samplePairs, summarizePairs, type MeasuredPair } from "../lib/interference";

const space: SearchSpace = { id: "test-L4-D16", layers: 4, hidden: 16, seqLen: 8, vocabSize: 40, ops: defaultOps(16) };

function randomBatch(rng: Rng, b = 4): MlmBatch {
  const t = space.seqLen;
  const ids = Array.from({ length: b * t }, () => 5 + rng.int(space.vocabSize - 5));
  const weights = ids.map((_, i) => (i % 3 === 0 ? 1 : 0));
  return {
    inputs: tf.tensor2d(ids.map((x, i) => (weights[i] ? 4 : x)), [b, t], "int32"),
    labels: tf.tensor2d(ids, [b, t], "int32"),
    weights: tf.tensor2d(weights, [b, t], "float32"),
  };
}

test("pairs share a parametric op at the layer and differ in exactly k other layers", () => {
  const rng = new Rng(3);
  for (let layer = 0; layer < space.layers; layer++) {
    for (let k = 1; k < space.layers; k++) {
      for (const p of samplePairs(bertArchSpace(space), layer, k, 20, rng)) {
        assert.equal(p.a[layer], p.b[layer]);
        assert.notEqual(space.ops[p.a[layer]].kind, "identity");
        const differing = p.a.flatMap((op, j) => (op !== p.b[j] ? [j] : []));
        assert.equal(differing.length, k);
        const expected = differing.every((j) => j > layer) ? "after" : differing.every((j) => j < layer) ? "before" : "both";
        assert.equal(p.where, expected);
      }
    }
  }
  assert.throws(() => samplePairs(bertArchSpace(space), 0, space.layers, 1, rng), /k must be in \[1, 3\]/);
  assert.throws(() => samplePairs(bertArchSpace(space), 4, 1, 1, rng), /layer must be in \[0, 3\]/);
});

test("a child's gradient cosine with itself is 1, and a measured pair leaks no tensors", async () => {
  await initBackend({ quiet: true });
  const model = new Supernet({ space, seed: 1 });
  const rng = new Rng(5);
  const batch = randomBatch(rng);
  const [pair] = samplePairs(bertArchSpace(space), 1, 2, 1, rng);
  const before = tf.memory().numTensors;
  const self = measurePair(model, { ...pair, b: pair.a }, batch);
  assert.ok(Math.abs(self.gradCosine - 1) < 1e-5, `self cosine ${self.gradCosine}`);
  assert.ok(Math.abs(self.matrixGradCosine - 1) < 1e-5, `self matrix cosine ${self.matrixGradCosine}`);
  assert.ok(Math.abs(self.inputCosine - 1) < 1e-5 && Math.abs(self.outputCosine - 1) < 1e-5 && Math.abs(self.outputGradCosine - 1) < 1e-5);
  const other = measurePair(model, pair, batch);
  assert.ok(other.gradCosine < 1 - 1e-6 && other.gradCosine > -1, `pair cosine ${other.gradCosine}`);
  assert.ok(other.outputGradCosine < 1 - 1e-6 && other.outputGradCosine > -1, `output-gradient cosine ${other.outputGradCosine}`);
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([batch.inputs, batch.labels, batch.weights]);
  model.dispose();
});

test("lossFromLayer continues a child's forward pass from any hidden state", async () => {
  await initBackend({ quiet: true });
  const model = new Supernet({ space, seed: 2 });
  const batch = randomBatch(new Rng(8));
  const arch = [0, 4, 9, 2];
  const h = model.hidden(arch, batch.inputs);
  const full = model.loss(arch, batch).dataSync()[0];
  for (let l = 0; l <= space.layers; l++) {
    const from = model.lossFromLayer(arch, l, h[l], batch);
    assert.ok(Math.abs(from.dataSync()[0] - full) < 1e-5, `layer ${l}: ${from.dataSync()[0]} vs ${full}`);
    from.dispose();
  }
  assert.throws(() => model.lossFromLayer(arch, 5, h[4], batch), /layer must be in \[0, 4\]/);
  tf.dispose([...h, batch.inputs, batch.labels, batch.weights]);
  model.dispose();
});

/** Pairs on 2 seeds x 2 batches, k = 1..3 (gradient cosine falls with k), output similarity by hand. */
function syntheticPairs(): MeasuredPair[] {
  const rng = new Rng(4);
  const pairs: MeasuredPair[] = [];
  for (const seed of [1, 2]) for (let i = 0; i < 24; i++) {
    const k = 1 + (i % 3), noise = 0.05 * rng.normal();
    const outputCosine = 1 - 0.1 * k + noise;
    pairs.push({
      layer: i % 2, k, a: [0], b: [1], where: i % 4 < 2 ? "after" : "both", seed, batch: i % 2, index: Math.floor(i / 6),
      gradCosine: 1 - 0.1 * k + 0.5 * noise, matrixGradCosine: 1 - 0.1 * k, inputCosine: i % 4 < 2 ? 1 : 0.9 + 0.01 * rng.normal(), outputCosine, outputGradCosine: 0.5,
    });
  }
  return pairs;
}

test("summary: per-k means with both intervals, within-k and partial correlations of the same pairs", () => {
  const pairs = syntheticPairs();
  const s = summarizePairs(pairs, { resamples: 200, seed: 1 });
  assert.deepEqual(s.clusters, { seeds: 2, batches: 4 });
  assert.deepEqual(s.byK.map((b) => [b.k, b.pairs]), [[1, 16], [2, 16], [3, 16]]);
  const k1 = pairs.filter((p) => p.k === 1).map((p) => p.gradCosine);
  assert.ok(Math.abs(s.byK[0].mean - k1.reduce((a, b) => a + b, 0) / k1.length) < 1e-12);
  for (const b of s.byK) assert.ok(b.clusteredCi[0] <= b.mean && b.mean <= b.clusteredCi[1] && b.ci[0] <= b.mean && b.mean <= b.ci[1]);
  assert.ok(s.kCorrelation.spearman < -0.5 && s.kCorrelation.clusteredCi[1] < 0, `k correlation ${JSON.stringify(s.kCorrelation)}`);
  // The gradient cosine is the output cosine's k trend plus half its noise: within every k they rank alike.
  assert.deepEqual(s.withinK.map((w) => w.k), [1, 2, 3]);
  for (const w of s.withinK) assert.ok(Math.abs(w.output.value - 1) < 1e-12, `within k=${w.k}: ${w.output.value}`);
  // Pooled ranks interleave the strata differently for the two variables, so the partial one is high but below 1.
  assert.ok(s.partial.output.value > 0.9 && s.partial.output.value < 1 && s.partial.output.clusteredCi[0] > 0, `partial ${s.partial.output.value}`);
  // A constant output-gradient similarity: no correlation is defined, and conditioning on it changes nothing.
  assert.ok(Number.isNaN(s.io.outputGradSpearman) && Number.isNaN(s.partial.outputGrad.value));
  assert.equal(s.partial.outputGivenOutputGrad.value, s.partial.output.value);
  assert.deepEqual(s.byWhere.map((w) => w.where), ["after", "both"]);
});

test("scheme comparison: the same pairs under two supernets, paired by seed and (layer, k, index)", () => {
  const base = syntheticPairs();
  const better = base.map((p) => ({ ...p, gradCosine: p.gradCosine + 0.01 * p.k }));
  const d = compareOnSamePairs(better, base, { resamples: 200, seed: 2 });
  assert.equal(d.pairs, base.length);
  assert.ok(Math.abs(d.diff.value - 0.02) < 1e-12, `mean of 0.01 k over k = 1, 2, 3: ${d.diff.value}`);
  assert.deepEqual(d.byK.map((b) => b.k), [1, 2, 3]);
  for (const b of d.byK) {
    assert.ok(Math.abs(b.diff.value - 0.01 * b.k) < 1e-12);
    assert.ok(Math.abs(b.diff.ci[0] - 0.01 * b.k) < 1e-12 && Math.abs(b.diff.ci[1] - 0.01 * b.k) < 1e-12, "a constant difference has a point interval");
  }
  const moved = base.map((p, i) => (i === 3 ? { ...p, batch: 1 - p.batch } : p));
  assert.throws(() => compareOnSamePairs(moved, base), /differs between the two schemes/);
});
