// Knowledge distillation (lib/train/distill.ts) through the one training loop: the KD losses on hand-computed
// values, gradients (projection yes, teacher never), exact resume, no tensor growth, the hash, and errors.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend";
import { Rng, seedFrom } from "../lib/rng";
import type { Arch, MlmBatch, SearchSpace } from "../lib/nas/types";
import { defaultOps } from "../lib/nas/space";
import { Supernet } from "../lib/nas/supernet";
import { SequenceClassifier } from "../lib/nas/classifier";
import type { GlueBatch } from "../lib/data/glue-batches";
import { UserError } from "../lib/errors";
import { CheckpointError, checkpointPath, readCheckpoint } from "../lib/train/checkpoint";
import { runConfigHash, train, type TrainData, type TrainRun } from "../lib/train/loop";
import { combineKd, Distiller, hiddenMse, logitKd, resolveDistillConfig, type DistillConfig } from "../lib/train/distill";
import { AnchorPolicy, alignedLoss } from "../lib/nas/align";

const studentSpace: SearchSpace = { id: "kd-student-L2-D16", layers: 2, hidden: 16, seqLen: 8, vocabSize: 20, ops: defaultOps(16, { heads: [2], ffnMults: [1], kernels: [3] }) };
const teacherSpace: SearchSpace = { id: "kd-teacher-L3-D24", layers: 3, hidden: 24, seqLen: 8, vocabSize: 20, ops: defaultOps(24, { heads: [2], ffnMults: [2], kernels: [3] }) };
const studentArch: Arch = [0, 1]; // att2, ffn16
const teacherArch: Arch = [0, 1, 2]; // att2, ffn48, conv3

const scalar = (t: tf.Scalar) => {
  const x = t.dataSync()[0];
  t.dispose();
  return x;
};
const values = (named: Map<string, tf.Variable>) => [...named].map(([n, v]) => [n, Array.from(v.dataSync())]);

function mlmBatch(seed: number, b = 4): MlmBatch {
  const rng = new Rng(seed);
  const t = studentSpace.seqLen;
  const ids = Array.from({ length: b * t }, () => 4 + rng.int(studentSpace.vocabSize - 4));
  return {
    inputs: tf.tensor2d(ids, [b, t], "int32"),
    labels: tf.tensor2d(ids.map((x) => (x + 1) % studentSpace.vocabSize), [b, t], "int32"),
    weights: tf.tensor2d(ids.map((_, i) => (i % 3 === 0 ? 1 : 0)), [b, t], "float32"),
  };
}

/** Sentence pairs with padding after each example's real tokens (lengths 8, 6, 5, 3), 3 classes. */
function glueBatch(seed: number): GlueBatch {
  const rng = new Rng(seed);
  const b = 4, t = studentSpace.seqLen, lengths = [8, 6, 5, 3];
  const inputs: number[] = [], segments: number[] = [], mask: number[] = [];
  lengths.forEach((len) => {
    for (let p = 0; p < t; p++) {
      inputs.push(p < len ? 4 + rng.int(studentSpace.vocabSize - 4) : 0);
      segments.push(p < len && p >= len / 2 ? 1 : 0);
      mask.push(p < len ? 1 : 0);
    }
  });
  return {
    inputs: tf.tensor2d(inputs, [b, t], "int32"),
    segments: tf.tensor2d(segments, [b, t], "int32"),
    mask: tf.tensor2d(mask, [b, t], "float32"),
    labels: tf.tensor1d(Int32Array.from({ length: b }, () => rng.int(3)), "int32"),
  };
}

const mlmData = (): TrainData<MlmBatch> => ({ trainBatch: (s) => mlmBatch(seedFrom(7, s)), validation: [mlmBatch(1000)] });
const glueData = (): TrainData<GlueBatch> => ({ trainBatch: (s) => glueBatch(seedFrom(8, s)), validation: [glueBatch(2000)] });
const disposeBatches = (bs: object[]) => tf.dispose(bs.flatMap((b) => Object.values(b) as tf.Tensor[]));
const config = { steps: 6, lr: 5e-3, warmup: 0.2, evalEvery: 3, seed: 1 };

