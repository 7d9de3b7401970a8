// MAGIC-A tests: alignment loss, the anchor path carries no gradient, anchor policies are deterministic.
import { before, test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend";
import { Rng } from "../lib/rng";
import type { Arch, MlmBatch, MlmModel, SearchSpace } from "../lib/nas/types";
import { largestArch, makeSpace } from "../lib/nas/space";
import { Supernet } from "../lib/nas/supernet";
import { AnchorPolicy, alignedLoss, alignmentLoss } from "../lib/nas/align";

const space: SearchSpace = makeSpace("tiny", 40);

function fakeBatch(b: number, seed: number): MlmBatch {
  const rng = new Rng(seed);
  const n = b * space.seqLen;
  const ids = Array.from({ length: n }, () => rng.int(space.vocabSize));
  return {
    inputs: tf.tensor2d(ids, [b, space.seqLen], "int32"),
    labels: tf.tensor2d(ids, [b, space.seqLen], "int32"),
    weights: tf.tensor2d(ids.map((_, i) => (i % 4 === 0 ? 1 : 0)), [b, space.seqLen], "float32"),
  };
}

const scalar = (t: tf.Scalar) => {
  const x = t.dataSync()[0];
  t.dispose();
  return x;
};

/** Counts evaluate() calls of a model, to see when an anchor policy re-evaluates its pool. */
function counting(model: MlmModel): MlmModel & { calls: number } {
  const wrapped = {
    calls: 0,
    space: model.space,
    archSpace: model.archSpace,
    namedVariables: () => model.namedVariables(),
    trainableVariables: (a: Arch) => model.trainableVariables(a),
    forward: model.forward.bind(model),
    loss: model.loss.bind(model),
    evaluate: (a: Arch, b: MlmBatch[]) => {
      wrapped.calls++;
      return model.evaluate(a, b);
    },
  };
  return wrapped;
}

before(async () => {
  await initBackend({ quiet: true });
});

test("alignmentLoss: mean over sub-layers 1..L of the MSE, h_0 excluded", () => {
  const a = [0, 1, 2].map((i) => tf.fill([1, 2, 2], i) as tf.Tensor3D);
  const b = [tf.fill([1, 2, 2], 9), tf.fill([1, 2, 2], 1), tf.fill([1, 2, 2], 4)] as tf.Tensor3D[];
  assert.equal(scalar(alignmentLoss(a, a)), 0);
  assert.equal(scalar(alignmentLoss(a, b)), (0 + 4) / 2); // h_0 differs by 9 but is not counted
  assert.throws(() => alignmentLoss(a, b.slice(1)), /equal length/);
  tf.dispose([...a, ...b]);
});

test("alignedLoss: equals the MLM loss when child == anchor, larger otherwise", () => {
  const net = new Supernet({ space, seed: 1 });
  const batch = fakeBatch(2, 1);
  const child = [0, 3, 6, 9];
  const anchor = [1, 4, 7, 2];
  const mlm = scalar(net.loss(child, batch));
  assert.ok(Math.abs(scalar(alignedLoss(net, child, child, batch, 0.5)) - mlm) < 1e-6);
  const aligned = scalar(alignedLoss(net, child, anchor, batch, 0.5));
  const hc = net.hidden(child, batch.inputs);
  const ha = net.hidden(anchor, batch.inputs);
  const mse = scalar(alignmentLoss(hc, ha));
  assert.ok(mse > 0);
  assert.ok(Math.abs(aligned - (mlm + 0.5 * mse)) < 1e-5);
  assert.equal(scalar(alignedLoss(net, child, anchor, batch, 0)), mlm);
  tf.dispose([...hc, ...ha]);
  tf.dispose([batch.inputs, batch.labels, batch.weights]);
  net.dispose();
});

test("alignedLoss: no gradient reaches anchor-only ops; no tensor leak over steps", () => {
  const net = new Supernet({ space, seed: 2 });
  const batch = fakeBatch(2, 2);
  const child = [0, 3, 6, 9];
  const anchor = [0, 4, 7, 2]; // shares layer 0 with the child
  const vars = [...new Set([...net.trainableVariables(child), ...net.trainableVariables(anchor)])];
  const step = () => {
    const { value, grads } = tf.variableGrads(() => alignedLoss(net, child, anchor, batch, 1), vars);
    const names = new Set(Object.keys(grads));
    tf.tidy(() => {
      for (const v of vars) if (grads[v.name]) v.assign(tf.sub(v, tf.mul(grads[v.name], 0.05)));
    });
    tf.dispose([value, ...Object.values(grads)]);
    return names;
  };
  const names = step();
  for (const l of [1, 2, 3]) for (const v of net.opVariables(l, anchor)) assert.ok(!names.has(v.name), `anchor op at layer ${l}`);
  for (const v of net.trainableVariables(child)) assert.ok(names.has(v.name), "child variables get gradients");
  const before = tf.memory().numTensors;
  step();
  step();
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([batch.inputs, batch.labels, batch.weights]);
  net.dispose();
});

test("AnchorPolicy 'largest' and 'random': fixed children, deterministic for a seed", () => {
  const net = new Supernet({ space, seed: 3 });
  const largest = new AnchorPolicy({ kind: "largest" });
  assert.deepEqual(largest.anchor(0, net, []), largestArch(space));
  assert.deepEqual(largest.anchor(500, net, []), largestArch(space));
  const r1 = new AnchorPolicy({ kind: "random", seed: 5 });
  const r2 = new AnchorPolicy({ kind: "random", seed: 5 });
  const r3 = new AnchorPolicy({ kind: "random", seed: 6 });
  const a1 = r1.anchor(0, net, []);
  assert.deepEqual(r2.anchor(0, net, []), a1);
  assert.deepEqual(r1.anchor(1000, net, []), a1);
  assert.notDeepEqual(r3.anchor(0, net, []), a1);
  assert.throws(() => new AnchorPolicy({ kind: "worst" as "best" }), /kind/);
  net.dispose();
});

test("AnchorPolicy 'best': argmin of the pool's validation loss, refreshed every N steps, checkpointable", () => {
  const net = new Supernet({ space, seed: 4 });
  const val = [fakeBatch(2, 40)];
  const model = counting(net);
  const p = new AnchorPolicy({ kind: "best", poolSize: 4, refreshEvery: 10, seed: 7 });
  const a0 = p.anchor(0, model, val);
  assert.equal(model.calls, 4);
  assert.equal(p.lastScores.length, 4);
  assert.deepEqual(a0, p.lastScores[0].arch);
  const best = Math.min(...p.lastScores.map((s) => s.loss));
  assert.equal(p.lastScores[0].loss, best);
  assert.ok(Math.abs(net.evaluate(a0, val).loss - best) < 1e-6);
  assert.deepEqual(p.anchor(9, model, val), a0);
  assert.equal(model.calls, 4, "no re-evaluation before refreshEvery steps");
  const saved = JSON.parse(JSON.stringify(p.state()));
  const a10 = p.anchor(10, model, val);
  assert.equal(model.calls, 8);
  assert.ok(p.lastScores.some((s) => JSON.stringify(s.arch) === JSON.stringify(a0)), "incumbent stays in the pool");
  assert.ok(net.evaluate(a10, val).loss <= net.evaluate(a0, val).loss);
  // Same seed, same anchors; a restored policy continues exactly like the original.
  const twin = new AnchorPolicy({ kind: "best", poolSize: 4, refreshEvery: 10, seed: 7 });
  assert.deepEqual(twin.anchor(0, net, val), a0);
  const restored = new AnchorPolicy({ kind: "best", poolSize: 4, refreshEvery: 10, seed: 7 });
  restored.restore(saved);
  assert.deepEqual(restored.anchor(9, net, val), a0);
  assert.deepEqual(restored.anchor(10, net, val), a10);
  tf.dispose([val[0].inputs, val[0].labels, val[0].weights]);
  net.dispose();
});
