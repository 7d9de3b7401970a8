// Data layer: corpus normalisation and split, WordPiece tokenizer and its cache, BERT masking, seeded and
// resumable batch order, and the per-preset entry point.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Rng } from "../lib/rng";
import { loadCorpus, normalizeText, splitSentences, stripBrownTags, type Corpus } from "../lib/data/corpus";
import { loadOrTrainTokenizer, TOKENIZER_CACHE_DIR, tokenizerFileName, resolveTokenizerSettings } from "../lib/data/tokenizer";
import { NUM_SPECIAL, pretokenize, SPECIAL, trainWordPiece, type WordPieceTokenizer } from "../lib/data/wordpiece";
import {
  maskTokens,
  PackedSequences,
  trainBatchArrays,
  validationBatchArrays,
  validationBatchCount,
  type MlmArrays,
} from "../lib/data/mlm";
import { DATA_PRESETS, prepareMlmData } from "../lib/data";

let corpus: Corpus;
let tokenizer: WordPieceTokenizer;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "magic-data-"));

before(() => {
  corpus = loadCorpus();
  tokenizer = loadOrTrainTokenizer({ vocabSize: 512 }, { cacheDir: tmp, corpus }).tokenizer;
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

test("Brown tags are stripped, text is normalised and lower-cased", () => {
  assert.equal(stripBrownTags("\tThe/at Fulton/np-tl ``/`` 1/2/cd ''/'' ./."), 'The Fulton " 1/2 " .');
  assert.equal(normalizeText("  It\u2019s  \u201cTHE\u201d Union\u2014Now\n"), `it's "the" union-now`);
  assert.ok(corpus.train[0].startsWith("the fulton county grand jury said friday"));
  for (const s of corpus.train.slice(0, 2000)) {
    assert.equal(s, s.toLowerCase());
    assert.ok(!/\/(at|nn|in|vbd|np)\b/.test(s), `tag left in: ${s}`);
  }
  assert.deepEqual(splitSentences("Mr. Smith came. He left! Why? (Applause.) The end"), [
    "Mr. Smith came.",
    "He left!",
    "Why?",
    "(Applause.)",
    "The end",
  ]);
});

test("the train/validation split is deterministic, disjoint, complete and by document", () => {
  const again = loadCorpus();
  assert.deepEqual(again.validationIds, corpus.validationIds);
  assert.equal(again.train.length, corpus.train.length);
  const valid = new Set(corpus.validationIds);
  assert.ok(corpus.trainIds.every((id) => !valid.has(id)));
  assert.equal(corpus.trainIds.length + corpus.validationIds.length, 500 + 233); // Brown files + SOTU addresses (1790-2021)
  const fraction = corpus.validationIds.length / (corpus.trainIds.length + corpus.validationIds.length);
  assert.ok(fraction > 0.03 && fraction < 0.08, `validation fraction ${fraction}`);
  assert.ok(corpus.stats.train.words > 2_500_000 && corpus.stats.validation.words > 50_000);
  // A larger fraction only moves documents from train to validation (the hash threshold grows).
  const brown = loadCorpus({ sources: ["brown"], validationFraction: 0.2 });
  assert.ok(corpus.validationIds.filter((id) => id.startsWith("brown/")).every((id) => brown.validationIds.includes(id)));
  assert.ok(brown.validationIds.length > 70 && brown.validationIds.length < 130);
});

test("tokenizer: vocab size honoured, specials fixed, round trip, [UNK] for unknown characters", () => {
  assert.equal(tokenizer.vocabSize, 512);
  assert.deepEqual(tokenizer.vocab.slice(0, NUM_SPECIAL), ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]);
  let checked = 0;
  for (const s of corpus.validation.slice(0, 500)) {
    const ids = tokenizer.encode(s);
    assert.ok(ids.every((id) => Number.isInteger(id) && id >= SPECIAL.UNK && id < 512 && (id === SPECIAL.UNK || id >= NUM_SPECIAL)));
    if (ids.includes(SPECIAL.UNK)) continue;
    assert.equal(tokenizer.decode(ids), pretokenize(normalizeText(s)).join(" "));
    checked++;
  }
  assert.ok(checked > 480);
  assert.equal(tokenizer.decode(tokenizer.encode("The Union, today!")), "the union , today !");
  const ids = tokenizer.encode("peace \u4e2d\u6587 and \u00e6ther");
  assert.deepEqual(ids.filter((id) => id === SPECIAL.UNK).length, 2);
  assert.equal(tokenizer.decode(ids), "peace [UNK] and [UNK]");
});

test("WordPiece training is deterministic and stops when no pairs are left", () => {
  const counts = new Map([["abc", 5], ["abd", 3], ["bc", 2], ["x", 1]]);
  const a = trainWordPiece(counts, { vocabSize: 100, minCharCount: 1 });
  const b = trainWordPiece(new Map([...counts].reverse()), { vocabSize: 100, minCharCount: 1 });
  assert.deepEqual(a.vocab, b.vocab);
  assert.ok(a.vocabSize < 100);
  for (const w of counts.keys()) assert.deepEqual(a.encodeWord(w), [a.tokenToId(w)]);
  assert.throws(() => trainWordPiece(counts, { vocabSize: 8, minCharCount: 1 }), /alphabet/);
});

test("tokenizer cache: reload is identical, atomic, and the committed tiny vocabulary is reproducible", () => {
  const again = loadOrTrainTokenizer({ vocabSize: 512 }, { cacheDir: tmp });
  assert.equal(again.cached, true);
  assert.deepEqual(again.tokenizer.vocab, tokenizer.vocab);
  assert.deepEqual(fs.readdirSync(tmp), [tokenizerFileName(resolveTokenizerSettings({ vocabSize: 512 }))]);
  const tiny = DATA_PRESETS.tiny.tokenizer;
  const committed = path.join(TOKENIZER_CACHE_DIR, tokenizerFileName(resolveTokenizerSettings(tiny)));
  assert.ok(fs.existsSync(committed), `missing committed cache ${committed}`);
  const retrained = loadOrTrainTokenizer(tiny, { cacheDir: path.join(tmp, "retrain"), corpus });
  assert.equal(retrained.cached, false);
  assert.deepEqual(retrained.tokenizer.vocab, JSON.parse(fs.readFileSync(committed, "utf8")).vocab);
});

/** Rows of T=128: [CLS] 125 random ids [SEP] [PAD]. */
function syntheticRows(rows: number, vocabSize: number, seed: number): Int32Array {
  const rng = new Rng(seed);
  const T = 128;
  const out = new Int32Array(rows * T);
  for (let r = 0; r < rows; r++) {
    out[r * T] = SPECIAL.CLS;
    for (let t = 1; t < T - 2; t++) out[r * T + t] = NUM_SPECIAL + rng.int(vocabSize - NUM_SPECIAL);
    out[r * T + T - 2] = SPECIAL.SEP;
    out[r * T + T - 1] = SPECIAL.PAD;
  }
  return out;
}

test("masking: 15 % selected, 80/10/10 of them, specials and padding never touched", () => {
  const V = 1000;
  const tokens = syntheticRows(1600, V, 7); // 200k ids
  const m = maskTokens(tokens, 128, V, new Rng(11));
  let eligible = 0, selected = 0, masked = 0, random = 0, kept = 0;
  for (let p = 0; p < tokens.length; p++) {
    assert.equal(m.labels[p], tokens[p]);
    if (tokens[p] < NUM_SPECIAL) {
      assert.equal(m.weights[p], 0);
      assert.equal(m.inputs[p], tokens[p]);
      continue;
    }
    eligible++;
    if (m.weights[p] === 0) {
      assert.equal(m.inputs[p], tokens[p]);
      continue;
    }
    selected++;
    if (m.inputs[p] === SPECIAL.MASK) masked++;
    else if (m.inputs[p] === tokens[p]) kept++;
    else {
      assert.ok(m.inputs[p] >= NUM_SPECIAL && m.inputs[p] < V);
      random++;
    }
  }
  assert.ok(Math.abs(selected / eligible - 0.15) < 0.01, `selected ${selected / eligible}`);
  assert.ok(Math.abs(masked / selected - 0.8) < 0.03, `masked ${masked / selected}`);
  assert.ok(Math.abs(random / selected - 0.1) < 0.03, `random ${random / selected}`);
  assert.ok(Math.abs(kept / selected - 0.1) < 0.03, `kept ${kept / selected}`);
  // Short rows: every row still gets a prediction target.
  const short = maskTokens(Int32Array.from([2, 9, 10, 3, 2, 11, 0, 0]), 4, V, new Rng(1));
  assert.ok(short.weights.subarray(0, 4).some((w) => w === 1) && short.weights.subarray(4).some((w) => w === 1));
  assert.deepEqual([...short.weights], [0, short.weights[1], short.weights[2], 0, 0, 1, 0, 0]);
});

/** A stream whose rows are recognisable: row i holds ids 5 + i(T-2) .. */
function numberedRows(rows: number, T: number): PackedSequences {
  return new PackedSequences(Int32Array.from({ length: rows * (T - 2) + 3 }, (_, i) => NUM_SPECIAL + i), T);
}
const rowOf = (a: MlmArrays, b: number) => (a.labels[b * a.seqLen + 1] - NUM_SPECIAL) / (a.seqLen - 2);
const same = (a: MlmArrays, b: MlmArrays) =>
  a.inputs.every((x, i) => x === b.inputs[i]) && a.labels.every((x, i) => x === b.labels[i]) && a.weights.every((x, i) => x === b.weights[i]);

test("training batches: a function of (seed, step), resumable at any step, each epoch a permutation", () => {
  const opts = { batchSize: 4, vocabSize: 1_000_000 };
  const data = numberedRows(40, 16);
  assert.equal(data.count, 40);
  const run = (seed: number) => Array.from({ length: 25 }, (_, k) => trainBatchArrays(data, seed, k, opts));
  const a = run(3);
  const b = run(3);
  assert.ok(a.every((x, k) => same(x, b[k])));
  const c = run(4);
  assert.ok(a.some((x, k) => !same(x, c[k])));
  // Batch 17 from a fresh stream object (no history, no memoised permutation) equals the one above.
  assert.ok(same(trainBatchArrays(numberedRows(40, 16), 3, 17, opts), a[17]));
  const epoch0 = a.slice(0, 10).flatMap((x) => [0, 1, 2, 3].map((i) => rowOf(x, i)));
  const epoch1 = a.slice(10, 20).flatMap((x) => [0, 1, 2, 3].map((i) => rowOf(x, i)));
  assert.deepEqual([...epoch0].sort((p, q) => p - q), Array.from({ length: 40 }, (_, i) => i));
  assert.deepEqual([...epoch1].sort((p, q) => p - q), Array.from({ length: 40 }, (_, i) => i));
  assert.notDeepEqual(epoch0, epoch1);
  // Rows are [CLS] body [SEP].
  assert.equal(a[0].labels[0], SPECIAL.CLS);
  assert.equal(a[0].labels[15], SPECIAL.SEP);
});

test("validation batches: rows in order, masking fixed, independent of the training seed", () => {
  const data = numberedRows(40, 16);
  const opts = { batchSize: 8, vocabSize: 1_000_000 };
  assert.equal(validationBatchCount(data, 8), 5);
  const v = validationBatchArrays(data, 9, 2, opts);
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 7].map((i) => rowOf(v, i)), [16, 17, 18, 19, 20, 21, 22, 23]);
  assert.ok(same(v, validationBatchArrays(numberedRows(40, 16), 9, 2, opts)));
  assert.throws(() => validationBatchArrays(data, 9, 5, opts), /outside/);
});

