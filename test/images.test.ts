// Fashion-MNIST loader on the committed subset: splits, class balance, seeded order and augmentation, and one
// clear error per malformed or missing IDX file.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as zlib from "node:zlib";
import * as tf from "@tensorflow/tfjs";
import { prepareImageData, readIdxPair, resolveImageSource, type ImageArrays } from "../lib/data/images";
import { UserError } from "../lib/errors";

const data = prepareImageData("tiny");
const classCounts = (labels: ArrayLike<number>) => Array.from({ length: 10 }, (_, c) => Array.from(labels).filter((l) => l === c).length);

test("tiny reads the committed subset: split sizes, image shape, normalisation", () => {
  assert.equal(data.source, "subset");
  assert.deepEqual(data.shape, [28, 28, 1]);
  assert.deepEqual(data.counts, { train: 11500, validation: 500, test: 2000 }); // 1,200 - 50 per class to train
  assert.equal(data.batchesPerEpoch, Math.floor(11500 / 32));
  assert.ok(Math.abs(data.normalisation.mean - 0.2866) < 0.01 && Math.abs(data.normalisation.std - 0.354) < 0.01, JSON.stringify(data.normalisation));
});

test("labels are 0-9 and class-balanced in validation and test; an epoch of training batches covers each class 1,150 times", () => {
  const labelsOf = (batches: { labels: tf.Tensor1D; images: tf.Tensor4D }[]) => {
    const out = batches.flatMap((b) => Array.from(b.labels.dataSync()));
    for (const b of batches) {
      assert.deepEqual(b.images.shape.slice(1), [28, 28, 1]);
      tf.dispose([b.images, b.labels]);
    }
    return out;
  };
  assert.deepEqual(classCounts(labelsOf(data.validationBatches())), Array(10).fill(50));
  assert.deepEqual(classCounts(labelsOf(data.testBatches())), Array(10).fill(200));
  // One epoch at batch 500 (23 whole batches = 11,500: nothing dropped) visits every training image once.
  const whole = prepareImageData("tiny", { batchSize: 500 });
  assert.equal(whole.batchesPerEpoch, 23);
  const epoch = Array.from({ length: 23 }, (_, s) => Array.from(whole.trainArrays(s, 5).labels)).flat();
  assert.deepEqual(classCounts(epoch), Array(10).fill(1150));
});

test("training batches: shapes, a pure function of (seed, step), other seeds and steps differ", () => {
  const a = data.trainArrays(3, 11);
  assert.equal(a.count, 32);
  assert.equal(a.images.length, 32 * 28 * 28);
  assert.equal(a.labels.length, 32);
  assert.deepEqual(data.trainArrays(3, 11), a);
  assert.deepEqual(prepareImageData("tiny").trainArrays(3, 11), a, "a fresh loader gives the same batch");
  assert.notDeepEqual(data.trainArrays(3, 12).labels, a.labels);
  assert.notDeepEqual(data.trainArrays(4, 11).labels, a.labels);
  const b = data.trainBatch(0);
  assert.deepEqual(b.images.shape, [32, 28, 28, 1]);
  assert.equal(b.labels.dtype, "int32");
  tf.dispose([b.images, b.labels]);
});

test("augmentation keeps shapes and labels; a flip-only batch holds each image or its mirror", () => {
  const plain = prepareImageData("tiny", { padding: 0, flip: false }).trainArrays(7, 1);
  const flipOnly = prepareImageData("tiny", { padding: 0, flip: true }).trainArrays(7, 1);
  const both = prepareImageData("tiny", { padding: 4, flip: true }).trainArrays(7, 1);
  for (const x of [flipOnly, both]) {
    assert.equal(x.images.length, plain.images.length);
    assert.deepEqual(x.labels, plain.labels, "the order depends on the seed only, not on the augmentation");
  }
  const image = (x: ImageArrays, i: number) => Array.from(x.images.subarray(i * 784, (i + 1) * 784));
  const mirror = (img: number[]) => img.map((_, p) => img[Math.floor(p / 28) * 28 + 27 - (p % 28)]);
  let flipped = 0;
  for (let i = 0; i < plain.count; i++) {
    const [got, original] = [image(flipOnly, i), image(plain, i)];
    const mirrored = mirror(original);
    const same = got.every((v, p) => v === original[p]);
    assert.ok(same || got.every((v, p) => v === mirrored[p]), `image ${i} is neither the original nor its mirror`);
    if (!same) flipped++;
  }
  assert.ok(flipped > 4 && flipped < 28, `${flipped} of 32 flipped`);
  assert.notDeepEqual(both.images, plain.images);
});

