// Supernet, ops and search-space tests: shapes, weight sharing, exact gradient isolation between ops,
// custom gradients against tfjs autodiff, no tensor leaks, standalone children, arch utilities.
import { before, test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend";
import { Rng } from "../lib/rng";
import type { Arch, MlmBatch, SearchSpace } from "../lib/nas/types";
import { archId, flops, largestArch, makeSpace, opParamCount, paramCount, parseArch, randomArch, sharedParamCount, SPACE_PRESETS, validateArch } from "../lib/nas/space";
import { DATA_PRESETS } from "../lib/data";
import { PRESETS } from "../lib/preset";
import { createBlock, dense, gatherRows, LayerNorm, ParamFactory, softmaxCrossEntropy } from "../lib/nas/ops";
import { Supernet } from "../lib/nas/supernet";
import { loadNativeBackend } from "../lib/native/index";
import { nativeSkip } from "./helpers/native";

const V = 50;
const space: SearchSpace = makeSpace("tiny", V);

/** A seeded fake MLM batch: random ids, ~25 % selected positions. */
function fakeBatch(s: SearchSpace, b: number, seed: number): MlmBatch {
  const rng = new Rng(seed);
  const n = b * s.seqLen;
  const ids = Array.from({ length: n }, () => rng.int(s.vocabSize));
  const w = Array.from({ length: n }, () => (rng.next() < 0.25 ? 1 : 0));
  return {
    inputs: tf.tensor2d(ids, [b, s.seqLen], "int32"),
    labels: tf.tensor2d(ids.map((x) => (x + 1) % s.vocabSize), [b, s.seqLen], "int32"),
    weights: tf.tensor2d(w, [b, s.seqLen], "float32"),
  };
}

const disposeBatch = (b: MlmBatch) => tf.dispose([b.inputs, b.labels, b.weights]);
const op = (name: string) => space.ops.findIndex((o) => o.name === name);
const snapshot = (vars: Map<string, tf.Variable>) => new Map([...vars].map(([k, v]) => [k, v.dataSync().slice()]));
const maxAbsDiff = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);

/** One plain SGD step of child `arch` through its trainable variables. */
function sgdStep(net: Supernet, arch: Arch, batch: MlmBatch, lr = 0.1): void {
  const { value, grads } = tf.variableGrads(() => net.loss(arch, batch), net.trainableVariables(arch));
  tf.tidy(() => {
    for (const v of net.trainableVariables(arch)) v.assign(tf.sub(v, tf.mul(grads[v.name], lr)));
  });
  tf.dispose([value, ...Object.values(grads)]);
}

before(async () => {
  await initBackend({ quiet: true });
});

test("space presets: op list, ids and sizes", () => {
  assert.deepEqual(
    space.ops.map((o) => o.name),
    ["att2", "att4", "att8", "ffn32", "ffn64", "ffn128", "conv3", "conv5", "conv7", "id"],
  );
  assert.equal(space.layers, 4);
  assert.equal(makeSpace("small", V).layers, 8);
  assert.equal(makeSpace("paper", V).layers, 24);
  assert.throws(() => makeSpace("tiny", 1), /vocabSize/);
});

test("validateArch names the layer, the value and the allowed ops", () => {
  assert.throws(() => validateArch(space, [0, 1, 99, 2]), /layer 2: value 99 .*allowed 0\.\.9 .*0=att2.*9=id/);
  assert.throws(() => validateArch(space, [0, 1, 2]), /3 layers.*has 4/);
  assert.throws(() => validateArch(space, [0, 1, 1.5, 2]), /layer 2: value 1.5/);
  assert.throws(() => validateArch(space, "0-1"), /must be an array/);
  validateArch(space, [0, 1, 2, 9]);
});

test("archId / parseArch round trip, JSON indices and names", () => {
  const rng = new Rng(7);
  for (let i = 0; i < 20; i++) {
    const arch = randomArch(space, rng);
    const id = archId(space, arch);
    assert.deepEqual(parseArch(space, id), arch);
    assert.deepEqual(parseArch(space, JSON.stringify(arch)), arch);
  }
  assert.equal(archId(space, [1, 4, 6, 9]), "att4-ffn64-conv3-id");
  assert.deepEqual(parseArch(space, ' ["att4", 4, "conv3", "id"] '), [1, 4, 6, 9]);
  assert.throws(() => parseArch(space, "att4-ffn64-conv4-id"), /layer 2: unknown op "conv4"/);
  assert.throws(() => parseArch(space, "att4-ffn64"), /2 layers/);
});

