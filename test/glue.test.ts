// GLUE: loaders on small fixtures (a malformed line, a carved dev split), sentence-pair encoding, padded
// batches, padding invariance of the encoder and the classifier on cpu and native (adding padding does not
// change the real tokens' states or the logits), the head's shapes, and a tiny fine-tuning run end to end
// (from scratch and from an MLM checkpoint, resumed from its own checkpoint with identical predictions).
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { carveDev, GLUE_DIR, GLUE_TASKS, glueFiles, loadGlueTask, numLabels, skippedWarnings } from "../lib/data/glue";
import { disposeGlueBatches, encodeExamples, evalBatchIndices, LENGTH_BUCKET, padBatch, toGlueBatch, trainBatchIndices, type GlueBatch } from "../lib/data/glue-batches";
import { loadOrTrainTokenizer } from "../lib/data/tokenizer";
import { DATA_PRESETS, SPECIAL } from "../lib/data";
import { makeSpace, parseArch } from "../lib/nas/space";
import { Supernet } from "../lib/nas/supernet";
import { SequenceClassifier } from "../lib/nas/classifier";
import { loadNativeBackend } from "../lib/native/index";
import { runGlue } from "../lib/experiments/glue";
import { train } from "../lib/train/loop";
import { UserError } from "../lib/errors";
import { Rng } from "../lib/rng";
import { nativeSkip } from "./helpers/native";
import "./helpers/checkout-state";

const SKIP_NATIVE = nativeSkip();

function tempDir(name: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `magic-glue-${name}-`));
}

/** A QQP-format fixture: `rows` valid pairs, a 5-field line at line 3 and a bad label at line 7. */
function qqpFixture(dir: string, rows: number): string {
  const lines: string[] = [];
  for (let i = 0; i < rows; i++) lines.push(`${i}\t${2 * i}\t${2 * i + 1}\tquestion ${i} one?\tquestion ${i} two?\t${i % 3 === 0 ? 1 : 0}`);
  lines.splice(2, 0, "9\t8\t7\twhat is this?\tnot a pair 0"); // line 3: the label glued to question 2, as in the real file
  lines.splice(6, 0, "1\t2\t3\ta?\tb?\tmaybe"); // line 7
  fs.mkdirSync(path.join(dir, "QQP"), { recursive: true });
  const file = path.join(dir, "QQP", "pairs.tsv");
  fs.writeFileSync(file, lines.join("\n") + "\n");
  return file;
}

