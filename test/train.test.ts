import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend";
import { Rng, seedFrom } from "../lib/rng";
import { makeSampler } from "../lib/nas/samplers";
import { bertArchSpace } from "../lib/nas/space";
import { AnchorPolicy, alignmentLoss } from "../lib/nas/align";
import type { Arch, MlmBatch, MlmModel, SearchSpace } from "../lib/nas/types";
import { LazyAdam } from "../lib/train/adam";
import { lrAt, resolveTrainConfig } from "../lib/train/config";
import { CheckpointError, checkpointPath, readCheckpoint, writeCheckpoint } from "../lib/train/checkpoint";
import { UserError } from "../lib/errors";
import { train, TrainingDivergedError, type Alignment, type TrainData, type TrainRun } from "../lib/train/loop";

/** Toy MLM model: embedding, per layer K-1 residual dense ops + identity (last op), tied-free head. */
class ToyModel implements MlmModel {
  readonly space: SearchSpace = {
    id: "toy",
    layers: 3,
    hidden: 8,
    seqLen: 6,
    vocabSize: 10,
    ops: [{ kind: "ffn", name: "ffn8", inner: 8 }, { kind: "ffn", name: "ffn16", inner: 16 }, { kind: "identity", name: "id" }],
  };
  readonly archSpace = bertArchSpace(this.space);
  private vars = new Map<string, tf.Variable>();

  constructor(seed: number) {
    const rng = new Rng(seed);
    const { hidden: d, vocabSize: v, layers } = this.space;
    const add = (name: string, shape: number[]) => {
      const n = shape.reduce((a, b) => a * b, 1);
      this.vars.set(name, tf.variable(tf.tensor(Array.from({ length: n }, () => rng.normal() * 0.3), shape)));
    };
    add("emb", [v, d]);
    for (let l = 0; l < layers; l++) for (let k = 0; k < 2; k++) add(`l${l}/op${k}/w`, [d, d]), add(`l${l}/op${k}/b`, [d]);
    add("head", [d, v]);
  }

  namedVariables() {
    return new Map(this.vars);
  }

  trainableVariables(arch: Arch) {
    const out = [this.vars.get("emb")!, this.vars.get("head")!];
    arch.forEach((k, l) => k < 2 && out.push(this.vars.get(`l${l}/op${k}/w`)!, this.vars.get(`l${l}/op${k}/b`)!));
    return out;
  }

  forward(arch: Arch, inputs: tf.Tensor2D, options: { capture?: boolean } = {}) {
    return tf.tidy(() => {
      const [b, t] = inputs.shape;
      const d = this.space.hidden;
      let h = tf.reshape(tf.gather(this.vars.get("emb")!, tf.reshape(inputs, [b * t])), [b * t, d]) as tf.Tensor2D; // [B*T, D]
      const hidden: tf.Tensor3D[] = [tf.reshape(h, [b, t, d])];
      arch.forEach((k, l) => {
        if (k < 2) h = tf.add(h, tf.tanh(tf.add(tf.matMul(h, this.vars.get(`l${l}/op${k}/w`)!), this.vars.get(`l${l}/op${k}/b`)!)));
        hidden.push(tf.reshape(h, [b, t, d]));
      });
      const logits = tf.reshape(tf.matMul(h, this.vars.get("head")!), [b, t, this.space.vocabSize]) as tf.Tensor3D; // [B, T, V]
      return options.capture ? { logits, hidden } : { logits };
    });
  }

  private ce(logits: tf.Tensor3D, batch: MlmBatch): tf.Scalar {
    const v = this.space.vocabSize;
    const nll = tf.losses.softmaxCrossEntropy(tf.oneHot(batch.labels, v), logits, undefined, 0, tf.Reduction.NONE); // [B, T]
    return tf.div(tf.sum(tf.mul(nll, batch.weights)), tf.maximum(tf.sum(batch.weights), 1)) as tf.Scalar;
  }

  loss(arch: Arch, batch: MlmBatch): tf.Scalar {
    return tf.tidy(() => this.ce(this.forward(arch, batch.inputs).logits, batch));
  }