test("flops follow the documented formula", () => {
  const { seqLen: t, hidden: d } = space;
  const headOnly = flops(space, [9, 9, 9, 9]);
  assert.equal(headOnly, 2 * (t * d * d + t * d * V));
  assert.equal(flops(space, [3, 9, 9, 9]) - headOnly, 2 * 2 * t * d * 32);
  assert.equal(flops(space, [0, 9, 9, 9]) - headOnly, 2 * (4 * t * d * d + 2 * t * t * d));
  assert.equal(flops(space, [6, 9, 9, 9]) - headOnly, 2 * (t * d * 3 + t * d * d));
});

test("every op keeps the shape [B, T, D]; identity is the input", () => {
  const h = tf.randomNormal([3, space.seqLen, space.hidden], 0, 1, "float32", 1) as tf.Tensor3D;
  space.ops.forEach((spec, i) => {
    const block = createBlock(spec, space.hidden, { seed: i, std: 0.02, lnEps: 1e-5 });
    const out = tf.tidy(() => block.apply(h));
    assert.deepEqual(out.shape, [3, space.seqLen, space.hidden], spec.name);
    if (spec.kind === "identity") assert.equal(maxAbsDiff(out, h), 0);
    else assert.ok(maxAbsDiff(out, h) > 1e-3, `${spec.name} changes h`);
    let n = 0;
    for (const v of block.params.values()) n += v.size;
    assert.equal(n, opParamCount(space, spec), `${spec.name} param count`);
    out.dispose();
    block.dispose();
  });
  h.dispose();
});

test("sepconv equals a reference same-padded depthwise conv + pointwise + gelu, then residual LN", () => {
  const [b, t, d, k] = [2, 6, 4, 3];
  const block = createBlock({ kind: "sepconv", name: "conv3", kernel: k }, d, { seed: 3, std: 0.5, lnEps: 1e-5 });
  const h = tf.randomNormal([b, t, d], 0, 1, "float32", 2) as tf.Tensor3D;
  const [wd, bd, wp, bp] = ["depthwise/w", "depthwise/b", "pointwise/w", "pointwise/b"].map((n) => block.params.get(n)!);
  const expected = tf.tidy(() => {
    const x = h.arraySync();
    const w = wd.arraySync() as number[][];
    const conv = x.map((seq) => seq.map((_, ti) => seq[0].map((_, c) => {
      let acc = 0;
      for (let j = 0; j < k; j++) {
        const src = ti + j - (k - 1) / 2;
        if (src >= 0 && src < t) acc += seq[src][c] * w[j][c];
      }
      return acc;
    })));
    const y = tf.add(tf.reshape(tf.tensor3d(conv), [b * t, d]), bd);
    const z = tf.add(tf.matMul(y as tf.Tensor2D, wp as tf.Tensor2D), bp);
    const g = tf.mul(z, tf.sigmoid(tf.mul(z, 1.702)));
    const r = tf.add(tf.reshape(h, [b * t, d]), g);
    const mean = tf.mean(r, -1, true);
    const variance = tf.mean(tf.square(tf.sub(r, mean)), -1, true);
    return tf.reshape(tf.div(tf.sub(r, mean), tf.sqrt(tf.add(variance, 1e-5))), [b, t, d]); // gamma 1, beta 0
  });
  const got = tf.tidy(() => block.apply(h));
  assert.ok(maxAbsDiff(got, expected) < 1e-4, `max diff ${maxAbsDiff(got, expected)}`);
  tf.dispose([h, expected, got]);
  block.dispose();
});