const dirs: string[] = [];
const tmp = () => {
  dirs.push(fs.mkdtempSync(path.join(os.tmpdir(), "magic-kd-")));
  return dirs[dirs.length - 1];
};

/** A teacher trained for 3 steps and checkpointed (MLM: a standalone child; GLUE: a classifier on it). */
const teachers = { mlm: "", glue: "" };

const mlmStudent = (seed = 2) => new Supernet({ space: studentSpace, seed, only: studentArch });
const mlmTeacherModel = () => new Supernet({ space: teacherSpace, seed: 99, only: teacherArch }); // overwritten by the checkpoint
const glueStudent = () => new SequenceClassifier({ encoder: mlmStudent(), numLabels: 3, seed: 4 });
const glueTeacherModel = () => new SequenceClassifier({ encoder: mlmTeacherModel(), numLabels: 3, seed: 98 });

function mlmDistiller(student: Supernet, over: Partial<DistillConfig> = {}, teacher = mlmTeacherModel(), arch = teacherArch) {
  return new Distiller({ student, teacher: { model: teacher, arch, checkpointDir: teachers.mlm }, config: over, seed: 6 });
}

before(async () => {
  await initBackend({ quiet: true });
  teachers.mlm = tmp();
  const mlmTeacher = new Supernet({ space: teacherSpace, seed: 5, only: teacherArch });
  await train({ model: mlmTeacher, data: mlmData(), arch: teacherArch, config: { ...config, steps: 3 }, checkpointDir: teachers.mlm, progress: false });
  mlmTeacher.dispose();
  teachers.glue = tmp();
  const glueTeacher = new SequenceClassifier({ encoder: new Supernet({ space: teacherSpace, seed: 5, only: teacherArch }), numLabels: 3, seed: 3 });
  await train({ model: glueTeacher, data: glueData(), arch: teacherArch, config: { ...config, steps: 3 }, checkpointDir: teachers.glue, progress: false });
  glueTeacher.dispose();
});

after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

test("logitKd: T^2 * KL(softmax(teacher/T) || softmax(student/T)) on 2x3 logits, by hand", () => {
  // T = 2. Row 1: teacher/T = [ln 2, 0, 0] -> p = [1/2, 1/4, 1/4]; student/T = 0 -> q = [1/3, 1/3, 1/3];
  //   KL = 1/2 ln(3/2) + 2 * 1/4 ln(3/4) = 1/2 ln(9/8); times T^2: 2 ln(9/8) = 0.235566.
  // Row 2: teacher uniform p = 1/3; student/T = [ln 2, 0, 0] -> q = [1/2, 1/4, 1/4];
  //   KL = 1/3 (ln(2/3) + 2 ln(4/3)) = 1/3 ln(32/27); times T^2: 4/3 ln(32/27) = 0.226533.
  const ln2 = Math.log(2);
  const teacher = tf.tensor2d([[2 * ln2, 0, 0], [0, 0, 0]]);
  const student = tf.tensor2d([[0, 0, 0], [2 * ln2, 0, 0]]);
  const row1 = 2 * Math.log(9 / 8), row2 = (4 / 3) * Math.log(32 / 27);
  const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-6, `${a} vs ${b}`);
  close(scalar(logitKd(student, teacher, 2)), (row1 + row2) / 2);
  close(scalar(logitKd(student, teacher, 2, tf.tensor1d([1, 0]))), row1);
  close(scalar(logitKd(student, teacher, 2, tf.tensor1d([1, 3]))), (row1 + 3 * row2) / 4);
  // Shifting a row's logits changes no softmax; equal logits give 0.
  close(scalar(logitKd(tf.add(student, 5) as tf.Tensor2D, teacher, 2)), (row1 + row2) / 2);
  assert.equal(scalar(logitKd(teacher, teacher, 2)), 0);
  // T = 1 on row 1: teacher [2 ln 2, 0, 0] -> p = [4/6, 1/6, 1/6]; KL = 2/3 ln 2 + 1/3 ln(1/2) = 1/3 ln 2.
  close(scalar(logitKd(tf.tensor2d([[0, 0, 0]]), tf.tensor2d([[2 * ln2, 0, 0]]), 1)), Math.log(2) / 3);
  // One output (regression): the mean squared difference of the scores, no temperature: ((1-2)^2 + (3-0)^2) / 2 = 5.
  assert.equal(scalar(logitKd(tf.tensor2d([[1], [3]]), tf.tensor2d([[2], [0]]), 2)), 5);
  assert.throws(() => logitKd(student, tf.tensor2d([[1, 2]]), 2), /differ/);
});