  evaluate(arch: Arch, batches: MlmBatch[]) {
    let loss = 0, acc = 0;
    for (const batch of batches) {
      const [l, a] = tf.tidy(() => {
        const { logits } = this.forward(arch, batch.inputs);
        const hit = tf.mul(tf.cast(tf.equal(tf.argMax(logits, -1), batch.labels), "float32"), batch.weights);
        return [this.ce(logits, batch), tf.div(tf.sum(hit), tf.sum(batch.weights))];
      });
      loss += l.dataSync()[0];
      acc += a.dataSync()[0];
      tf.dispose([l, a]);
    }
    return { loss: loss / batches.length, accuracy: acc / batches.length };
  }

  dispose() {
    for (const v of this.vars.values()) v.dispose();
  }
}

/** Sequences of consecutive tokens (1..9 cyclic); at two selected positions the label is the successor token. */
function toyBatch(seed: number, poison = false): MlmBatch {
  const rng = new Rng(seed);
  const B = 4, T = 6;
  const inputs: number[] = [], labels: number[] = [], weights: number[] = [];
  for (let b = 0; b < B; b++) {
    const start = rng.int(9);
    const masked = new Set([rng.int(T), rng.int(T)]);
    for (let t = 0; t < T; t++) {
      const tok = 1 + ((start + t) % 9);
      labels.push(1 + ((start + t + 1) % 9));
      inputs.push(tok);
      weights.push(masked.has(t) ? (poison ? NaN : 1) : 0);
    }
  }
  return { inputs: tf.tensor2d(inputs, [B, T], "int32"), labels: tf.tensor2d(labels, [B, T], "int32"), weights: tf.tensor2d(weights, [B, T]) };
}

function toyData(poisonStep = -1): TrainData {
  return { trainBatch: (s) => toyBatch(seedFrom(1, s), s === poisonStep), validation: [toyBatch(999), toyBatch(998)], anchorSelection: [toyBatch(997)] };
}

const toyAlign = (): Alignment => ({
  policy: new AnchorPolicy({ kind: "best", poolSize: 3, refreshEvery: 2, seed: 5 }),
  loss: (model, arch, anchor, batch, lambda) =>
    tf.tidy(() => {
      const child = model.forward(arch, batch.inputs, { capture: true });
      const target = model.forward(anchor, batch.inputs, { capture: true }).hidden!.map((h) => tf.tensor3d(h.dataSync() as Float32Array, h.shape));
      const mlm = model.loss(arch, batch);
      return tf.add(mlm, tf.mul(alignmentLoss(child.hidden!, target), lambda)) as tf.Scalar;
    }),
});

/** Live tensors after each step (Adam's moments live on the host, so the count must not move). */
function tensorTracker() {
  const counts: number[] = [];
  return { counts, onStep: () => counts.push(tf.memory().numTensors) };
}

const dirs: string[] = [];
const tmp = () => {
  dirs.push(fs.mkdtempSync(path.join(os.tmpdir(), "magic-train-")));
  return dirs[dirs.length - 1];
};
const weights = (m: MlmModel) => [...m.namedVariables()].map(([n, v]) => [n, Array.from(v.dataSync())]);
const base = { steps: 6, lr: 0.05, warmup: 0.2, evalEvery: 2, monitorEvery: 1, seed: 3 };

/** A fresh model, sampler, policy and data (as a new process would build them) and a run of them. */
function freshRun(over: Partial<Omit<TrainRun, "model">> & { samplerName?: string; alignOn?: boolean } = {}): TrainRun & { model: ToyModel } {
  const model = new ToyModel(11);
  const sampler = makeSampler(over.samplerName ?? "magic-t", { layers: 3, numOps: 3, seed: 4 });
  return { model, data: toyData(), sampler, config: base, progress: false, align: over.alignOn ? toyAlign() : undefined, ...over };
}

before(async () => {
  await initBackend({ quiet: true });
});

after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