test("custom gradients (dense, LayerNorm, softmax CE, gatherRows) match tfjs autodiff", () => {
  const f = new ParamFactory({ seed: 5, std: 0.5, lnEps: 1e-5 });
  const w = f.normal("w", [6, 5]);
  const b = f.normal("b", [5]);
  const ln = new LayerNorm(f, "ln", 5, 1e-5);
  ln.gamma.assign(tf.tensor1d([0.5, 1, 1.5, 2, -1]));
  ln.beta.assign(tf.tensor1d([0.1, 0, -0.1, 0.2, 0.3]));
  const x = tf.randomNormal([7, 6], 0, 1, "float32", 9) as tf.Tensor2D;
  const labels = tf.tensor1d([0, 1, 2, 3, 4, 0, 1], "int32");
  const vars = [w, b, ln.gamma, ln.beta];
  const ours = tf.variableGrads(() => tf.tidy(() => tf.sum(softmaxCrossEntropy(ln.apply(dense(x, w, b)), labels))), vars);
  const ref = tf.variableGrads(() => tf.tidy(() => {
    const z = tf.add(tf.matMul(x, w as tf.Tensor2D), b);
    const mean = tf.mean(z, -1, true);
    const y = tf.add(tf.mul(tf.div(tf.sub(z, mean), tf.sqrt(tf.add(tf.mean(tf.square(tf.sub(z, mean)), -1, true), 1e-5))), ln.gamma), ln.beta);
    return tf.losses.softmaxCrossEntropy(tf.oneHot(labels, 5), y, undefined, undefined, tf.Reduction.SUM) as tf.Scalar;
  }), vars);
  assert.ok(Math.abs(ours.value.dataSync()[0] - ref.value.dataSync()[0]) < 1e-4);
  for (const v of vars) assert.ok(maxAbsDiff(ours.grads[v.name], ref.grads[v.name]) < 1e-4, `grad of ${v.name}`);
  tf.dispose([ours.value, ref.value, ...Object.values(ours.grads), ...Object.values(ref.grads), x, labels, ...vars]);

  const table = f.normal("table", [6, 3]);
  const ids = tf.tensor1d([4, 0, 4, 5, 4], "int32"); // repeated rows accumulate
  const c = tf.randomNormal([5, 3], 0, 1, "float32", 3);
  const g1 = tf.variableGrads(() => tf.sum(tf.mul(gatherRows(table as tf.Tensor2D, ids), c)), [table]);
  const g2 = tf.variableGrads(() => tf.sum(tf.mul(tf.gather(table, ids), c)), [table]);
  assert.equal(maxAbsDiff(g1.value, g2.value), 0);
  assert.ok(maxAbsDiff(g1.grads[table.name], g2.grads[table.name]) < 1e-6);
  tf.dispose([g1.value, g2.value, ...Object.values(g1.grads), ...Object.values(g2.grads), table, ids, c]);
});

test("forward: logits [B, T, V], L+1 captured hidden states, no tensor leak", () => {
  const net = new Supernet({ space, seed: 1 });
  const batch = fakeBatch(space, 3, 1);
  const arch = [0, 3, 6, 9];
  const before = tf.memory().numTensors;
  const { logits, hidden } = net.forward(arch, batch.inputs, { capture: true });
  assert.deepEqual(logits.shape, [3, space.seqLen, V]);
  assert.equal(hidden!.length, space.layers + 1);
  for (const h of hidden!) assert.deepEqual(h.shape, [3, space.seqLen, space.hidden]);
  assert.equal(maxAbsDiff(hidden![4], hidden![3]), 0, "identity at layer 3");
  assert.equal(tf.memory().numTensors, before + 1 + space.layers + 1);
  tf.dispose([logits, ...hidden!]);
  const plain = net.forward(arch, batch.inputs);
  assert.equal(plain.hidden, undefined);
  plain.logits.dispose();
  const half = tf.slice(batch.inputs, [0, 0], [3, space.seqLen / 2]) as tf.Tensor2D; // shorter sequences use the first positions
  const short = net.forward(arch, half).logits;
  assert.deepEqual(short.shape, [3, space.seqLen / 2, V]);
  tf.dispose([half, short]);
  const long = tf.zeros([1, space.seqLen + 1], "int32") as tf.Tensor2D;
  assert.throws(() => net.forward(arch, long), /allows/);
  long.dispose();
  net.hidden(arch, batch.inputs).forEach((h) => h.dispose());
  net.loss(arch, batch).dispose();
  net.evaluate(arch, [batch, batch]);
  assert.equal(tf.memory().numTensors, before);
  disposeBatch(batch);
  net.dispose();
});

test("loss is the weighted mean CE over selected positions; evaluate agrees with forward logits", () => {
  const net = new Supernet({ space, seed: 2 });
  const batch = fakeBatch(space, 2, 2);
  const arch = [1, 4, 7, 2];
  const expected = tf.tidy(() => {
    const logits = tf.reshape(net.forward(arch, batch.inputs).logits, [-1, V]);
    const ce = tf.neg(tf.sum(tf.mul(tf.logSoftmax(logits), tf.oneHot(tf.reshape(batch.labels, [-1]) as tf.Tensor1D, V)), 1));
    const w = tf.reshape(batch.weights, [-1]);
    const hits = tf.cast(tf.equal(tf.argMax(logits, 1), tf.reshape(batch.labels, [-1])), "float32");
    return [tf.div(tf.sum(tf.mul(ce, w)), tf.sum(w)).dataSync()[0], tf.div(tf.sum(tf.mul(hits, w)), tf.sum(w)).dataSync()[0]];
  });
  const loss = net.loss(arch, batch);
  assert.ok(Math.abs(loss.dataSync()[0] - expected[0]) < 1e-4);
  const ev = net.evaluate(arch, [batch]);
  assert.ok(Math.abs(ev.loss - expected[0]) < 1e-4);
  assert.ok(Math.abs(ev.accuracy - expected[1]) < 1e-6);
  assert.ok(Math.abs(ev.loss - Math.log(V)) < 0.5, `initial loss ${ev.loss} near ln V`);
  const none = { ...batch, weights: tf.zerosLike(batch.weights) as tf.Tensor2D };
  const zero = net.loss(arch, none);
  assert.equal(zero.dataSync()[0], 0);
  tf.dispose([loss, zero, none.weights]);
  disposeBatch(batch);
  net.dispose();
});

