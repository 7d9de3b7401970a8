// CNN search space and supernet: layer geometry and restricted choices, arch ids, parameter and FLOP counts against
// hand counts, output shapes (stride-2 stages included), weight sharing, BN recalibration, no tensor leaks.
import { before, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend";
import { Rng } from "../lib/rng";
import type { Arch } from "../lib/nas/types";
import { checkCnnSpace, cnnArchId, cnnFlops, cnnLayers, cnnParamCount, makeCnnSpace, parseCnnArch, randomCnnArch, validateCnnArch } from "../lib/nas/cnn-space";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { CnnSupernet, fixedArchTrainable } from "../lib/nas/cnn-supernet";
import { prepareImageData, type ImageBatch } from "../lib/data/images";
import { train } from "../lib/train";

const tiny = makeCnnSpace("tiny");
const small = makeCnnSpace("small");
const op = (name: string) => tiny.ops.findIndex((o) => o.name === name);
const named = (...names: string[]) => names.map(op);

/** A seeded batch of random images (standard normal) and labels. */
function fakeBatch(size: number, b: number, seed: number): ImageBatch {
  return tf.tidy(() => ({
    images: tf.randomNormal([b, size, size, 1], 0, 1, "float32", seed) as tf.Tensor4D,
    labels: tf.randomUniform([b], 0, 10, "int32", seed + 1) as tf.Tensor1D,
  }));
}
const disposeBatch = (b: ImageBatch) => tf.dispose([b.images, b.labels]);
/** True (and the test skipped, saying why, after checking the clear error) on wasm, which has no conv gradients. */
function noConvGradients(t: TestContext, net: CnnSupernet, arch: Arch, batch: ImageBatch): boolean {
  if (tf.getBackend() !== "wasm") return false;
  assert.throws(() => net.loss(arch, batch), /cannot train on the wasm backend.*MAGIC_BACKEND=native/);
  t.skip("tfjs-backend-wasm has no conv gradient kernels; the CNN trains on native or cpu (the clear error was checked)");
  return true;
}
const statsSnapshot = (net: CnnSupernet) => new Map([...net.runningStats()].map(([k, v]) => [k, v.dataSync().slice()]));

before(async () => {
  await initBackend({ quiet: true });
});

test("presets: ops, layer geometry, identity only where the shape is kept", () => {
  assert.deepEqual(tiny.ops.map((o) => o.name), ["k3e3", "k5e3", "k7e3", "k3e6", "k5e6", "k7e6", "skip"]);
  const geometry = (space: typeof tiny) => cnnLayers(space).map((l) => `${l.inChannels}>${l.outChannels}/s${l.stride}/${l.inSize}>${l.outSize}/${l.choices.length}`);
  assert.deepEqual(geometry(tiny), ["8>16/s2/28>14/6", "16>16/s1/14>14/7", "16>24/s2/14>7/6", "24>24/s1/7>7/7"]);
  assert.deepEqual(geometry(small), [
    "16>24/s2/28>14/6", "24>24/s1/14>14/7", "24>32/s2/14>7/6", "32>32/s1/7>7/7", "32>32/s1/7>7/7", "32>64/s2/7>4/6", "64>64/s1/4>4/7", "64>64/s1/4>4/7",
  ]);
  const paper = makeCnnSpace("paper");
  const paperLayers = cnnLayers(paper);
  assert.equal(paperLayers.length, 21);
  assert.equal(paperLayers.at(-1)!.outSize, 7); // 224 -> 112 (stem) -> 56 -> 28 -> 14 -> 14 -> 7
  // 80 -> 96 channels at stride 1 (paper's layer 12): a channel change alone also rules identity out.
  assert.deepEqual([paperLayers[12].stride, paperLayers[12].inChannels, paperLayers[12].outChannels, paperLayers[12].choices.length], [1, 80, 96, 6]);
  assert.throws(() => validateCnnArch(paper, paperLayers.map((l, i) => (i === 12 ? op("skip") : l.choices[0]))), /layer 12: value 6 is not allowed.*80 -> 96 channels, so no identity/);
  // Identity last: every layer's choices are 0..n-1, so per-layer counts describe the choice sets.
  for (const layer of [...cnnLayers(small), ...paperLayers]) assert.deepEqual(layer.choices, [...layer.choices.keys()]);
  assert.throws(() => checkCnnSpace({ ...tiny, ops: [tiny.ops[6], ...tiny.ops.slice(0, 6)] }), /identity op 'skip' must be the last op/);
});

test("arch ids, parsing and validation: identity is rejected at stride-2 layers with the reason", () => {
  const arch = named("k3e3", "skip", "k5e6", "k7e3");
  assert.equal(cnnArchId(tiny, arch), "k3e3-skip-k5e6-k7e3");
  assert.deepEqual(parseCnnArch(tiny, "k3e3-skip-k5e6-k7e3"), arch);
  assert.deepEqual(parseCnnArch(tiny, JSON.stringify(arch)), arch);
  assert.deepEqual(parseCnnArch(tiny, '["k3e3", 6, "k5e6", 2]'), arch);
  assert.throws(() => parseCnnArch(tiny, "skip-skip-k5e6-k7e3"), /layer 0: value 6 is not allowed; allowed 0=k3e3.*5=k7e6 \(layer 0 starts stage 0: stride 2, 8 -> 16 channels, so no identity\)/);
  assert.throws(() => parseCnnArch(tiny, "k3e3-k9e3-k5e6-k7e3"), /layer 1: unknown op "k9e3"/);
  assert.throws(() => parseCnnArch(tiny, "k3e3-skip"), /array of 4 op indices/);
  assert.throws(() => parseCnnArch(tiny, "[0, 6"), /not valid JSON/);
  const rng = new Rng(4);
  const seen = new Set<number>();
  for (let i = 0; i < 200; i++) {
    const a = randomCnnArch(small, rng);
    validateCnnArch(small, a);
    a.forEach((k) => seen.add(k));
  }
  assert.equal(seen.size, small.ops.length, "every op is drawn somewhere");
});

// Hand counts on the tiny space (stem 8, stages 16 x 2 and 24 x 2 at stride 2, head 64, 10 classes, 28x28x1).
// A conv+BN has k*k*cin*cout weights (k*k*hidden for a depthwise one) + 2*cout (gamma, beta).
const SHARED_PARAMS = (3 * 3 * 1 * 8 + 2 * 8) + (24 * 64 + 2 * 64) + (64 * 10 + 10); // stem, head 1x1, linear = 2402
const SHARED_MACS = 28 * 28 * 9 * 1 * 8 + 7 * 7 * 24 * 64 + 64 * 10; // stem at 28x28, head 1x1 at 7x7, linear
const HAND = [
  {
    arch: ["k3e3", "skip", "k5e6", "k7e3"],
    params:
      SHARED_PARAMS +
      (8 * 24 + 48) + (9 * 24 + 48) + (24 * 16 + 32) + // l0 k3e3: 8 -> hidden 24 -> 16
      0 + // l1 skip
      (16 * 96 + 192) + (25 * 96 + 192) + (96 * 24 + 48) + // l2 k5e6: 16 -> 96 -> 24
      (24 * 72 + 144) + (49 * 72 + 144) + (72 * 24 + 48), // l3 k7e3: 24 -> 72 -> 24
    macs:
      SHARED_MACS +
      784 * 8 * 24 + 196 * 24 * 9 + 196 * 24 * 16 + // l0: expand at 28x28, depthwise (stride 2) and project at 14x14
      196 * 16 * 96 + 49 * 96 * 25 + 49 * 96 * 24 + // l2: expand at 14x14, the rest at 7x7
      49 * 24 * 72 + 49 * 72 * 49 + 49 * 72 * 24, // l3 at 7x7
  },
  {
    arch: ["k7e6", "k3e6", "k3e3", "skip"],
    params:
      SHARED_PARAMS +
      (8 * 48 + 96) + (49 * 48 + 96) + (48 * 16 + 32) +
      (16 * 96 + 192) + (9 * 96 + 192) + (96 * 16 + 32) +
      (16 * 48 + 96) + (9 * 48 + 96) + (48 * 24 + 48),
    macs:
      SHARED_MACS +
      784 * 8 * 48 + 196 * 48 * 49 + 196 * 48 * 16 +
      196 * 16 * 96 + 196 * 96 * 9 + 196 * 96 * 16 +
      196 * 16 * 48 + 49 * 48 * 9 + 49 * 48 * 24,
  },
];

test("parameter and FLOP counts match hand counts, and the supernet's trainable variables", () => {
  assert.deepEqual(HAND.map((h) => [h.params, h.macs]), [[17314, 1274248], [13074, 2044528]]); // the sums above, added up by hand
  const net = new CnnSupernet({ space: tiny });
  try {
    for (const h of HAND) {
      const arch = named(...h.arch);
      assert.equal(cnnParamCount(tiny, arch), h.params, h.arch.join("-"));
      assert.equal(cnnFlops(tiny, arch), 2 * h.macs, h.arch.join("-"));
      assert.equal(net.trainableVariables(arch).reduce((n, v) => n + v.size, 0), h.params);
    }
  } finally {
    net.dispose();
  }
});

test("forward shapes for several archs, stage outputs at each stride-2 stage, wrong image size rejected", () => {
  for (const [space, archs, stageShapes] of [
    [tiny, [named("k3e3", "skip", "k5e6", "k7e3"), named("k7e6", "k3e6", "k3e3", "skip"), named("k3e3", "skip", "k3e3", "skip")], [[14, 14, 16], [7, 7, 24]]],
    [small, [cnnLayers(small).map(() => op("k7e6")), randomCnnArch(small, new Rng(9))], [[14, 14, 24], [7, 7, 32], [4, 4, 64]]],
  ] as const) {
    const net = new CnnSupernet({ space, seed: 1 });
    const batch = fakeBatch(28, 3, 2);
    try {
      for (const arch of archs) {
        const { logits, stages } = net.forward(arch as Arch, batch.images, { capture: true });
        assert.deepEqual(logits.shape, [3, 10]);
        assert.deepEqual(stages!.map((s) => s.shape), stageShapes.map((s) => [3, ...s]));
        assert.ok(logits.dataSync().every(Number.isFinite));
        tf.dispose([logits, ...stages!]);
      }
      const wrong = tf.zeros([2, 32, 32, 1]) as tf.Tensor4D;
      assert.throws(() => net.forward(archs[0] as Arch, wrong), /takes images \[B, 28, 28, 1\], got \[2,32,32,1\]/);
      wrong.dispose();
    } finally {
      disposeBatch(batch);
      net.dispose();
    }
  }
});

test("weight sharing: children picking the same op at a layer use the same variables; standalone children match", () => {
  const net = new CnnSupernet({ space: tiny, seed: 3 });
  const a = named("k3e3", "skip", "k5e6", "k7e3");
  const b = named("k3e3", "k5e3", "k5e6", "skip");
  const batch = fakeBatch(28, 4, 5);
  try {
    assert.deepEqual(net.opVariables(0, a), net.opVariables(0, b));
    assert.deepEqual(net.opVariables(2, a), net.opVariables(2, b));
    assert.equal(net.opVariables(1, a).length, 0);
    assert.ok(!net.opVariables(3, a).some((v) => net.trainableVariables(b).includes(v)));
    const child = net.standalone(a, { inherit: true });
    const fresh = net.standalone(a, { inherit: false });
    try {
      assert.deepEqual([...child.namedVariables().keys()].sort(), [...fresh.namedVariables().keys()].sort());
      const [x, y, z] = [net, child, fresh].map((m) => m.forward(a, batch.images).logits);
      assert.deepEqual(x.dataSync(), y.dataSync(), "inherited weights give the supernet's logits");
      assert.deepEqual(x.dataSync(), z.dataSync(), "a fresh child of the same seed starts from the supernet's initial weights");
      tf.dispose([x, y, z]);
      assert.throws(() => child.forward(b, batch.images), /standalone model of \[0,6,4,2\] got arch \[0,1,4,6\]/);
    } finally {
      child.dispose();
      fresh.dispose();
    }
  } finally {
    disposeBatch(batch);
    net.dispose();
  }
});

test("BN recalibration: the child's running statistics become the mean over the batches, deterministically, and others stay", () => {
  const net = new CnnSupernet({ space: tiny, seed: 2 });
  const a = named("k3e3", "skip", "k5e6", "k7e3");
  const b = named("k7e6", "k3e6", "k3e3", "skip");
  const calib = [fakeBatch(28, 8, 10), fakeBatch(28, 8, 20)];
  try {
    const initial = statsSnapshot(net);
    net.recalibrate(a, calib);
    const first = statsSnapshot(net);
    const changed = [...first.keys()].filter((k) => first.get(k)!.some((v, i) => v !== initial.get(k)![i]));
    const expected = [...first.keys()].filter((k) => /^(stem|head)\//.test(k) || /^l0\/k3e3\/|^l2\/k5e6\/|^l3\/k7e3\//.test(k));
    assert.deepEqual(changed.sort(), expected.sort(), "exactly the BNs of the child (stem, its three ops, head) change");
    // The stem's running mean is the average of the two batches' per-channel means of its conv output.
    const stemFilter = net.namedVariables().get("stem/w")!;
    const want = tf.tidy(() => tf.mean(tf.stack(calib.map((c) => tf.mean(tf.conv2d(c.images, stemFilter as tf.Tensor4D, 1, "same"), [0, 1, 2]))), 0));
    const got = first.get("stem/bn/mean")!;
    want.dataSync().forEach((v, i) => assert.ok(Math.abs(v - got[i]) < 1e-5 * (1 + Math.abs(v)), `channel ${i}: ${got[i]} vs ${v}`));
    want.dispose();
    // Another child in between: the shared head's statistics follow b, a's own ops keep theirs; then `a` again
    // gives a's statistics bit for bit (the momentum 1 / (k + 1) average forgets whatever was stored).
    net.recalibrate(b, calib);
    const between = statsSnapshot(net);
    assert.notDeepEqual(between.get("head/conv/bn/mean"), first.get("head/conv/bn/mean"));
    assert.deepEqual(between.get("l0/k3e3/project/bn/variance"), first.get("l0/k3e3/project/bn/variance"));
    assert.deepEqual(between.get("stem/bn/mean"), first.get("stem/bn/mean"), "the stem sees the same images either way");
    net.recalibrate(a, calib);
    const again = statsSnapshot(net);
    for (const k of expected) assert.deepEqual(again.get(k), first.get(k), k);
  } finally {
    calib.forEach(disposeBatch);
    net.dispose();
  }
});

test("evaluate recalibrates first (and refuses without calibration batches); loss and accuracy are deterministic", () => {
  const net = new CnnSupernet({ space: tiny, seed: 4 });
  const a = named("k5e3", "k3e3", "k7e6", "skip");
  const b = named("k3e6", "skip", "k3e3", "k5e6");
  const calib = [fakeBatch(28, 8, 30)];
  const val = [fakeBatch(28, 6, 40), fakeBatch(28, 5, 50)];
  try {
    assert.throws(() => net.evaluate(a, val), /no calibration batches; call setCalibration/);
    net.setCalibration(calib);
    const first = net.evaluate(a, val);
    assert.ok(Number.isFinite(first.loss) && first.loss > 0, JSON.stringify(first));
    assert.ok(Math.abs(first.accuracy * 11 - Math.round(first.accuracy * 11)) < 1e-9, JSON.stringify(first));
    net.evaluate(b, val); // overwrites the shared stem and head statistics with b's
    assert.deepEqual(net.evaluate(a, val), first);
    // Inference mode with a's recalibrated statistics is what evaluate scored.
    net.recalibrate(a, calib);
    const logits = val.map((v) => net.forward(a, v.images, { inference: true }).logits);
    const ce = tf.tidy(() => tf.mean(tf.concat(val.map((v, i) => tf.losses.softmaxCrossEntropy(tf.oneHot(v.labels, 10), logits[i], undefined, 0, tf.Reduction.NONE)))));
    assert.ok(Math.abs(ce.dataSync()[0] - first.loss) < 1e-4, `${ce.dataSync()[0]} vs ${first.loss}`);
    tf.dispose([ce, ...logits]);
  } finally {
    [...calib, ...val].forEach(disposeBatch);
    net.dispose();
  }
});

test("no tensor leak across forward + backward, recalibration and evaluation; SGD steps lower the loss", (t) => {
  const net = new CnnSupernet({ space: tiny, seed: 5 });
  const batch = fakeBatch(28, 16, 60);
  const arch = named("k3e6", "k5e3", "k7e3", "k3e3");
  net.setCalibration([batch]);
  try {
    if (noConvGradients(t, net, arch, batch)) return;
    const lossNow = () => tf.tidy(() => net.loss(arch, batch).dataSync()[0]);
    const start = lossNow();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) {
      const { value, grads } = tf.variableGrads(() => net.loss(arch, batch), net.trainableVariables(arch));
      assert.equal(Object.keys(grads).length, net.trainableVariables(arch).length, "every trainable variable gets a gradient");
      tf.tidy(() => {
        for (const v of net.trainableVariables(arch)) v.assign(tf.sub(v, tf.mul(grads[v.name], 0.05)));
      });
      tf.dispose([value, ...Object.values(grads)]);
    }
    net.recalibrate(arch, [batch]);
    net.evaluate(arch, [batch]);
    const { logits, stages } = net.forward(arch, batch.images, { capture: true });
    tf.dispose([logits, ...stages!]);
    assert.equal(tf.memory().numTensors, before);
    const end = lossNow();
    assert.ok(end < start, `loss ${start} -> ${end} after 5 SGD steps on one batch`);
  } finally {
    disposeBatch(batch);
    net.dispose();
  }
});

test("small preset: a child's forward + backward at batch 64 (time printed, not asserted)", (t) => {
  const net = new CnnSupernet({ space: small, seed: 6 });
  const batch = fakeBatch(28, 64, 70);
  const arch = randomCnnArch(small, new Rng(1));
  try {
    if (noConvGradients(t, net, arch, batch)) return;
    const before = tf.memory().numTensors;
    const ms: number[] = [];
    for (let i = 0; i < 4; i++) {
      const t0 = performance.now();
      const { value, grads } = tf.variableGrads(() => net.loss(arch, batch), net.trainableVariables(arch));
      value.dataSync();
      tf.dispose([value, ...Object.values(grads)]);
      ms.push(performance.now() - t0);
    }
    assert.equal(tf.memory().numTensors, before);
    const sorted = ms.slice(1).sort((x, y) => x - y);
    console.log(`[cnn] small child ${cnnArchId(small, arch)} (${(cnnFlops(small, arch) / 1e6).toFixed(1)} MFLOPs/image) on ${tf.getBackend()}: ` +
      `forward + backward at batch 64, median ${sorted[1].toFixed(0)} ms (after one warm-up)`);
  } finally {
    disposeBatch(batch);
    net.dispose();
  }
});

test("the unchanged training loop trains a standalone child on Fashion-MNIST and resumes bit for bit", async (t) => {
  const data = prepareImageData("tiny");
  const arch = named("k3e6", "skip", "k5e6", "k7e3");
  const dirs = [fs.mkdtempSync(path.join(os.tmpdir(), "magic-cnn-")), fs.mkdtempSync(path.join(os.tmpdir(), "magic-cnn-"))];
  const run = async (dir: string, stopAfter?: number) => {
    const net = new CnnSupernet({ space: tiny, seed: 1, only: arch });
    const calibration = [data.trainBatch(0, 99)];
    const validation = data.validationBatches(2);
    net.setCalibration(calibration);
    try {
      if (noConvGradients(t, net, arch, calibration[0])) return null;
      const result = await train<ImageBatch>({
        model: fixedArchTrainable(net), arch, data: { trainBatch: (s) => data.trainBatch(s, 1), validation },
        config: { steps: 16, evalEvery: 8, lr: 3e-3 }, checkpointDir: dir, stopAfter, progress: false,
      });
      return result;
    } finally {
      tf.dispose([...calibration, ...validation].flatMap((b) => [b.images, b.labels]));
      net.dispose();
    }
  };
  try {
    const before = tf.memory().numTensors;
    const whole = await run(dirs[0]);
    if (!whole) return;
    const first = await run(dirs[1], 8);
    const resumed = await run(dirs[1]);
    assert.equal(first!.step, 8);
    assert.equal(resumed!.resumedFrom, 8);
    assert.deepEqual(resumed!.history, whole.history);
    const [start, end] = [whole.history[0].loss, whole.history.at(-1)!];
    assert.ok(end.valLoss! < Math.log(10) && end.loss < start, `loss ${start} -> ${end.loss}, validation ${end.valLoss}`);
    assert.equal(tf.memory().numTensors, before);
  } finally {
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  }
});