test("Adam(W) with clipping scale: native and JS paths match a float64 reference; clones keep their values", async () => {
  const backends = ["cpu", ...(tf.findBackend("native") || tf.findBackendFactory("native") ? ["native"] : [])];
  const start = tf.getBackend();
  const cfg = { beta1: 0.9, beta2: 0.98, eps: 1e-6, weightDecay: 0.01 };
  const rng = new Rng(5);
  const p0 = Array.from({ length: 37 }, () => rng.normal());
  const grads = [0, 1, 2].map(() => Array.from({ length: 37 }, () => rng.normal()));
  // float64 reference of three steps at lr 0.1 with gradient scale 0.5
  const p = [...p0], m = p.map(() => 0), v = p.map(() => 0);
  grads.forEach((gr, k) => {
    const t = k + 1;
    for (let i = 0; i < p.length; i++) {
      const g = 0.5 * gr[i];
      m[i] = cfg.beta1 * m[i] + (1 - cfg.beta1) * g;
      v[i] = cfg.beta2 * v[i] + (1 - cfg.beta2) * g * g;
      const step = m[i] / (1 - cfg.beta1 ** t) / (Math.sqrt(v[i] / (1 - cfg.beta2 ** t)) + cfg.eps);
      p[i] -= 0.1 * (step + cfg.weightDecay * p[i]);
    }
  });
  for (const name of backends) {
    await tf.setBackend(name);
    const a = tf.variable(tf.tensor1d(p0));
    const snapshot = tf.clone(a); // shares a's buffer: the update must not write into it
    const adam = new LazyAdam(cfg);
    for (const gr of grads) {
      const g = tf.tensor1d(gr);
      adam.apply([{ name: "a", variable: a, grad: g }], 0.1, 0.5);
      g.dispose();
    }
    const got = Array.from(a.dataSync());
    const err = Math.max(...got.map((x, i) => Math.abs(x - p[i])));
    assert.ok(err < 1e-5, `${name}: max error ${err}`);
    assert.deepEqual(Array.from(snapshot.dataSync()), Array.from(Float32Array.from(p0)));
    assert.equal(adam.state().a.t, 3);
    tf.dispose([a, snapshot]);
  }
  await tf.setBackend(start);
});

test("lr schedule: linear warmup, linear and cosine decay to 0", () => {
  const c = resolveTrainConfig({ steps: 10, lr: 1, warmup: 0.2 });
  assert.deepEqual([0, 1, 2, 6, 9].map((s) => lrAt(c, s)), [0.5, 1, 1, 0.5, 0.125]);
  const cos = resolveTrainConfig({ steps: 10, lr: 1, warmup: 0, decay: "cosine" });
  assert.equal(lrAt(cos, 0), 1);
  assert.ok(Math.abs(lrAt(cos, 5) - 0.5) < 1e-12);
  assert.throws(() => resolveTrainConfig({ warmup: 1 }), /warmup must be in \[0, 1\)/);
  assert.throws(() => resolveTrainConfig({ stepz: 3 } as never), /unknown field\(s\) stepz/);
});

test("lazy Adam: first step moves by lr * g/(|g|+eps), untouched variables keep no state", () => {
  const a = tf.variable(tf.tensor1d([1, -2]));
  const b = tf.variable(tf.tensor1d([3]));
  const adam = new LazyAdam({ beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 });
  const g = tf.tensor1d([0.5, -4]);
  adam.apply([{ name: "a", variable: a, grad: g }], 0.1);
  const got = Array.from(a.dataSync());
  assert.ok(Math.abs(got[0] - 0.9) < 1e-6 && Math.abs(got[1] - -1.9) < 1e-6, `${got}`);
  // Second step with the same gradient: m̂ = g, v̂ = g² again, so the same move.
  adam.apply([{ name: "a", variable: a, grad: g }], 0.1);
  assert.ok(Math.abs(a.dataSync()[0] - 0.8) < 1e-5);
  assert.equal(adam.steps("a"), 2);
  assert.equal(adam.steps("b"), 0);
  assert.deepEqual(Array.from(b.dataSync()), [3]);
  adam.dispose();
  tf.dispose([a, b, g]);
});

test("checkpoint file: round trip, corruption and truncation are detected", () => {
  const dir = tmp();
  const file = checkpointPath(dir);
  const data = Float32Array.from({ length: 1001 }, (_, i) => Math.sin(i));
  writeCheckpoint(file, { configHash: "abc", step: 7, meta: { x: [1, 2] }, tensors: [{ name: "w", shape: [7, 143], data }, { name: "s", shape: [], data: Float32Array.of(2) }] });
  const back = readCheckpoint(file);
  assert.equal(back.step, 7);
  assert.deepEqual(back.meta, { x: [1, 2] });
  assert.deepEqual(Array.from(back.tensors[0].data), Array.from(data));
  assert.deepEqual(back.tensors[1], { name: "s", shape: [], data: Float32Array.of(2) });
  assert.deepEqual(fs.readdirSync(dir), ["checkpoint.ckpt"]); // no temp file left
  const bytes = fs.readFileSync(file);
  bytes[bytes.length - 100] ^= 0xff;
  fs.writeFileSync(file, bytes);
  assert.throws(() => readCheckpoint(file), new CheckpointError(`checkpoint ${file} is corrupt or truncated (checksum mismatch); delete it to start the run over`));
  fs.writeFileSync(file, bytes.subarray(0, 100));
  assert.throws(() => readCheckpoint(file), /is corrupt or truncated \(checksum mismatch\)/);
  fs.writeFileSync(file, "hello world, not a checkpoint, but long enough to hold a checksum");
  assert.throws(() => readCheckpoint(file), /is not a checkpoint \(bad magic bytes\); delete it/);
});