/** Writes `bytes` gzipped (or raw) to a temp file named `name`. */
function tempFile(dir: string, name: string, bytes: Buffer, gzip = true): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, gzip ? zlib.gzipSync(bytes) : bytes);
  return file;
}

function idx(magic: number, dims: number[], data: number[]): Buffer {
  const head = Buffer.alloc(4 + 4 * dims.length);
  head.writeUInt32BE(magic, 0);
  dims.forEach((d, i) => head.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([head, Buffer.from(data)]);
}

test("malformed or missing IDX files: one UserError naming the file and the fix", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "magic-idx-"));
  try {
    const images = tempFile(dir, "images.gz", idx(2051, [2, 2, 2], [0, 1, 2, 3, 4, 5, 6, 7]));
    const labels = tempFile(dir, "labels.gz", idx(2049, [2], [3, 9]));
    const ok = readIdxPair(images, labels);
    assert.deepEqual([ok.count, ok.rows, ok.cols, Array.from(ok.labels)], [2, 2, 2, [3, 9]]);
    const cases: [string, string, RegExp][] = [
      [tempFile(dir, "magic.gz", idx(2049, [2, 2, 2], [0, 1, 2, 3, 4, 5, 6, 7])), labels, /magic\.gz: IDX magic number 2049, expected 2051/],
      [tempFile(dir, "short.gz", idx(2051, [2, 2, 2], [0, 1, 2])), labels, /short\.gz: IDX header says 2x2x2 = 8 bytes of data, the file holds 3/],
      [tempFile(dir, "plain.gz", idx(2051, [2, 2, 2], [0, 1, 2, 3, 4, 5, 6, 7]), false), labels, /plain\.gz: not a readable gzip file/],
      [tempFile(dir, "head.gz", Buffer.from([0, 0, 8])), labels, /head\.gz: truncated IDX header/],
      [path.join(dir, "absent.gz"), labels, /absent\.gz: missing/],
      [images, tempFile(dir, "three.gz", idx(2049, [3], [1, 2, 3])), /three\.gz: 3 labels for 2 images/],
      [images, tempFile(dir, "class.gz", idx(2049, [2], [1, 10])), /class\.gz: label 10 at index 1 is not a class 0\.\.9/],
    ];
    for (const [img, lab, message] of cases) {
      assert.throws(() => readIdxPair(img, lab, "the fix"), (e: Error) => e instanceof UserError && message.test(e.message) && /the fix$/.test(e.message));
    }
    // The system source with a broken file names it and says how to reinstall; "auto" without the files uses the subset.
    for (const f of ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]) {
      fs.writeFileSync(path.join(dir, f), "not gzip");
    }
    assert.equal(resolveImageSource("auto", dir), "system");
    assert.throws(
      () => prepareImageData("tiny", { source: "auto" }, { systemDir: dir }),
      (e: Error) => e instanceof UserError && e.message.includes(path.join(dir, "train-images-idx3-ubyte.gz")) && /apt-get install --reinstall dataset-fashion-mnist/.test(e.message),
    );
    assert.equal(resolveImageSource("auto", path.join(dir, "nowhere")), "subset");
    assert.equal(prepareImageData("tiny", { source: "auto" }, { systemDir: path.join(dir, "nowhere") }).source, "subset");
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("bad settings are UserErrors naming the setting", () => {
  assert.throws(() => prepareImageData("tiny", { batchSize: 0 }), (e: Error) => e instanceof UserError && /batchSize/.test(e.message));
  assert.throws(() => prepareImageData("tiny", { padding: -1 }), (e: Error) => e instanceof UserError && /padding/.test(e.message));
  assert.throws(() => prepareImageData("tiny", { validationPerClass: 1200 }), (e: Error) => e instanceof UserError && /class 0 has 1200 images/.test(e.message));
});