test("loaders skip malformed rows with one warning naming file, lines and count; carve a fixed dev split", () => {
  const dir = tempDir("qqp");
  const file = qqpFixture(dir, 2100);
  const warnings: string[] = [];
  const splits = loadGlueTask("qqp", { dir, warn: (l) => warnings.push(l) });
  assert.deepEqual(splits.skipped.map((s) => s.line), [3, 7]);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: skipped 2 malformed rows`));
  assert.match(warnings[0], /line 3: expected 6 tab-separated fields, got 5; line 7: bad label 'maybe'/);
  assert.equal(splits.dev.length, 2000);
  assert.equal(splits.train.length, 100);
  const again = loadGlueTask("qqp", { dir, warn: () => undefined });
  assert.deepEqual(again.dev, splits.dev, "the carve is deterministic");
  const all = new Set([...splits.train, ...splits.dev].map((e) => e.a));
  assert.equal(all.size, 2100, "train and dev are disjoint and cover every valid row");
  const number = (e: { a: string }) => Number(e.a.split(" ")[1]);
  assert.ok(splits.train.every((e, i) => i === 0 || number(e) > number(splits.train[i - 1])), "train keeps file order");
  assert.deepEqual(splits.train[0], { a: `question ${number(splits.train[0])} one?`, b: `question ${number(splits.train[0])} two?`, label: number(splits.train[0]) % 3 === 0 ? 1 : 0 });
});

test("loaders read each format: SST-2 header + dev file, STS-B scores, RTE labels, MRPC's BOM", () => {
  const dir = tempDir("formats");
  const write = (rel: string, text: string) => {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), text);
  };
  write("SST-2/train.tsv", "sentence\tlabel\na fine film \t1\na dull one \t0\n");
  write("SST-2/dev.tsv", "sentence\tlabel\ngreat\t1\n\t0\n"); // an empty sentence
  const sst = loadGlueTask("sst2", { dir, warn: () => undefined });
  assert.deepEqual(sst.train, [{ a: "a fine film", label: 1 }, { a: "a dull one", label: 0 }]);
  assert.deepEqual(sst.dev, [{ a: "great", label: 1 }]);
  assert.deepEqual(sst.skipped.map((s) => [path.basename(s.file), s.line, s.reason]), [["dev.tsv", 3, "empty sentence"]]);

  const sts = (score: string) => `0\tg\tf\ty\t1\tn\tn\tA man.\tA person.\t${score}`;
  write("STS-B/train.tsv", ["header", sts("3.800"), sts("5.5"), sts("")].join("\n") + "\n");
  write("STS-B/dev.tsv", ["header", sts("0.000")].join("\n") + "\n");
  const stsb = loadGlueTask("stsb", { dir, warn: () => undefined });
  assert.deepEqual(stsb.train, [{ a: "A man.", b: "A person.", label: 3.8 }]);
  assert.equal(stsb.skipped.length, 2, "scores outside [0, 5] and empty ones are malformed");

  write("RTE/train.tsv", "index\tsentence1\tsentence2\tlabel\n1\tA.\tB.\tentailment\n");
  write("RTE/test.tsv", "index\tsentence1\tsentence2\tlabel\n2\tC.\tD.\tnot_entailment\n");
  write("RTE/dev.tsv", "index\tsentence1\tsentence2\tlabel\n3\tE.\tF.\tnot_entailment\n");
  const rte = loadGlueTask("rte", { dir, warn: () => undefined });
  assert.deepEqual(rte.train.map((e) => e.label), [0, 1]);
  assert.deepEqual(rte.dev, [{ a: "E.", b: "F.", label: 1 }]);

  const mrpcRows = Array.from({ length: 410 }, (_, i) => `${i % 2}\t${i}\t${i + 1}\tS${i} one.\tS${i} two.`);
  write("MRPC/msr_paraphrase_train.txt", `\uFEFFQuality\t#1 ID\t#2 ID\t#1 String\t#2 String\r\n${mrpcRows.join("\r\n")}\r\n`);
  const mrpc = loadGlueTask("mrpc", { dir, warn: () => undefined });
  assert.equal(mrpc.dev.length, 408, "GLUE's dev size");
  assert.equal(mrpc.train.length, 2);
  assert.equal(mrpc.skipped.length, 0, "BOM, header and CRLF are not malformed rows");
});

test("QNLI-style pairs from SQuAD: the answer's sentence, the closest other sentence, whole articles as dev", () => {
  const dir = tempDir("qnli");
  const qa = (id: string, question: string, text: string, start: number, impossible = false) =>
    ({ id, question, is_impossible: impossible, answers: impossible ? [] : [{ text, answer_start: start }] });
  const context = "Paris is the capital of France. The Seine flows through Paris in the north. Lyon is a city.";
  const squad = {
    version: "v2.0",
    data: [
      { title: "A", paragraphs: [{ context, qas: [
        qa("q1", "What river flows through Paris?", "The Seine", 32),
        qa("q2", "What is the capital of Spain?", "", 0, true),
        qa("q3", "Which city is big?", "Lyon", 5), // wrong offset: malformed
      ] }] },
      { title: "B", paragraphs: [{ context: "Only one sentence here.", qas: [qa("q4", "How many sentences?", "one", 5)] }] },
    ],
  };
  fs.mkdirSync(path.join(dir, "QNLI"));
  fs.writeFileSync(path.join(dir, "QNLI", "squad-v2-dev-subset.json"), JSON.stringify(squad));
  const warnings: string[] = [];
  const s = loadGlueTask("qnli", { dir, warn: (l) => warnings.push(l) });
  assert.deepEqual(s.train, [
    { a: "What river flows through Paris?", b: "The Seine flows through Paris in the north.", label: 0 },
    { a: "What river flows through Paris?", b: "Paris is the capital of France.", label: 1 }, // 1 shared word ("paris") vs 0 for "Lyon is a city."
  ]);
  assert.deepEqual(s.dev, [{ a: "How many sentences?", b: "Only one sentence here.", label: 0 }], "a one-sentence paragraph has no negative");
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /squad-v2-dev-subset\.json: skipped 1 malformed row \(line 3: question q3: answer 'Lyon' is not at offset 5\)/);
  assert.equal(numLabels("qnli"), 2);
});