test("checkpoint file: the header is inside the checksum; an old-format file is a clear error", () => {
  const dir = tmp();
  const file = checkpointPath(dir);
  writeCheckpoint(file, { configHash: "abc", step: 7, meta: null, tensors: [{ name: "w", shape: [2], data: Float32Array.of(1, 2) }] });
  const bytes = fs.readFileSync(file);
  const at = bytes.indexOf('"step":7');
  bytes[at + '"step":'.length] = "8".charCodeAt(0); // still valid JSON: only the checksum can tell
  fs.writeFileSync(file, bytes);
  assert.throws(() => readCheckpoint(file), /checkpoint .* is corrupt or truncated \(checksum mismatch\); delete it to start the run over/);
  fs.writeFileSync(file, Buffer.concat([Buffer.from("MAGICCK1"), bytes.subarray(8)]));
  assert.throws(() => readCheckpoint(file), (e: unknown) =>
    e instanceof UserError && e.message === `checkpoint ${file} is in the old format MAGICCK1, which this version does not read; delete it to start the run over`);
});

test("toy supernet: loss decreases; same seeds give identical histories and weights", async () => {
  const runs = [];
  for (let i = 0; i < 2; i++) {
    const r = freshRun({ samplerName: "uniform", config: { ...base, steps: 150, lr: 0.03, evalEvery: 50, monitorEvery: 0 } });
    runs.push({ result: await train(r), w: weights(r.model) });
    r.model.dispose();
  }
  const h = runs[0].result.history;
  const avg = (xs: { loss: number }[]) => xs.reduce((a, e) => a + e.loss, 0) / xs.length;
  assert.ok(avg(h.slice(-20)) < 0.6 * avg(h.slice(0, 20)), `first ${avg(h.slice(0, 20))} last ${avg(h.slice(-20))}`);
  assert.ok(h[149].valLoss! < h[49].valLoss!, `val ${h[49].valLoss} -> ${h[149].valLoss}`);
  assert.deepEqual(runs[1].result.history, h);
  assert.deepEqual(runs[1].w, runs[0].w);
});

test("resume: 3 steps + checkpoint, then a fresh process state resumes to 6 with identical numbers", async () => {
  for (const alignOn of [false, true]) {
    const full = freshRun({ alignOn, checkpointDir: tmp() });
    const ref = await train(full);
    assert.equal(ref.history.length, 6);
    assert.ok(ref.history.some((e) => typeof e.interference === "number"));
    if (alignOn) assert.ok(ref.history.every((e) => Array.isArray(e.anchor)));

    const dir = tmp();
    const first = freshRun({ alignOn, checkpointDir: dir, stopAfter: 3 });
    const part = await train(first);
    assert.equal(part.step, 3);
    assert.equal(part.done, false);
    assert.equal(readCheckpoint(checkpointPath(dir)).step, 3);
    first.model.dispose();

    const second = freshRun({ alignOn, checkpointDir: dir });
    const resumed = await train(second);
    assert.equal(resumed.resumedFrom, 3);
    assert.equal(resumed.configHash, ref.configHash);
    assert.deepEqual(resumed.history, ref.history);
    assert.deepEqual(weights(second.model), weights(full.model));
    full.model.dispose();
    second.model.dispose();
  }
});