test("weight sharing: same tf.Variable objects; a step of child A changes exactly A's variables", () => {
  const net = new Supernet({ space, seed: 3 });
  const a = [op("att4"), op("ffn64"), op("conv5"), op("id")];
  const b = [op("att4"), op("ffn32"), op("conv5"), op("att2")];
  assert.deepEqual(net.opVariables(0, a), net.opVariables(0, b));
  net.opVariables(0, a).forEach((v, i) => assert.equal(v, net.opVariables(0, b)[i]));
  assert.equal(net.opVariables(3, a).length, 0);
  assert.notEqual(net.opVariables(1, a)[0], net.opVariables(1, b)[0]);
  const byName = net.namedVariables();
  assert.ok(byName.has("emb/token") && byName.has("l1/ffn64/w1") && byName.has("l0/att4/q/w"));
  assert.equal(byName.size, net.sharedVariables().length + space.layers * (3 * 10 + 6 * 6)); // attention 10, ffn/conv 6

  const trainable = new Set(net.trainableVariables(a));
  const batch = fakeBatch(space, 4, 3);
  const before = snapshot(byName);
  sgdStep(net, a, batch);
  for (const [name, v] of byName) {
    const old = before.get(name)!;
    const now = v.dataSync();
    const changed = now.some((x, i) => x !== old[i]);
    assert.equal(changed, trainable.has(v), `${name} changed=${changed}`);
  }
  disposeBatch(batch);
  net.dispose();
});

test("paramCount equals the size of trainableVariables(arch)", () => {
  const net = new Supernet({ space, seed: 4 });
  const rng = new Rng(4);
  for (const arch of [randomArch(space, rng), randomArch(space, rng), [9, 9, 9, 9], largestArch(space)]) {
    const n = net.trainableVariables(arch).reduce((s, v) => s + v.size, 0);
    assert.equal(paramCount(space, arch), n, archId(space, arch));
  }
  assert.equal(paramCount(space, [9, 9, 9, 9]), sharedParamCount(space));
  assert.deepEqual(largestArch(space), [op("ffn128"), op("ffn128"), op("ffn128"), op("ffn128")]);
  net.dispose();
});

test("same seed, same weights; different seed, different weights", () => {
  const [n1, n2, n3] = [new Supernet({ space, seed: 5 }), new Supernet({ space, seed: 5 }), new Supernet({ space, seed: 6 })];
  const [m1, m2, m3] = [n1, n2, n3].map((n) => n.namedVariables());
  for (const [name, v] of m1) assert.equal(maxAbsDiff(v, m2.get(name)!), 0, name);
  assert.ok(maxAbsDiff(m1.get("l2/conv7/pointwise/w")!, m3.get("l2/conv7/pointwise/w")!) > 0);
  [n1, n2, n3].forEach((n) => n.dispose());
});

test("standalone: inherited weights give the child's logits; fresh init differs; other archs rejected", () => {
  const net = new Supernet({ space, seed: 7 });
  const arch = [op("conv3"), op("att8"), op("id"), op("ffn128")];
  const batch = fakeBatch(space, 2, 7);
  sgdStep(net, arch, batch); // weights no longer equal to the seeded init
  const inherited = net.standalone(arch, { inherit: true });
  const fresh = net.standalone(arch, { inherit: false, seed: 11 });
  assert.deepEqual(inherited.only, arch);
  const ref = net.forward(arch, batch.inputs).logits;
  const a = inherited.forward(arch, batch.inputs).logits;
  const f = fresh.forward(arch, batch.inputs).logits;
  assert.equal(maxAbsDiff(ref, a), 0);
  assert.ok(maxAbsDiff(ref, f) > 1e-3);
  assert.equal(inherited.namedVariables().size, net.sharedVariables().length + 6 + 10 + 0 + 6);
  assert.equal(paramCount(space, arch), [...inherited.namedVariables().values()].reduce((s, v) => s + v.size, 0));
  assert.throws(() => inherited.forward([0, 0, 0, 0], batch.inputs), /pass its own arch/);
  // Training the standalone child leaves the supernet untouched (cloned, not shared, variables).
  const before = snapshot(net.namedVariables());
  sgdStep(inherited, arch, batch);
  for (const [name, v] of net.namedVariables()) assert.ok(v.dataSync().every((x, i) => x === before.get(name)![i]), name);
  tf.dispose([ref, a, f]);
  disposeBatch(batch);
  [net, inherited, fresh].forEach((n) => n.dispose());
});