test("hiddenMse: identity projection, token mask and a width-changing projection, by hand", () => {
  const student = tf.tensor3d([[[1, 2], [3, 4]]]); // [1, 2, 2]
  const teacher = tf.tensor3d([[[1, 0], [0, 4]]]);
  // squared differences: token 1 [0, 4], token 2 [9, 0]: (4 + 9) / (2 tokens * 2 features) = 3.25
  assert.equal(scalar(hiddenMse(student, teacher, null)), 3.25);
  assert.equal(scalar(hiddenMse(student, teacher, tf.tensor2d([[1, 0], [0, 1]]))), 3.25);
  assert.equal(scalar(hiddenMse(student, teacher, null, tf.tensor2d([[1, 0]]))), 4 / 2); // token 2 is padding
  // D_s = 2 -> D_t = 3: W = [[1, 0, 1], [0, 1, 1]] maps [1, 2] to [1, 2, 3] and [3, 4] to [3, 4, 7];
  // teacher [1, 2, 4] and [3, 4, 7]: (0 + 0 + 1 + 0 + 0 + 0) / (2 * 3) = 1/6.
  const wide = tf.tensor3d([[[1, 2, 4], [3, 4, 7]]]);
  const w = tf.tensor2d([[1, 0, 1], [0, 1, 1]]);
  assert.ok(Math.abs(scalar(hiddenMse(student, wide, w)) - 1 / 6) < 1e-7);
  assert.throws(() => hiddenMse(student, wide, null), /do not fit/);
  tf.dispose([student, teacher, wide, w]);
});

test("combineKd and Distiller.loss: (1 - lambda) * task + lambda * (logit KD + hiddenWeight * MSE)", () => {
  const c = resolveDistillConfig({ lambda: 0.25, hiddenWeight: 0.5 });
  // 0.75 * 2 + 0.25 * (0.4 + 0.5 * 3) = 1.5 + 0.475
  assert.ok(Math.abs(scalar(combineKd(tf.scalar(2), tf.scalar(0.4), tf.scalar(3), c)) - 1.975) < 1e-6);
  assert.ok(Math.abs(scalar(combineKd(tf.scalar(2), tf.scalar(0.4), null, c)) - 1.6) < 1e-6);

  const student = mlmStudent();
  const d = mlmDistiller(student, { lambda: 0.3, temperature: 3, hiddenWeight: 0.7 });
  const batch = mlmBatch(5);
  const targets = d.teacherTargets(batch);
  const s = student.kdOutputs(studentArch, batch);
  assert.equal(s.taskLoss.dataSync()[0], scalar(student.loss(studentArch, batch)), "kdOutputs' task loss is the model's loss");
  const projection = d.namedVariables().get("distill/proj")!;
  assert.deepEqual(projection.shape, [16, 24]);
  const logitTerm = scalar(logitKd(s.logits, targets.logits, 3, s.rowWeights));
  const hiddenTerm = scalar(hiddenMse(s.hidden, targets.hidden, projection as tf.Tensor as tf.Tensor2D));
  assert.ok(logitTerm > 0 && hiddenTerm > 0);
  const expected = 0.7 * s.taskLoss.dataSync()[0] + 0.3 * (logitTerm + 0.7 * hiddenTerm);
  const got = scalar(d.loss(studentArch, batch, targets));
  assert.ok(Math.abs(got - expected) < 1e-5, `${got} vs ${expected}`);
  const none = mlmDistiller(student, { lambda: 0 });
  assert.equal(scalar(none.loss(studentArch, batch, targets)), s.taskLoss.dataSync()[0], "lambda 0: the task loss");
  tf.dispose([s.taskLoss, s.logits, s.rowWeights, s.hidden, targets.logits, targets.hidden]);
  disposeBatches([batch]);
  d.dispose();
  none.dispose();
  student.dispose();
});