test("resume refuses a checkpoint of another configuration or a corrupt one", async () => {
  const dir = tmp();
  const a = freshRun({ checkpointDir: dir });
  await train(a);
  a.model.dispose();
  const b = freshRun({ checkpointDir: dir, config: { ...base, lr: 0.01 } });
  await assert.rejects(train(b), /belongs to another configuration/);
  b.model.dispose();
  const other = freshRun({ checkpointDir: dir });
  other.model.namedVariables().get("head")!.assign(tf.zeros([8, 10])); // different initial weights
  await assert.rejects(train(other), /belongs to another configuration/);
  other.model.dispose();
  // Same seeds, another anchor kind: the policy's settings are part of the hash.
  const alignDir = tmp();
  const x = freshRun({ alignOn: true, checkpointDir: alignDir });
  await train(x);
  x.model.dispose();
  const y = freshRun({ alignOn: true, checkpointDir: alignDir });
  y.align = { ...y.align!, policy: new AnchorPolicy({ kind: "random", poolSize: 3, refreshEvery: 2, seed: 5 }) };
  await assert.rejects(train(y), /belongs to another configuration/);
  y.model.dispose();

  const file = checkpointPath(dir);
  const bytes = fs.readFileSync(file);
  bytes[bytes.length - 1] ^= 1;
  fs.writeFileSync(file, bytes);
  const c = freshRun({ checkpointDir: dir });
  await assert.rejects(train(c), /corrupt/);
  c.model.dispose();
});

test("non-finite loss stops the run with a clear error and keeps the last good checkpoint", async () => {
  const dir = tmp();
  const r = freshRun({ checkpointDir: dir, data: toyData(4), config: { ...base, steps: 10, checkpointEvery: 2 } });
  const seen: number[] = [];
  await assert.rejects(train({ ...r, onStep: (e) => seen.push(e.step) }), (e: Error) => {
    assert.ok(e instanceof TrainingDivergedError);
    assert.match(e.message, /non-finite loss at step 5 .*last good checkpoint .* is kept/);
    return true;
  });
  assert.deepEqual(seen, [1, 2, 3, 4]);
  const ck = readCheckpoint(checkpointPath(dir));
  assert.equal(ck.step, 4);
  r.model.dispose();
});

test("no tensor growth over 200 steps (eval, monitor, alignment, checkpoints on)", async () => {
  const r = freshRun({
    alignOn: true,
    checkpointDir: tmp(),
    config: { ...base, steps: 200, lr: 0.01, evalEvery: 25, monitorEvery: 5, checkpointEvery: 50 },
  });
  const before = tf.memory().numTensors;
  const tracker = tensorTracker();
  const result = await train({ ...r, onStep: tracker.onStep });
  assert.equal(new Set(tracker.counts).size, 1, `tensors per step: ${[...new Set(tracker.counts)]}`);
  assert.equal(tf.memory().numTensors, before);
  const monitored = result.history.filter((e) => e.interference !== undefined);
  assert.equal(monitored.length, 40);
  assert.ok(monitored.every((e) => e.interference === null || Math.abs(e.interference!) <= 1 + 1e-6));
  r.model.dispose();
});

test("fixed-arch training evaluates its own arch and rejects sampler+arch together", async () => {
  const model = new ToyModel(2);
  const data = toyData();
  const res = await train({ model, data, arch: [0, 2, 1], config: { ...base, steps: 20, monitorEvery: 0 }, progress: false });
  assert.deepEqual(res.probes, [[0, 2, 1]]);
  assert.ok(res.history.every((e) => e.arch.join() === "0,2,1"));
  assert.equal(res.history[19].valLoss, model.evaluate([0, 2, 1], data.validation).loss);
  const sampler = makeSampler("uniform", { layers: 3, numOps: 3, seed: 1 });
  await assert.rejects(train({ model, data, arch: [0, 0, 0], sampler, progress: false }), /exactly one of/);
  model.dispose();
});