test("prepareMlmData(tiny): cached tokenizer, tensors of the contract, reproducible batches", () => {
  const d = prepareMlmData("tiny");
  assert.equal(d.vocabSize, 1024);
  assert.equal(d.stats.tokenizerCached, true);
  const batch = d.trainBatch(5);
  assert.deepEqual(batch.inputs.shape, [8, 32]);
  assert.equal(batch.inputs.dtype, "int32");
  assert.equal(batch.labels.dtype, "int32");
  assert.equal(batch.weights.dtype, "float32");
  assert.deepEqual([...batch.inputs.dataSync()], [...d.trainArrays(5).inputs]);
  assert.ok(batch.weights.dataSync().some((w) => w === 1));
  for (const t of [batch.inputs, batch.labels, batch.weights]) t.dispose();
  const other = prepareMlmData("tiny", { seed: 1 });
  assert.ok(!same(other.trainArrays(5), d.trainArrays(5)));
  const v1 = d.validationArrays(2);
  const v2 = other.validationArrays(2);
  assert.equal(v1.length, 2);
  assert.ok(same(v1[0], v2[0]) && same(v1[1], v2[1]));
  const tensors = d.validationBatches(1);
  assert.deepEqual(tensors[0].labels.shape, [8, 32]);
  tensors.forEach((b) => [b.inputs, b.labels, b.weights].forEach((t) => t.dispose()));
});