test("a missing data file is a UserError naming it; carveDev and warnings are well-formed", () => {
  const dir = tempDir("missing");
  assert.throws(() => glueFiles("cola", dir), (e: unknown) => e instanceof UserError && /CoLA[/\\]train\.tsv is missing/.test(e.message));
  assert.throws(() => loadGlueTask("rte", { dir }), UserError);
  assert.throws(() => carveDev(5, 5), /cannot carve 5 dev rows from 5/);
  const { train, dev } = carveDev(10, 3, 1);
  assert.deepEqual([...train, ...dev].sort((a, b) => a - b), [...Array(10).keys()]);
  assert.equal(dev.length, 3);
  const many = Array.from({ length: 7 }, (_, i) => ({ file: "f.tsv", line: i + 1, reason: "r" }));
  assert.match(skippedWarnings(many)[0], /^f\.tsv: skipped 7 malformed rows \(line 1: r; .*line 5: r; \.\.\.\)$/);
});

test("the committed GLUE copies load with the documented sizes", () => {
  const sizes: Record<string, [number, number]> = {
    sst2: [20000, 872], mrpc: [3668, 408], stsb: [5749, 1500], qqp: [9999, 2000], rte: [2628, 139], cola: [7508, 1043], qnli: [1128, 248],
  };
  for (const task of GLUE_TASKS) {
    const warnings: string[] = [];
    const s = loadGlueTask(task, { dir: GLUE_DIR, warn: (l) => warnings.push(l) });
    assert.deepEqual([s.train.length, s.dev.length], sizes[task], task);
    assert.equal(warnings.length, task === "qqp" ? 1 : 0, `${task}: ${warnings}`);
  }
});

test("encodePair: [CLS] a [SEP] b [SEP] with segments, longest-first truncation", () => {
  const { tokenizer } = loadOrTrainTokenizer(DATA_PRESETS.tiny.tokenizer);
  const a = tokenizer.encode("the house is red");
  const b = tokenizer.encode("it was");
  const pair = tokenizer.encodePair("the house is red", "it was", 64);
  assert.deepEqual(pair.ids, [SPECIAL.CLS, ...a, SPECIAL.SEP, ...b, SPECIAL.SEP]);
  assert.deepEqual(pair.segments, [...Array(a.length + 2).fill(0), ...Array(b.length + 1).fill(1)]);
  assert.equal(pair.truncated, false);
  const single = tokenizer.encodePair("the house is red", undefined, 64);
  assert.deepEqual(single.ids, [SPECIAL.CLS, ...a, SPECIAL.SEP]);
  assert.ok(single.segments.every((s) => s === 0));
  const cut = tokenizer.encodePair("the house is red", "it was", b.length + 5); // a keeps 2 tokens, b all
  assert.equal(cut.truncated, true);
  assert.deepEqual(cut.ids, [SPECIAL.CLS, ...a.slice(0, 2), SPECIAL.SEP, ...b, SPECIAL.SEP]);
  assert.throws(() => tokenizer.encodePair("a", "b", 4), /maxLen must be an integer >= 5/);
});