test("no tensor growth over training steps of different children", () => {
  const net = new Supernet({ space, seed: 8 });
  const batch = fakeBatch(space, 2, 8);
  const rng = new Rng(8);
  sgdStep(net, randomArch(space, rng), batch);
  const before = tf.memory().numTensors;
  for (let i = 0; i < 4; i++) sgdStep(net, randomArch(space, rng), batch);
  assert.equal(tf.memory().numTensors, before);
  disposeBatch(batch);
  net.dispose();
});

test("every preset's search space and data agree on the sequence length", () => {
  for (const p of PRESETS) assert.equal(DATA_PRESETS[p].seqLen, SPACE_PRESETS[p].seqLen, `preset ${p}`);
});

test("native backend (fused kernels) gives the cpu backend's (tfjs ops) loss and gradients, every op kind", { skip: nativeSkip() }, async () => {
  loadNativeBackend();
  // Normwise relative tolerance 1e-4: OpenBLAS sums in another order than the cpu matMul loop and the fused
  // kernels accumulate differently from tfjs's op sequence, over 4 layers and the MLM head.
  const start = tf.getBackend();
  const archs: Arch[] = [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 2, 6]];
  assert.deepEqual([...new Set(archs.flat())].sort((a, b) => a - b), space.ops.map((_, i) => i));
  const results: Record<string, { loss: number; grads: Map<string, Float32Array> }[]> = {};
  const kernels: string[] = [];
  for (const name of ["cpu", "native"]) {
    await tf.setBackend(name);
    const net = new Supernet({ space, seed: 4 });
    const batch = fakeBatch(space, 3, 11);
    const nameOf = new Map([...net.namedVariables()].map(([n, v]) => [v.name, n]));
    results[name] = archs.map((arch) => {
      const { value, grads } = tf.variableGrads(() => net.loss(arch, batch), net.trainableVariables(arch));
      const out = { loss: value.dataSync()[0], grads: new Map(Object.entries(grads).map(([k, g]) => [nameOf.get(k)!, g.dataSync().slice() as Float32Array])) };
      tf.dispose([value, grads]);
      return out;
    });
    for (const arch of name === "native" ? [archs[0], archs[2]] : []) {
      const profile = await tf.profile(() => tf.tidy(() => tf.grads((x: tf.Tensor) => tf.mul(net.loss(arch, batch), x))([tf.scalar(1)])));
      kernels.push(...profile.kernels.map((k) => k.name));
    }
    disposeBatch(batch);
    net.dispose();
  }
  if (start) await tf.setBackend(start);
  for (const k of ["MagicAttention", "MagicLayerNorm", "MagicGelu", "MagicDepthwiseConv1d", "MagicSparseXent"]) assert.ok(kernels.includes(k), `${k} ran`);
  assert.ok(!kernels.includes("Transpose"), "no Transpose on native");
  archs.forEach((arch, i) => {
    const [c, n] = [results.cpu[i], results.native[i]];
    assert.ok(Math.abs(c.loss - n.loss) <= 1e-4 * Math.abs(c.loss), `[${arch}] loss cpu ${c.loss} native ${n.loss}`);
    assert.deepEqual([...n.grads.keys()].sort(), [...c.grads.keys()].sort());
    // Floor: the attention key bias has an exactly-zero gradient (softmax ignores a per-row constant), so
    // both backends give rounding noise there; it is compared on 1e-3 of the child's largest gradient.
    const floor = 1e-3 * Math.max(...[...c.grads.values()].map((g) => Math.max(...g.map(Math.abs))));
    for (const [name, g] of c.grads) {
      const h = n.grads.get(name)!;
      const scale = Math.max(floor, ...g.map(Math.abs));
      const err = Math.max(...g.map((x, j) => Math.abs(x - h[j])));
      assert.ok(err <= 1e-4 * scale, `[${arch}] ${name}: max error ${err}, max |grad| ${scale}`);
    }
  });
});
