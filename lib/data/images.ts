// Fashion-MNIST for the CNN search space (lib/nas/cnn-space.ts): gzipped IDX files -> normalised images, a
// validation split carved from train, seeded shuffled and augmented training batches, fixed validation and test
// batches. Every batch is a pure function of (seed, step), so a resumed run sees the same data.
//
// Sources (settings.source):
// - "system": Debian's dataset-fashion-mnist (scripts/setup.sh installs it), the full 60,000 / 10,000 images
//   under /usr/share/datasets/fashion-mnist;
// - "subset": the class-balanced subset committed in data/fashion-mnist (the first 1,200 train and 200 test
//   images of each class in file order, 12,000 / 2,000; data/fashion-mnist/README.md);
// - "auto": the system files when they exist, the subset otherwise (the summary and `source` say which).
// Splits: validation = the last `validationPerClass` training images of each class in file order (no seed: every
// run and seed shares it), train = the rest, test = the official test file.
// Normalisation: pixels / 255, then minus the mean and over the std of the train split (computed at load).
// Augmentation (training batches only, drawn per (seed, step)): a random crop of the image zero-padded by
// `padding` px on each side (offsets uniform in [-padding, padding] on both axes; pad = black, the background),
// then a horizontal flip with probability 1/2. Validation and test images are never augmented.
import * as fs from "node:fs";
import * as path from "node:path";
import * as zlib from "node:zlib";
import * as tf from "@tensorflow/tfjs";
import { currentPreset, type Preset } from "../preset";
import { projectPath } from "../paths";
import { Rng, seedFrom } from "../rng";
import { UserError } from "../errors";

/** Where setup.sh's `apt-get install dataset-fashion-mnist` puts the full data set. */
export const SYSTEM_FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist";
/** The committed class-balanced subset. */
export const SUBSET_FASHION_MNIST_DIR = projectPath("data", "fashion-mnist");

const FILES = {
  system: {
    train: ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"],
    test: ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"],
  },
  subset: {
    train: ["train-12k-images-idx3-ubyte.gz", "train-12k-labels-idx1-ubyte.gz"],
    test: ["test-2k-images-idx3-ubyte.gz", "test-2k-labels-idx1-ubyte.gz"],
  },
} as const;

export const FASHION_MNIST_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];
const NUM_CLASSES = FASHION_MNIST_CLASSES.length;
const IMAGES_MAGIC = 2051;
const LABELS_MAGIC = 2049;

export type ImageSource = "system" | "subset" | "auto";

export interface ImageDataSettings {
  /** Which files to read (see the top of this file). */
  source: ImageSource;
  /** Images per batch (train, validation and test). */
  batchSize: number;
  /** Validation images per class, carved from the end of each class in the train file. */
  validationPerClass: number;
  /** Default seed of the training order and augmentation; runs pass their own seed to `trainBatch`. */
  seed: number;
  /** Random-crop padding in px on each side (0 = no crop). */
  padding: number;
  /** Random horizontal flips (p = 1/2). */
  flip: boolean;
}

const COMMON = { seed: 0, padding: 2, flip: true }; // padding 2: 28 px images, the usual 4 px of 32 px CIFAR scaled down

/**
 * Per-preset defaults: tiny (CI) reads the committed subset; small and paper the full set when installed. The
 * paper CNN space is ImageNet-sized (224x224x3; no ImageNet here), so its data preset does not fit it: the
 * supernet rejects the 28x28x1 images with a clear error.
 */
export const IMAGE_DATA_PRESETS: Record<Preset, ImageDataSettings> = {
  tiny: { ...COMMON, source: "subset", batchSize: 32, validationPerClass: 50 },
  small: { ...COMMON, source: "auto", batchSize: 64, validationPerClass: 500 },
  paper: { ...COMMON, source: "auto", batchSize: 256, validationPerClass: 500 },
};

/** Decoded IDX images and labels of one split. */
export interface IdxSplit {
  /** [n * rows * cols] uint8 pixels, image-major, row-major. */
  pixels: Uint8Array;
  /** [n] class ids 0..9. */
  labels: Uint8Array;
  count: number;
  rows: number;
  cols: number;
}