test("padded batches: bucketed length, [PAD] after the real tokens, mask, labels; deterministic order", () => {
  const ex = [
    { ids: [2, 10, 3], segments: [0, 0, 0], label: 1 },
    { ids: [2, 11, 12, 13, 3, 14, 3], segments: [0, 0, 0, 0, 0, 1, 1], label: 0 },
    { ids: Array(12).fill(20), segments: Array(12).fill(0), label: 1 },
  ];
  const a = padBatch(ex, [0, 1], 32);
  assert.equal(a.seqLen, LENGTH_BUCKET);
  assert.deepEqual([...a.inputs.slice(0, 8)], [2, 10, 3, SPECIAL.PAD, SPECIAL.PAD, SPECIAL.PAD, SPECIAL.PAD, SPECIAL.PAD]);
  assert.deepEqual([...a.mask.slice(8, 16)], [1, 1, 1, 1, 1, 1, 1, 0]);
  assert.deepEqual([...a.segments.slice(8, 16)], [0, 0, 0, 0, 0, 1, 1, 0]);
  assert.deepEqual([...a.labels], [1, 0]);
  assert.equal(padBatch(ex, [2], 32).seqLen, 16);
  assert.equal(padBatch(ex, [2], 14).seqLen, 14, "capped at maxLen");
  assert.throws(() => padBatch(ex, [2], 10), /12 ids, more than maxLen 10/);
  assert.deepEqual(trainBatchIndices(5, 4, 7, 3), trainBatchIndices(5, 4, 7, 3));
  const epoch = [0, 1, 2, 3, 4].flatMap((s) => trainBatchIndices(5, 1, 7, s));
  assert.deepEqual([...epoch].sort(), [0, 1, 2, 3, 4], "one epoch is a permutation");
  assert.deepEqual(evalBatchIndices(5, 2), [[0, 1], [2, 3], [4]]);
});

// ---- model: padding invariance and shapes ----

const V = 60;
const space = makeSpace("tiny", V);
/** Every op kind with a context: attention (2 and 8 heads) and SepConv (kernels 7 and 3), plus an FFN. */
const ARCHS = [parseArch(space, "att4-conv7-att8-conv3"), parseArch(space, "conv5-att2-ffn64-att4")];

/** Random ids of sequences of `lengths`, [CLS] first. */
function sequences(lengths: number[], seed: number): number[][] {
  const rng = new Rng(seed);
  return lengths.map((n) => [SPECIAL.CLS, ...Array.from({ length: n - 1 }, () => 5 + rng.int(V - 5))]);
}

/** A GlueBatch of `seqs` padded to T, segment 1 on the second half of each sequence. */
function batchOf(seqs: number[][], T: number, labels: number[]): GlueBatch {
  const ex = seqs.map((ids, i) => ({ ids, segments: ids.map((_, j) => (j >= ids.length / 2 ? 1 : 0)), label: labels[i] }));
  const arrays = padBatch(ex, ex.map((_, i) => i), 1000);
  const grow = (src: Int32Array | Float32Array, make: (n: number) => Int32Array | Float32Array) => {
    const out = make(seqs.length * T);
    const S = arrays.seqLen;
    for (let b = 0; b < seqs.length; b++) out.set(src.subarray(b * S, b * S + Math.min(S, T)), b * T); // beyond S: padding
    return out;
  };
  return toGlueBatch({
    batchSize: seqs.length,
    seqLen: T,
    inputs: grow(arrays.inputs, (n) => new Int32Array(n)) as Int32Array,
    segments: grow(arrays.segments, (n) => new Int32Array(n)) as Int32Array,
    mask: grow(arrays.mask, (n) => new Float32Array(n)) as Float32Array,
    labels: arrays.labels,
  }, false);
}

async function useBackend(name: string): Promise<void> {
  if (name === "native") loadNativeBackend();
  await tf.setBackend(name);
  assert.equal(tf.getBackend(), name);
}

