import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend";
import { Rng } from "../lib/rng";
import { defaultOps } from "../lib/nas/space";
import { Supernet } from "../lib/nas/supernet";
import type { MlmBatch, SearchSpace } from "../lib/nas/types";
import { measurePair, samplePairs, summarizePairs, type PairResult } from "../lib/interference";

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
      for (const p of samplePairs(space, layer, k, 20, rng)) {
        assert.equal(p.a[layer], p.b[layer]);
        assert.notEqual(space.ops[p.a[layer]].kind, "identity");
        const differing = p.a.flatMap((op, j) => (op !== p.b[j] ? [j] : []));
        assert.equal(differing.length, k);
        const expected = differing.every((j) => j > layer) ? "after" : differing.every((j) => j < layer) ? "before" : "both";
        assert.equal(p.where, expected);
      }
    }
  }
  assert.throws(() => samplePairs(space, 0, space.layers, 1, rng), /k must be in \[1, 3\]/);
  assert.throws(() => samplePairs(space, 4, 1, 1, rng), /layer must be in \[0, 3\]/);
});

test("a child's gradient cosine with itself is 1, and a measured pair leaks no tensors", async () => {
  await initBackend({ quiet: true });
  const model = new Supernet({ space, seed: 1 });
  const rng = new Rng(5);
  const batch = randomBatch(rng);
  const [pair] = samplePairs(space, 1, 2, 1, rng);
  const before = tf.memory().numTensors;
  const self = measurePair(model, { ...pair, b: pair.a }, batch);
  assert.ok(Math.abs(self.gradCosine - 1) < 1e-5, `self cosine ${self.gradCosine}`);
  assert.ok(Math.abs(self.matrixGradCosine - 1) < 1e-5, `self matrix cosine ${self.matrixGradCosine}`);
  assert.ok(Math.abs(self.inputCosine - 1) < 1e-5 && Math.abs(self.outputCosine - 1) < 1e-5);
  const other = measurePair(model, pair, batch);
  assert.ok(other.gradCosine < 1 - 1e-6 && other.gradCosine > -1, `pair cosine ${other.gradCosine}`);
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([batch.inputs, batch.labels, batch.weights]);
  model.dispose();
});

test("summary groups by k and correlates k with the cosine", () => {
  const pairs: PairResult[] = [1, 1, 2, 2, 3, 3].map((k, i) => ({
    layer: i % 2, k, a: [0], b: [0], where: "after",
    gradCosine: 1 - 0.2 * k + 0.01 * i, matrixGradCosine: 1 - 0.2 * k + 0.01 * i, inputCosine: 1 - 0.1 * k, outputCosine: 1 - 0.1 * k,
  }));
  const s = summarizePairs(pairs, { resamples: 200, seed: 1 });
  assert.deepEqual(s.byK.map((b) => [b.k, b.pairs]), [[1, 2], [2, 2], [3, 2]]);
  assert.ok(Math.abs(s.byK[0].mean - 0.805) < 1e-12);
  assert.ok(Math.abs(s.kCorrelation.spearman - -16 / (4 * Math.sqrt(17.5))) < 1e-12); // tied k ranks, by hand
  assert.ok(Math.abs(s.io.inputSpearman - 16 / (4 * Math.sqrt(17.5))) < 1e-12);
  assert.deepEqual(s.byLayer.map((l) => l.layer), [0, 1]);
  assert.ok(s.byK[0].ci[0] <= s.byK[0].mean && s.byK[0].mean <= s.byK[0].ci[1]);
});