/** A batch as plain arrays: images [count, 28, 28, 1] float32 (normalised), labels [count] int32. */
export interface ImageArrays {
  images: Float32Array;
  labels: Int32Array;
  count: number;
}

/** One CNN batch; the tensors belong to the caller (the training loop disposes them). */
export interface ImageBatch {
  /** [B, H, W, 1] float32, normalised. */
  images: tf.Tensor4D;
  /** [B] int32 class ids. */
  labels: tf.Tensor1D;
}

const FIX = {
  system: `reinstall it: apt-get install --reinstall dataset-fashion-mnist (or run scripts/setup.sh)`,
  subset: `restore it from git: git checkout -- data/fashion-mnist`,
};

/** Reads one gzipped IDX file and checks its header; a UserError naming the file and the fix otherwise. */
function readIdx(file: string, magic: number, fix: string): { dims: number[]; data: Uint8Array } {
  const bad = (what: string) => new UserError(`${file}: ${what}; ${fix}`);
  if (!fs.existsSync(file)) throw bad("missing");
  let raw: Buffer;
  try {
    raw = zlib.gunzipSync(fs.readFileSync(file));
  } catch (e) {
    throw bad(`not a readable gzip file (${(e as Error).message})`);
  }
  const rank = magic === IMAGES_MAGIC ? 3 : 1;
  const header = 4 + 4 * rank;
  if (raw.length < header) throw bad(`truncated IDX header (${raw.length} bytes)`);
  const found = raw.readUInt32BE(0);
  if (found !== magic) throw bad(`IDX magic number ${found}, expected ${magic} (${magic === IMAGES_MAGIC ? "images" : "labels"})`);
  const dims = Array.from({ length: rank }, (_, i) => raw.readUInt32BE(4 + 4 * i));
  const size = dims.reduce((a, b) => a * b, 1);
  if (raw.length !== header + size) throw bad(`IDX header says ${dims.join("x")} = ${size} bytes of data, the file holds ${raw.length - header}`);
  return { dims, data: new Uint8Array(raw.buffer, raw.byteOffset + header, size) };
}

/** Reads an images file and its labels file (gzipped IDX), checking they match and labels are 0..9. */
export function readIdxPair(imagesFile: string, labelsFile: string, fix = "check the file"): IdxSplit {
  const images = readIdx(imagesFile, IMAGES_MAGIC, fix);
  const labels = readIdx(labelsFile, LABELS_MAGIC, fix);
  const [count, rows, cols] = images.dims;
  if (labels.dims[0] !== count) throw new UserError(`${labelsFile}: ${labels.dims[0]} labels for ${count} images in ${imagesFile}; ${fix}`);
  const badLabel = labels.data.findIndex((l) => l >= NUM_CLASSES);
  if (badLabel >= 0) throw new UserError(`${labelsFile}: label ${labels.data[badLabel]} at index ${badLabel} is not a class 0..9; ${fix}`);
  return { pixels: images.data, labels: labels.data, count, rows, cols };
}

/** The source "auto" resolves to: the system files when all of them exist. */
export function resolveImageSource(source: ImageSource, systemDir = SYSTEM_FASHION_MNIST_DIR): "system" | "subset" {
  if (source !== "auto") return source;
  return [...FILES.system.train, ...FILES.system.test].every((f) => fs.existsSync(path.join(systemDir, f))) ? "system" : "subset";
}

/** Indices of the train file split into train and validation (the last `perClass` of each class). */
function carveValidation(labels: Uint8Array, perClass: number, file: string): { train: number[]; validation: number[] } {
  const byClass: number[][] = Array.from({ length: NUM_CLASSES }, () => []);
  labels.forEach((l, i) => byClass[l].push(i));
  const validation = new Set<number>();
  byClass.forEach((idx, c) => {
    if (idx.length <= perClass) {
      throw new UserError(`${file}: class ${c} has ${idx.length} images, validationPerClass ${perClass} would leave none to train on; lower it`);
    }
    for (const i of idx.slice(idx.length - perClass)) validation.add(i);
  });
  const all = Array.from(labels.keys());
  return { train: all.filter((i) => !validation.has(i)), validation: all.filter((i) => validation.has(i)) };
}