for (const backend of ["cpu", "native"]) {
  test(`padding does not change the real tokens' states or the logits (${backend})`, { skip: backend === "native" ? SKIP_NATIVE : false }, async () => {
    await useBackend(backend);
    const lengths = [5, 11, 8];
    const seqs = sequences(lengths, 1);
    for (const arch of ARCHS) {
      const model = new SequenceClassifier({ encoder: new Supernet({ space, seed: 4, only: arch }), numLabels: 3, seed: 2 });
      // Train a few steps first, so that LayerNorm gains and biases are not at their init.
      const validation = [batchOf(seqs, 16, [0, 1, 2])];
      const trained = await train({ model, arch, data: { trainBatch: () => batchOf(seqs, 16, [0, 1, 2]), validation }, config: { steps: 3, lr: 1e-2, evalEvery: 0 }, progress: false });
      assert.ok(Number.isFinite(trained.history.at(-1)!.valAccuracy), "the loop scores a classifier's accuracy");
      disposeGlueBatches(validation);
      const alone = seqs.map((s, i) => batchOf([s], s.length, [i])); // each sequence unpadded
      const padded = [16, 32].map((T) => batchOf(seqs, T, [0, 1, 2]));
      /** The last hidden states [B, T, D] and the logits [B, C] of a batch, as arrays. */
      const run = (b: GlueBatch) => {
        const hidden = model.encoder.hidden(arch, b.inputs, { mask: b.mask });
        const logits = model.logits(arch, b);
        const out = { states: hidden.at(-1)!.arraySync() as number[][][], logits: logits.arraySync() };
        tf.dispose([hidden, logits]);
        return out;
      };
      const reference = alone.map((b) => {
        const r = run(b);
        return [r.states[0], r.logits[0]] as const;
      });
      for (const b of padded) {
        const { states, logits } = run(b);
        seqs.forEach((s, i) => {
          for (let t = 0; t < s.length; t++) {
            states[i][t].forEach((x, j) => assert.ok(Math.abs(x - reference[i][0][t][j]) < 1e-5, `${arch} T=${b.inputs.shape[1]} seq ${i} token ${t}`));
          }
          logits[i].forEach((x, j) => assert.ok(Math.abs(x - reference[i][1][j]) < 1e-5, `${arch} logits seq ${i}: ${x} vs ${reference[i][1][j]}`));
        });
      }
      // Without padding an all-ones mask computes exactly what no mask does (the MLM path).
      const b = alone[1];
      const [masked, plain] = [model.encoder.hidden(arch, b.inputs, { mask: b.mask }), model.encoder.hidden(arch, b.inputs)];
      assert.deepEqual(masked.at(-1)!.dataSync(), plain.at(-1)!.dataSync());
      tf.dispose([masked, plain]);
      disposeGlueBatches([...alone, ...padded]);
      model.dispose();
    }
    await tf.setBackend("cpu");
  });
}

test("the classifier head's shapes, variables and losses", async () => {
  await useBackend("cpu");
  const arch = ARCHS[0];
  const seqs = sequences([4, 9], 3);
  for (const classes of [2, 3, 1]) {
    const before = tf.memory().numTensors;
    const model = new SequenceClassifier({ encoder: new Supernet({ space, seed: 1, only: arch }), numLabels: classes, seed: 1 });
    const batch = batchOf(seqs, 16, classes === 1 ? [0.5, 4.2] : [1, 0]);
    const regressionBatch = classes === 1 ? { ...batch, labels: tf.tensor1d([0.5, 4.2]) } : batch;
    const logits = model.logits(arch, regressionBatch);
    assert.deepEqual(logits.shape, [2, classes]);
    const loss = model.loss(arch, regressionBatch);
    assert.deepEqual(loss.shape, []);
    assert.ok(Number.isFinite(loss.dataSync()[0]));
    const names = [...model.namedVariables().keys()];
    assert.ok(["task/segment", "task/pool/w", "task/pool/b", "task/out/w", "task/out/b"].every((n) => names.includes(n)));
    const trainable = new Set(model.trainableVariables(arch));
    for (const [name, v] of model.namedVariables()) assert.equal(trainable.has(v), !name.startsWith("head/"), `${name} trainable iff not the MLM head`);
    assert.deepEqual(model.namedVariables().get("task/out/w")!.shape, [space.hidden, classes]);
    const preds = model.predict(arch, [regressionBatch]);
    assert.equal(preds.length, 2);
    if (classes > 1) assert.ok(preds.every((p) => Number.isInteger(p) && p >= 0 && p < classes));
    const ev = model.evaluate(arch, [regressionBatch]);
    assert.equal(ev.accuracy === undefined, classes === 1, "accuracy only for classification");
    tf.dispose([logits, loss]);
    if (classes === 1) regressionBatch.labels.dispose();
    disposeGlueBatches([batch]);
    model.dispose();
    assert.equal(tf.memory().numTensors, before, "no tensor leaked");
  }
  assert.equal(numLabels("stsb"), 1);
  assert.equal(numLabels("sst2"), 2);
  assert.throws(() => new SequenceClassifier({ encoder: new Supernet({ space }), numLabels: 2, seed: 0 }), /standalone child/);
});