test("real Supernet: magic-t + MAGIC-A + monitor resume exactly, loss decreases, no tensor growth", async () => {
  const { Supernet } = await import("../lib/nas/supernet");
  const { alignedLoss } = await import("../lib/nas/align");
  const { defaultOps } = await import("../lib/nas/space");
  const space: SearchSpace = { id: "test-L3-D16", layers: 3, hidden: 16, seqLen: 8, vocabSize: 10, ops: defaultOps(16, { heads: [2], ffnMults: [1], kernels: [3] }) };
  const data: TrainData = {
    trainBatch: (s) => {
      const b = toyBatch(seedFrom(2, s));
      const pad = (t: tf.Tensor2D) => tf.tidy(() => tf.concat([t, tf.slice(t, [0, 0], [4, 2])], 1) as tf.Tensor2D); // [4, 8]
      const out = { inputs: pad(b.inputs), labels: pad(b.labels), weights: pad(b.weights) };
      tf.dispose([b.inputs, b.labels, b.weights]);
      return out;
    },
    validation: [],
    anchorSelection: [],
  };
  data.validation.push(data.trainBatch(10_000), data.trainBatch(10_001));
  data.anchorSelection!.push(data.trainBatch(10_002));
  const make = (dir: string, stopAfter?: number) => {
    const model = new Supernet({ space, seed: 1 });
    const run: TrainRun = {
      model,
      data,
      sampler: makeSampler("magic-t", { layers: 3, numOps: space.ops.length, seed: 8 }),
      align: {
        policy: new AnchorPolicy({ kind: "best", poolSize: 2, refreshEvery: 4, seed: 3 }),
        loss: (_m, arch, anchor, batch, lambda) => alignedLoss(model, arch, anchor, batch, lambda),
      },
      config: { steps: 8, lr: 3e-3, warmup: 0.1, evalEvery: 4, monitorEvery: 2, lambda: 0.5, seed: 0 },
      checkpointDir: dir,
      stopAfter,
      progress: false,
    };
    return { model, run };
  };
  const before = tf.memory().numTensors;
  const full = make(tmp());
  const ref = await train(full.run);
  const dir = tmp();
  const first = make(dir, 5);
  await train(first.run);
  first.model.dispose();
  const second = make(dir);
  const resumed = await train(second.run);
  assert.equal(resumed.resumedFrom, 5);
  assert.deepEqual(resumed.history, ref.history);
  assert.deepEqual(weights(second.model), weights(full.model));
  assert.ok(ref.history.filter((e) => typeof e.interference === "number").length >= 2);
  assert.ok(ref.history[7].valLoss! < ref.history[3].valLoss! + 0.5);
  full.model.dispose();
  second.model.dispose();
  assert.equal(tf.memory().numTensors, before);

  const long = make(tmp());
  const tracker = tensorTracker();
  const res = await train({ ...long.run, config: { ...long.run.config, steps: 120, evalEvery: 40, lr: 5e-3 }, onStep: tracker.onStep });
  const avg = (xs: { loss: number }[]) => xs.reduce((a, e) => a + e.loss, 0) / xs.length;
  assert.ok(avg(res.history.slice(-20)) < avg(res.history.slice(0, 20)), `${avg(res.history.slice(0, 20))} -> ${avg(res.history.slice(-20))}`);
  assert.equal(new Set(tracker.counts).size, 1, `tensors per step: ${[...new Set(tracker.counts)]}`);
  long.model.dispose();
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([...data.validation, ...data.anchorSelection!].flatMap((b) => [b.inputs, b.labels, b.weights]));
});

test("clipping scales the update, history keeps the pre-clip norm; checkpointEvery is not part of the hash", async () => {
  const a = freshRun({ config: { ...base, clipNorm: 0 } });
  const b = freshRun({ config: { ...base, clipNorm: 1e-3 } });
  const ra = await train(a), rb = await train(b);
  assert.equal(ra.history[0].gradNorm, rb.history[0].gradNorm);
  assert.ok(ra.history[0].gradNorm > 1e-3);
  assert.notDeepEqual(weights(a.model), weights(b.model));
  const c = freshRun({ config: { ...base, clipNorm: 0, checkpointEvery: 1 } });
  assert.equal(ra.configHash, (await train(c)).configHash);
  [a, b, c].forEach((r) => r.model.dispose());
});

test("MAGIC-A picks its anchor on data.anchorSelection, never on the scoring batches; without them the run stops first", async () => {
  const run = freshRun({ alignOn: true });
  const seen = new Set<MlmBatch[]>();
  const policy = run.align!.policy;
  const anchor = policy.anchor.bind(policy);
  policy.anchor = (step, model, batches) => {
    seen.add(batches);
    return anchor(step, model, batches);
  };
  await train(run);
  assert.deepEqual([...seen], [run.data.anchorSelection], "every anchor choice saw the anchor batches only");
  await assert.rejects(train({ ...freshRun({ alignOn: true }), data: { ...toyData(), anchorSelection: undefined } }), /MAGIC-A needs data.anchorSelection/);
});