export interface ImageData {
  settings: ImageDataSettings;
  /** The files read ("auto" resolved). */
  source: "system" | "subset";
  dir: string;
  /** Image height, width, channels (28, 28, 1). */
  shape: [number, number, number];
  classes: number;
  /** Images per split. */
  counts: { train: number; validation: number; test: number };
  /** Mean and std of the train split's pixels / 255, used to normalise every split. */
  normalisation: { mean: number; std: number };
  /** Whole training batches per epoch (the last partial batch of an epoch's order is dropped). */
  batchesPerEpoch: number;
  /** Training batch `step` (epoch = floor(step / batchesPerEpoch), order and augmentation drawn from `seed`). */
  trainArrays(step: number, seed?: number): ImageArrays;
  trainBatch(step: number, seed?: number): ImageBatch;
  /** `n` (default: all) fixed validation batches from batch `start`, in file order, not augmented; the last may be partial. */
  validationBatches(n?: number, start?: number): ImageBatch[];
  /** The test split's batches, in file order, not augmented. */
  testBatches(n?: number, start?: number): ImageBatch[];
  /** Whole-or-partial batches per split. */
  numValidationBatches: number;
  numTestBatches: number;
  /** What a run's config hash needs (source, counts, settings). */
  identity: unknown;
  summary: string;
}

export function toImageBatch(a: ImageArrays, shape: [number, number, number]): ImageBatch {
  return {
    images: tf.tensor4d(a.images, [a.count, ...shape]),
    labels: tf.tensor1d(a.labels, "int32"),
  };
}