test("a tiny fine-tuning run end to end: from scratch, resumed, and from an MLM checkpoint", async () => {
  await useBackend("cpu");
  const dir = tempDir("run");
  const rows = (n: number, off: number) => Array.from({ length: n }, (_, i) => `${i % 2 ? "a good , fine film" : "a dull , bad one"} ${i + off}\t${i % 2}`);
  fs.mkdirSync(path.join(dir, "SST-2"));
  fs.writeFileSync(path.join(dir, "SST-2", "train.tsv"), ["sentence\tlabel", ...rows(40, 0)].join("\n") + "\n");
  fs.writeFileSync(path.join(dir, "SST-2", "dev.tsv"), ["sentence\tlabel", ...rows(10, 100), "broken line"].join("\n") + "\n");
  const arch = ARCHS[1];
  const warnings: string[] = [];
  const args = { task: "sst2" as const, arch, preset: "tiny" as const, seed: 3, steps: 4, dataDir: dir, warn: (l: string) => warnings.push(l) };
  const ck = path.join(dir, "ck");
  const first = await runGlue({ ...args, checkpointDir: ck });
  assert.equal(first.task, "sst2");
  assert.deepEqual(Object.keys(first.metrics), ["accuracy"]);
  assert.equal(first.predictions.length, 10);
  assert.deepEqual(first.predictions.map((p) => p.index), [...Array(10).keys()]);
  assert.deepEqual(first.predictions.map((p) => p.label), [0, 1, 0, 1, 0, 1, 0, 1, 0, 1]);
  const hits = first.predictions.filter((p) => p.prediction === p.label).length;
  assert.equal(first.metrics.accuracy, hits / 10);
  assert.equal(first.from, null, "from scratch");
  assert.equal(first.steps, 4);
  assert.ok(warnings.some((w) => /dev\.tsv: skipped 1 malformed row \(line 12/.test(w)), warnings.join("\n"));
  const again = await runGlue({ ...args, checkpointDir: ck });
  assert.deepEqual(again.predictions, first.predictions, "a finished run is scored from its checkpoint");
  assert.equal(again.configHash, first.configHash);

  // An MLM run of the GLUE space (tiny: the preset's space) as the pre-trained encoder.
  const { tokenizer } = loadOrTrainTokenizer(DATA_PRESETS.tiny.tokenizer);
  const mlmSpace = makeSpace("tiny", tokenizer.vocabSize);
  const mlm = new Supernet({ space: mlmSpace, seed: 9, only: arch });
  const T = mlmSpace.seqLen;
  const ids = tf.tensor2d(Array.from({ length: 2 * T }, (_, i) => 5 + (i % 50)), [2, T], "int32");
  const mlmBatch = () => ({ inputs: ids.clone(), labels: ids.clone(), weights: tf.ones([2, T]) as tf.Tensor2D });
  const mlmDir = path.join(dir, "mlm");
  await train({ model: mlm, arch, data: { trainBatch: mlmBatch, validation: [] }, config: { steps: 2, evalEvery: 0 }, checkpointDir: mlmDir, progress: false });
  ids.dispose();
  mlm.dispose();
  const tuned = await runGlue({ ...args, from: mlmDir, checkpointDir: path.join(dir, "ck2") });
  assert.equal(tuned.from?.step, 2);
  assert.notEqual(tuned.configHash, first.configHash, "pre-trained weights make another run");
});