test("GLUE: Distiller.loss weighs the class-logit KD and the hidden MSE over real tokens only", () => {
  const student = glueStudent();
  const teacher = glueTeacherModel();
  const d = new Distiller({ student, teacher: { model: teacher, arch: teacherArch, checkpointDir: teachers.glue }, config: { lambda: 0.4, temperature: 1.5 }, seed: 2 });
  const batch = glueBatch(9);
  const targets = d.teacherTargets(batch);
  assert.deepEqual(targets.logits.shape, [4, 3]);
  const s = student.kdOutputs(studentArch, batch);
  assert.equal(s.taskLoss.dataSync()[0], scalar(student.loss(studentArch, batch)));
  const projection = d.namedVariables().get("distill/proj")! as tf.Tensor as tf.Tensor2D;
  const logitTerm = scalar(logitKd(s.logits, targets.logits, 1.5));
  const hiddenTerm = scalar(hiddenMse(s.hidden, targets.hidden, projection, batch.mask));
  const everyToken = scalar(hiddenMse(s.hidden, targets.hidden, projection));
  assert.notEqual(hiddenTerm, everyToken, "padding is left out");
  const expected = 0.6 * s.taskLoss.dataSync()[0] + 0.4 * (logitTerm + 1 * hiddenTerm);
  const got = scalar(d.loss(studentArch, batch, targets));
  assert.ok(Math.abs(got - expected) < 1e-5, `${got} vs ${expected}`);
  tf.dispose([s.taskLoss, s.logits, s.rowWeights, s.hidden, s.tokenMask!, targets.logits, targets.hidden]);
  disposeBatches([batch]);
  d.dispose();
  student.dispose();
  teacher.dispose();
});

test("gradients reach the student and the projection, never the teacher; training leaves the teacher as loaded", async () => {
  const student = mlmStudent();
  const teacher = mlmTeacherModel();
  const d = mlmDistiller(student, {}, teacher);
  const loaded = readCheckpoint(checkpointPath(teachers.mlm));
  for (const [name, v] of teacher.namedVariables()) {
    assert.deepEqual(Array.from(v.dataSync()), Array.from(loaded.tensors.find((t) => t.name === `var/${name}`)!.data), `teacher ${name} loaded`);
  }
  const teacherBefore = values(teacher.namedVariables());
  const projection = d.namedVariables().get("distill/proj")!;
  const projectionBefore = Array.from(projection.dataSync());
  const batch = mlmBatch(6);
  const targets = d.teacherTargets(batch);
  const teacherVars = [...teacher.namedVariables().values()];
  const { value, grads } = tf.variableGrads(() => d.loss(studentArch, batch, targets), [...student.trainableVariables(studentArch), projection, ...teacherVars]);
  assert.ok(grads[projection.name], "the projection gets a gradient");
  assert.ok(scalar(tf.sum(tf.abs(grads[projection.name]))) > 0);
  for (const v of student.trainableVariables(studentArch)) assert.ok(grads[v.name], "student variables get gradients");
  for (const v of teacherVars) assert.ok(!grads[v.name], "no teacher variable gets a gradient");
  tf.dispose([value, ...Object.values(grads), targets.logits, targets.hidden]);
  disposeBatches([batch]);

  const data = mlmData();
  await train({ model: student, data, arch: studentArch, distill: d, config, progress: false });
  assert.deepEqual(values(teacher.namedVariables()), teacherBefore, "the teacher is never updated");
  assert.notDeepEqual(Array.from(projection.dataSync()), projectionBefore, "the projection is trained");
  disposeBatches(data.validation);
  d.dispose();
  student.dispose();
  teacher.dispose();
});

