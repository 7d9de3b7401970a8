// A "space kit": everything the experiments (supernet-run, ground truth, ranking, interference, search) need of a
// search space, so that one runner serves both spaces. A kit is a space definition (hashed) with its ArchSpace
// view (lib/nas/types.ts), a model factory (supernet, or a standalone child, from an init seed), the task (training
// batches by run seed: init, data order and masking / augmentation; the batches children are scored on; anchor
// batches disjoint from those; the ranking score), MAGIC-A's hidden states, and for the CNN BatchNorm
// recalibration before a child is scored.
//   bert: MLM on the corpus; scored on the first validation batches by MLM loss (lower is better); MAGIC-A aligns
//         h_1..h_L (lib/nas/align.ts alignedLoss).
//   cnn:  Fashion-MNIST classification; scored on the first test batches by test accuracy (the score; the
//         ranking key is the error 1 - accuracy, so lower is better in both spaces), the test cross-entropy kept
//         next to it; anchors chosen on validation batches (a split of the training file, disjoint from the test
//         set); MAGIC-A aligns the stage outputs stage by stage (CnnSupernet.alignedLoss); before every score the
//         child's BN statistics are recalibrated on CNN_TASK.calibrationBatches training batches
//         (CnnSupernet.evaluate).
// A BERT kit hashes exactly as the code before kits did (its data identity is the MLM data settings).
import * as tf from "@tensorflow/tfjs";
import type { Preset } from "../preset";
import { UserError } from "../errors";
import { seedFrom } from "../rng";
import { unigramLoss, type BatchRange, type MlmData } from "../data";
import { prepareImageData, type ImageBatch } from "../data/images";
import { bertArchSpace, makeSpace } from "../nas/space";
import { cnnArchSpace, makeCnnSpace, type CnnSpace } from "../nas/cnn-space";
import { Supernet } from "../nas/supernet";
import { CnnSupernet } from "../nas/cnn-supernet";
import { alignedLoss } from "../nas/align";
import type { Arch, ArchSpace, MlmBatch, SearchSpace, TrainableModel } from "../nas/types";

export const SPACE_NAMES = ["bert", "cnn"] as const;
export type SpaceName = (typeof SPACE_NAMES)[number];

/** Validates a --space value: one clear error listing the spaces. */
export function parseSpaceName(raw: string): SpaceName {
  if (!(SPACE_NAMES as readonly string[]).includes(raw)) throw new UserError(`unknown space '${raw}'; use one of: ${SPACE_NAMES.join(", ")}`);
  return raw as SpaceName;
}

/** What a kit's models offer besides training: scores with loss and accuracy, and freeing their variables. */
export interface KitModel<B> extends TrainableModel<B> {
  evaluate(arch: Arch, batches: B[]): { loss: number; accuracy: number };
  dispose(): void;
}

export interface SpaceKit<B extends object = MlmBatch, M extends KitModel<B> = KitModel<B>> {
  readonly name: SpaceName;
  readonly preset: Preset;
  /** The space definition as stored in tables and hashed (BERT: SearchSpace; CNN: CnnSpace). */
  readonly space: object;
  readonly archSpace: ArchSpace;
  /** What the data contributes to a run's hash. */
  readonly dataIdentity: unknown;
  /** A fresh supernet with init seed `seed`, or with `only` the standalone child (CNN: its BN calibration set). */
  model(seed: number, only?: Arch): M;
  /** Training batch `step` of a run with seed `seed`. */
  trainBatch(step: number, seed: number): B;
  /** `count` batches children are scored on (ground truth, supernet ranking, search), from batch `start` (default 0). */
  scoringBatches(count: number, start?: number): B[];
  /** How many scoring batches exist. */
  readonly numScoringBatches: number;
  /** `count` batches MAGIC-A chooses its anchor on, disjoint from the first `scoring` scoring batches; fewer when they run out. */
  anchorBatches(count: number, scoring: number): B[];
  /** Where anchorBatches(count, scoring) sits among the scoring batches, or null when anchors come from another split (CNN). */
  anchorRange(count: number, scoring: number): BatchRange | null;
  /** How many anchor batches exist after `scoring` scoring batches (for a clear error). */
  anchorBatchesAvailable(scoring: number): number;
  /** MAGIC-A's objective: the task loss of `arch` + lambda * the alignment of its hidden states with the anchor's. */
  alignedLoss(model: M, arch: Arch, anchorArch: Arch, batch: B, lambda: number): tf.Scalar;
  /** The ranking key of an evaluation, lower is better: BERT the MLM loss, CNN the error 1 - accuracy. */
  rankScore(e: { loss: number; accuracy: number }): number;
  /** The loss a model that learned nothing reaches on the scoring batches `ranges` (BERT: unigram; CNN: ln classes). */
  lossFloor(ranges: BatchRange[]): number;
  /** Frees batches this kit handed out. */
  disposeBatches(batches: B[]): void;
}

export type BertKit = SpaceKit<MlmBatch, Supernet>;
export type CnnKit = SpaceKit<ImageBatch, CnnSupernet> & { readonly space: CnnSpace };
/** A kit of either space. */
export type AnyKit = BertKit | CnnKit;