/** Loads Fashion-MNIST for `preset` (< 1 s for the subset, ~1 s for the full set on 2 cores). */
export function prepareImageData(preset: Preset = currentPreset(), overrides: Partial<ImageDataSettings> = {}, options: { systemDir?: string } = {}): ImageData {
  const settings = { ...IMAGE_DATA_PRESETS[preset], ...overrides };
  if (!Number.isInteger(settings.batchSize) || settings.batchSize < 1) throw new UserError(`image data: batchSize must be a positive integer, got ${settings.batchSize}`);
  if (!Number.isInteger(settings.padding) || settings.padding < 0) throw new UserError(`image data: padding must be an integer >= 0, got ${settings.padding}`);
  if (!Number.isInteger(settings.validationPerClass) || settings.validationPerClass < 1) {
    throw new UserError(`image data: validationPerClass must be a positive integer, got ${settings.validationPerClass}`);
  }
  const systemDir = options.systemDir ?? SYSTEM_FASHION_MNIST_DIR;
  const source = resolveImageSource(settings.source, systemDir);
  const dir = source === "system" ? systemDir : SUBSET_FASHION_MNIST_DIR;
  const files = FILES[source];
  const trainFile = readIdxPair(path.join(dir, files.train[0]), path.join(dir, files.train[1]), FIX[source]);
  const test = readIdxPair(path.join(dir, files.test[0]), path.join(dir, files.test[1]), FIX[source]);
  if (trainFile.rows !== test.rows || trainFile.cols !== test.cols) {
    throw new UserError(`${dir}: train images are ${trainFile.rows}x${trainFile.cols}, test ${test.rows}x${test.cols}; ${FIX[source]}`);
  }
  const { rows: h, cols: w } = trainFile;
  const pixelsPerImage = h * w;
  const split = carveValidation(trainFile.labels, settings.validationPerClass, path.join(dir, files.train[1]));

  let sum = 0, sumSq = 0;
  for (const i of split.train) {
    for (let p = i * pixelsPerImage; p < (i + 1) * pixelsPerImage; p++) {
      const v = trainFile.pixels[p] / 255;
      sum += v;
      sumSq += v * v;
    }
  }
  const n = split.train.length * pixelsPerImage;
  const mean = sum / n;
  const std = Math.sqrt(sumSq / n - mean * mean);
  const background = (0 - mean) / std; // a black (zero) pixel after normalisation: the crop's padding

  /** Copies image `i` of `src` into `out` at image slot `slot`, shifted by (dy, dx) and optionally mirrored. */
  const put = (src: IdxSplit, i: number, out: Float32Array, slot: number, dy = 0, dx = 0, flip = false) => {
    const base = slot * pixelsPerImage;
    for (let y = 0; y < h; y++) {
      const sy = y + dy;
      for (let x = 0; x < w; x++) {
        const sx = (flip ? w - 1 - x : x) + dx;
        out[base + y * w + x] = sy < 0 || sy >= h || sx < 0 || sx >= w ? background : (src.pixels[i * pixelsPerImage + sy * w + sx] / 255 - mean) / std;
      }
    }
  };
  const arrays = (src: IdxSplit, indices: number[], draw?: Rng): ImageArrays => {
    const images = new Float32Array(indices.length * pixelsPerImage);
    indices.forEach((i, slot) => {
      if (!draw) return put(src, i, images, slot);
      const p = settings.padding;
      const dy = p > 0 ? draw.int(2 * p + 1) - p : 0;
      const dx = p > 0 ? draw.int(2 * p + 1) - p : 0;
      put(src, i, images, slot, dy, dx, settings.flip && draw.next() < 0.5);
    });
    return { images, labels: Int32Array.from(indices, (i) => src.labels[i]), count: indices.length };
  };

  const batchesPerEpoch = Math.floor(split.train.length / settings.batchSize);
  if (batchesPerEpoch < 1) throw new UserError(`image data: batchSize ${settings.batchSize} exceeds the ${split.train.length} training images`);
  let cachedOrder: { seed: number; epoch: number; order: number[] } | null = null;
  const epochOrder = (seed: number, epoch: number) => {
    if (!cachedOrder || cachedOrder.seed !== seed || cachedOrder.epoch !== epoch) {
      cachedOrder = { seed, epoch, order: new Rng(seedFrom(seed, epoch)).shuffle([...split.train]) };
    }
    return cachedOrder.order;
  };
  const trainArrays = (step: number, seed = settings.seed): ImageArrays => {
    if (!Number.isInteger(step) || step < 0) throw new Error(`trainArrays: step must be an integer >= 0, got ${step}`);
    const epoch = Math.floor(step / batchesPerEpoch);
    const at = (step % batchesPerEpoch) * settings.batchSize;
    const indices = epochOrder(seed, epoch).slice(at, at + settings.batchSize);
    return arrays(trainFile, indices, new Rng(seedFrom(seed, 0xa06, step)));
  };
  const shape: [number, number, number] = [h, w, 1];
  const fixedBatches = (src: IdxSplit, indices: number[]) => {
    const count = Math.ceil(indices.length / settings.batchSize);
    return {
      count,
      get: (nBatches = count, start = 0) =>
        Array.from({ length: Math.max(0, Math.min(nBatches, count - start)) }, (_, k) => {
          const from = (start + k) * settings.batchSize;
          return toImageBatch(arrays(src, indices.slice(from, from + settings.batchSize)), shape);
        }),
    };
  };
  const validation = fixedBatches(trainFile, split.validation);
  const testSplit = fixedBatches(test, Array.from(test.labels.keys()));
  const counts = { train: split.train.length, validation: split.validation.length, test: test.count };
  return {
    settings,
    source,
    dir,
    shape,
    classes: NUM_CLASSES,
    counts,
    normalisation: { mean, std },
    batchesPerEpoch,
    trainArrays,
    trainBatch: (step, seed) => toImageBatch(trainArrays(step, seed), shape),
    validationBatches: validation.get,
    testBatches: testSplit.get,
    numValidationBatches: validation.count,
    numTestBatches: testSplit.count,
    identity: { dataset: "fashion-mnist", source, counts, settings: { ...settings, source } },
    summary:
      `Fashion-MNIST (${preset}, ${source} files in ${dir}): train ${counts.train} / validation ${counts.validation} / test ${counts.test} images ` +
      `${h}x${w}, B=${settings.batchSize} (${batchesPerEpoch} batches/epoch), crop padding ${settings.padding} px, flip ${settings.flip}`,
  };
}