test("pure KD (lambda 1) pulls the student's logits and hidden states towards the teacher's", async () => {
  const student = mlmStudent();
  const d = mlmDistiller(student, { lambda: 1 });
  const probe = mlmBatch(4242);
  const gap = () => {
    const targets = d.teacherTargets(probe);
    const s = student.kdOutputs(studentArch, probe);
    const projection = d.namedVariables().get("distill/proj")! as tf.Tensor as tf.Tensor2D;
    const out = [scalar(logitKd(s.logits, targets.logits, 2, s.rowWeights)), scalar(hiddenMse(s.hidden, targets.hidden, projection))];
    tf.dispose([s.taskLoss, s.logits, s.rowWeights, s.hidden, targets.logits, targets.hidden]);
    return out;
  };
  const [logitBefore, hiddenBefore] = gap();
  const data = mlmData();
  await train({ model: student, data, arch: studentArch, distill: d, config: { ...config, steps: 40, lr: 1e-2, evalEvery: 0 }, progress: false });
  const [logitAfter, hiddenAfter] = gap();
  assert.ok(logitAfter < 0.5 * logitBefore, `logit KD ${logitBefore} -> ${logitAfter}`);
  assert.ok(hiddenAfter < 0.5 * hiddenBefore, `hidden MSE ${hiddenBefore} -> ${hiddenAfter}`);
  disposeBatches([probe, ...data.validation]);
  d.dispose();
  student.dispose();
});

for (const task of ["mlm", "glue"] as const) {
  test(`${task}: a distill run stopped after 3 steps resumes to 6 bit-identically; no tensor growth over steps`, async () => {
    const data = task === "mlm" ? mlmData() : glueData();
    const build = (dir: string, stopAfter?: number) => {
      const student = task === "mlm" ? mlmStudent() : glueStudent();
      const teacher = task === "mlm" ? mlmTeacherModel() : glueTeacherModel();
      const distill = new Distiller<object>({ student, teacher: { model: teacher, arch: teacherArch, checkpointDir: teachers[task] }, seed: 6 });
      const counts: number[] = [];
      const run = { model: student, data, arch: studentArch, distill, config, checkpointDir: dir, stopAfter, progress: false, onStep: () => counts.push(tf.memory().numTensors) } as TrainRun<object>;
      const dispose = () => {
        distill.dispose();
        student.dispose();
        teacher.dispose();
      };
      return { run, distill, student, counts, dispose };
    };
    const before = tf.memory().numTensors;
    const full = build(tmp());
    const ref = await train(full.run);
    assert.equal(ref.history.length, 6);
    assert.ok(ref.history.every((e) => Number.isFinite(e.loss)));
    assert.equal(new Set(full.counts).size, 1, `live tensors per step: ${full.counts}`);

    const dir = tmp();
    const first = build(dir, 3);
    assert.equal((await train(first.run)).step, 3);
    const ck = readCheckpoint(checkpointPath(dir));
    for (const name of ["var/distill/proj", "adam.m/distill/proj", "adam.v/distill/proj"]) assert.ok(ck.tensors.some((t) => t.name === name), name);
    first.dispose();
    const second = build(dir);
    const resumed = await train(second.run);
    assert.equal(resumed.resumedFrom, 3);
    assert.equal(resumed.configHash, ref.configHash);
    assert.deepEqual(resumed.history, ref.history);
    assert.deepEqual(values(second.student.namedVariables()), values(full.student.namedVariables()));
    assert.deepEqual(values(second.distill.namedVariables()), values(full.distill.namedVariables()));
    full.dispose();
    second.dispose();
    disposeBatches(data.validation);
    assert.equal(tf.memory().numTensors, before - (task === "mlm" ? 3 : 4), "only the validation batch's tensors are gone");
  });
}