/** The BERT kit of `preset` on prepared MLM data. */
export function bertKit(preset: Preset, data: MlmData): BertKit {
  const space = makeSpace(preset, data.vocabSize);
  return {
    name: "bert",
    preset,
    space,
    archSpace: bertArchSpace(space),
    dataIdentity: data.settings,
    model: (seed, only) => new Supernet({ space, seed, only }),
    trainBatch: (step, seed) => data.trainBatch(step, seed),
    scoringBatches: (count, start) => data.validationBatches(count, start),
    numScoringBatches: data.numValidationBatches,
    anchorBatches: (count, scoring) => data.validationBatches(count, scoring),
    anchorRange: (count, scoring) => ({ start: scoring, count }),
    anchorBatchesAvailable: (scoring) => Math.max(0, data.numValidationBatches - scoring),
    alignedLoss: (model, arch, anchor, batch, lambda) => alignedLoss(model, arch, anchor, batch, lambda),
    rankScore: (e) => rankingScore("bert", e),
    lossFloor: (ranges) => unigramLoss(data, ranges),
    disposeBatches: (batches) => tf.dispose(batches.flatMap((b) => [b.inputs, b.labels, b.weights])),
  };
}

/** The CNN task's own settings (our choices), part of every CNN run's hash through the kit's data identity. */
export const CNN_TASK = {
  /** Training batches each child's BN statistics are recalibrated on before it is scored (SPOS uses a few thousand images). */
  calibrationBatches: 4,
  /** Seed of their order and augmentation: the same batches for every child and run. */
  calibrationSeed: 0xb11,
};

/** CNN kits per preset, built once per process (the image data takes ~1 s to load for the full set). */
const cnnKits = new Map<Preset, CnnKit>();

/** The CNN kit of `preset` (Fashion-MNIST; the space of lib/nas/cnn-space.ts CNN_SPACE_PRESETS), one per process. */
export function cnnKit(preset: Preset): CnnKit {
  if (!cnnKits.has(preset)) cnnKits.set(preset, makeCnnKit(preset));
  return cnnKits.get(preset)!;
}

function makeCnnKit(preset: Preset): CnnKit {
  const space = makeCnnSpace(preset);
  const data = prepareImageData(preset);
  const [h, w, c] = data.shape;
  if (h !== space.imageSize || w !== space.imageSize || c !== space.inChannels) {
    throw new UserError(`the cnn space ${space.id} takes ${space.imageSize}x${space.imageSize}x${space.inChannels} images, ` +
      `the ${preset} image data is ${h}x${w}x${c} (the paper preset is ImageNet-sized and not runnable here); use --preset tiny or small`);
  }
  // Kept for the process: every model of this kit recalibrates on them (they are a few small tensors).
  let calibration: ImageBatch[] | null = null;
  const calibrationBatches = () =>
    (calibration ??= Array.from({ length: CNN_TASK.calibrationBatches }, (_, k) => data.trainBatch(k, seedFrom(CNN_TASK.calibrationSeed, 1))));
  return {
    name: "cnn",
    preset,
    space,
    archSpace: cnnArchSpace(space),
    dataIdentity: { ...(data.identity as object), calibration: CNN_TASK },
    model: (seed, only) => {
      const net = new CnnSupernet({ space, seed, only });
      net.setCalibration(calibrationBatches());
      return net;
    },
    trainBatch: (step, seed) => data.trainBatch(step, seed),
    scoringBatches: (count, start) => data.testBatches(count, start),
    numScoringBatches: data.numTestBatches,
    anchorBatches: (count) => data.validationBatches(count),
    anchorRange: () => null, // validation images; children are scored on the test split
    anchorBatchesAvailable: () => data.numValidationBatches,
    alignedLoss: (model, arch, anchor, batch, lambda) => model.alignedLoss(arch, anchor, batch, lambda),
    rankScore: (e) => rankingScore("cnn", e),
    lossFloor: () => Math.log(space.classes),
    disposeBatches: (batches) => tf.dispose(batches.flatMap((b) => [b.images, b.labels])),
  };
}

/** Anything that names a run's space and preset: a ground-truth, ranking or interference config. */
export interface SpaceConfig {
  preset: Preset;
  /** The search space; absent: BERT (so BERT configs, which key committed data, hash as before this field existed). */
  space?: "cnn";
}

/** The space of a config. */
export function spaceOf(config: SpaceConfig): SpaceName {
  return config.space ?? "bert";
}

/**
 * The kit of `config`'s space: a kit passed in is checked against it, MLM data makes the BERT kit (what callers
 * from before kits pass), nothing makes the CNN kit.
 */
export function kitFor(config: SpaceConfig, source?: MlmData | AnyKit): AnyKit {
  const name = spaceOf(config);
  if (source && "archSpace" in source) {
    if (source.name !== name || source.preset !== config.preset) {
      throw new Error(`a ${source.name} ${source.preset} kit was passed for a ${name} ${config.preset} config`);
    }
    return source;
  }
  if (name === "cnn") return cnnKit(config.preset);
  if (!source) throw new Error(`the bert space needs its MLM data (prepareMlmData('${config.preset}'))`);
  return bertKit(config.preset, source);
}

/** The folder name of a preset's tables and runs: `<preset>` for BERT (as before), `cnn-<preset>` for the CNN space. */
export function spaceDir(config: SpaceConfig): string {
  return spaceOf(config) === "cnn" ? `cnn-${config.preset}` : config.preset;
}

/** The ArchSpace of a space definition stored in a table (`config.space` says which). */
export function storedArchSpace(config: SpaceConfig, space: object): ArchSpace {
  return spaceOf(config) === "cnn" ? cnnArchSpace(space as CnnSpace) : bertArchSpace(space as SearchSpace);
}

/** The ranking key of an evaluation in `space`, lower is better: BERT the loss, CNN the error 1 - accuracy (kit.rankScore). */
export function rankingScore(space: SpaceName, e: { loss: number; accuracy: number }): number {
  return space === "cnn" ? 1 - e.accuracy : e.loss;
}

/** The ranking key of a stored evaluation (a ground-truth row of a table of `config`). */
export function storedRankScore(config: SpaceConfig, e: { valLoss: number; valAccuracy: number }): number {
  return rankingScore(spaceOf(config), { loss: e.valLoss, accuracy: e.valAccuracy });
}