test("the config hash covers lambda, temperature, hiddenWeight and the teacher; other KD settings cannot resume a checkpoint", async () => {
  const student = mlmStudent();
  const data = mlmData();
  const hashOf = (over: Partial<DistillConfig> | null, teacher = mlmTeacherModel(), arch = teacherArch) => {
    const distill = over ? mlmDistiller(student, over, teacher, arch) : undefined;
    const hash = runConfigHash({ model: student, data, arch: studentArch, distill, config });
    distill?.dispose();
    teacher.dispose();
    return hash;
  };
  const base = hashOf({});
  assert.equal(hashOf({}), base, "the same settings and teacher give the same hash");
  assert.notEqual(hashOf({ lambda: 0.6 }), base);
  assert.notEqual(hashOf({ temperature: 1 }), base);
  assert.notEqual(hashOf({ hiddenWeight: 2 }), base);
  assert.notEqual(hashOf(null), base, "a run without KD");
  const otherTeacher = new Supernet({ space: teacherSpace, seed: 99, only: [0, 1, 3] }); // identity at layer 2: a subset of the checkpoint
  assert.notEqual(hashOf({}, otherTeacher, [0, 1, 3]), base, "another teacher arch");

  const dir = tmp();
  const first = mlmDistiller(student);
  await train({ model: student, data, arch: studentArch, distill: first, config, checkpointDir: dir, stopAfter: 1, progress: false });
  first.dispose();
  const changed = mlmDistiller(student, { temperature: 4 });
  await assert.rejects(train({ model: student, data, arch: studentArch, distill: changed, config, checkpointDir: dir, progress: false }), CheckpointError);
  changed.dispose();
  disposeBatches(data.validation);
  student.dispose();
});

test("bad settings and pairings are clear errors before any training", async () => {
  const student = mlmStudent();
  const data = mlmData();
  assert.throws(() => resolveDistillConfig({ lambda: 1.5 }), (e: Error) => e instanceof UserError && /lambda must be in \[0, 1\]/.test(e.message));
  assert.throws(() => resolveDistillConfig({ temperature: 0 }), /temperature must be > 0/);
  assert.throws(() => resolveDistillConfig({ hiddenWeight: -1 }), /hiddenWeight must be >= 0/);
  assert.throws(() => resolveDistillConfig({ alpha: 1 } as Partial<DistillConfig>), /unknown field\(s\) alpha/);
  const otherVocab = new Supernet({ space: { ...teacherSpace, vocabSize: 30 }, seed: 1, only: teacherArch });
  assert.throws(
    () => new Distiller({ student, teacher: { model: otherVocab, arch: teacherArch, checkpointDir: teachers.mlm } }),
    (e: Error) => e instanceof UserError && /teacher gives 30 logits, the student 20/.test(e.message),
  );
  otherVocab.dispose();
  const teacher = mlmTeacherModel();
  assert.throws(() => new Distiller({ student, teacher: { model: teacher, arch: teacherArch, checkpointDir: tmp() } }), CheckpointError);
  assert.throws(() => new Distiller({ student, teacher: { model: student, arch: studentArch, checkpointDir: teachers.mlm } }), /shares variables/);
  assert.throws(() => new Distiller({ student, teacher: { model: teacher, arch: [0, 1], checkpointDir: teachers.mlm } }), /arch has 2 layers/);
  assert.throws(() => new Distiller({ student, teacher: { model: teacher, arch: [0, 1, 3], checkpointDir: teachers.mlm } }), /pass its own arch/);
  const d = mlmDistiller(student, {}, teacher);
  const other = mlmStudent(3);
  await assert.rejects(train({ model: other, data, arch: studentArch, distill: d, config, progress: false }), /another student/);
  const align = { policy: new AnchorPolicy({ kind: "largest" }), loss: (_m: unknown, a: Arch, anchor: Arch, b: MlmBatch, l: number) => alignedLoss(student, a, anchor, b, l) };
  await assert.rejects(
    train({ model: student, data: { ...data, anchorSelection: data.validation }, arch: studentArch, distill: d, align, config, progress: false }),
    /at most one of `align`/,
  );
  d.dispose();
  other.dispose();
  teacher.dispose();
  student.dispose();
  disposeBatches(data.validation);
});
