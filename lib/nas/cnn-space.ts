// The CNN search space as data (a MobileNetV2 / ProxylessNAS-style chain): a fixed stem (3x3 conv, BN, ReLU6),
// searchable layers in stages, a fixed head (1x1 conv, BN, ReLU6, global average pool, linear). Each layer picks
// one of the MBConv blocks (kernel 3/5/7 x expansion 3/6) or identity. Architecture utilities (ids, parsing,
// validation, parameter and FLOP counts, random children), no tensors: lib/nas/cnn-supernet.ts builds the model.
//
// Identity (skip) is offered only where it keeps the shape: a layer with stride 1 whose input and output channels
// are equal. The first layer of every stage (stride 2, or a channel change) must pick an MBConv block, so its
// choice set is the six MBConv ops; validateCnnArch rejects identity there. Arch values are indices into the
// space's `ops` list (the same list at every layer, as in the BERT space), restricted per layer by `choices`.
// Identity must be the last op, so a layer's choices are always 0..n-1 (n = 6 or 7): a sampler that draws from
// per-layer counts produces valid archs without knowing which op is which.
import type { Arch } from "./types";
import { archTokens } from "./space";
import type { Preset } from "../preset";
import type { Rng } from "../rng";

/** A candidate op of a searchable layer. */
export type CnnOpSpec =
  | { kind: "mbconv"; name: string; kernel: number; expansion: number }
  | { kind: "identity"; name: string };

/** A stage: `layers` searchable layers with `channels` outputs; the first has stride `stride`, the others 1. */
export interface CnnStage {
  channels: number;
  layers: number;
  stride: 1 | 2;
}

export interface CnnSpace {
  /** Stable identifier, part of checkpoint and result hashes. */
  id: string;
  /** Input images [imageSize, imageSize, inChannels]. */
  imageSize: number;
  inChannels: number;
  classes: number;
  /** Stem: 3x3 conv with this stride and output channels, BN, ReLU6. */
  stem: { channels: number; stride: 1 | 2 };
  stages: CnnStage[];
  /** Head: 1x1 conv to `channels`, BN, ReLU6, global average pool, linear to `classes`. */
  head: { channels: number };
  /** Candidate ops, one list for every layer (restricted per layer, see cnnLayers). */
  ops: CnnOpSpec[];
}

/** One searchable layer's geometry and allowed ops. */
export interface CnnLayer {
  /** Stage index, and position inside the stage. */
  stage: number;
  index: number;
  inChannels: number;
  outChannels: number;
  stride: 1 | 2;
  /** Input and output spatial size (square; 'same' padding: out = ceil(in / stride)). */
  inSize: number;
  outSize: number;
  /** Indices into space.ops this layer may pick (identity only when the shape is kept). */
  choices: number[];
}

/** The MBConv (kernel, expansion) grid and identity: ProxylessNAS's mobile space. */
export function defaultCnnOps(kernels = [3, 5, 7], expansions = [3, 6], identity = true): CnnOpSpec[] {
  const ops: CnnOpSpec[] = [];
  for (const expansion of expansions) {
    for (const kernel of kernels) {
      if (kernel % 2 !== 1) throw new Error(`defaultCnnOps: kernel must be odd, got ${kernel}`);
      ops.push({ kind: "mbconv", name: `k${kernel}e${expansion}`, kernel, expansion });
    }
  }
  if (identity) ops.push({ kind: "identity", name: "skip" });
  return ops;
}

/**
 * Space sizes per preset. tiny (CI): 4 layers on 28x28x1 Fashion-MNIST, two stride-2 stages. small (the CPU
 * experiments): 8 layers in three stride-2 stages (28 -> 14 -> 7 -> 4). paper: ProxylessNAS's mobile backbone on
 * 224x224x3 ImageNet (stem 32 stride 2; stages 24x4, 40x4, 80x4, 96x4 stride 1, 192x4, 320x1; head 1280; 1000
 * classes; 21 layers; ProxylessNAS's fixed first MBConv1 block is left out): for counts, not run here.
 */
export const CNN_SPACE_PRESETS: Record<Preset, CnnSpace> = {
  tiny: {
    id: "cnn-tiny-L4-28x28",
    imageSize: 28, inChannels: 1, classes: 10,
    stem: { channels: 8, stride: 1 },
    stages: [{ channels: 16, layers: 2, stride: 2 }, { channels: 24, layers: 2, stride: 2 }],
    head: { channels: 64 },
    ops: defaultCnnOps(),
  },
  small: {
    id: "cnn-small-L8-28x28",
    imageSize: 28, inChannels: 1, classes: 10,
    stem: { channels: 16, stride: 1 },
    stages: [{ channels: 24, layers: 2, stride: 2 }, { channels: 32, layers: 3, stride: 2 }, { channels: 64, layers: 3, stride: 2 }],
    head: { channels: 256 },
    ops: defaultCnnOps(),
  },
  paper: {
    id: "cnn-paper-L21-224x224",
    imageSize: 224, inChannels: 3, classes: 1000,
    stem: { channels: 32, stride: 2 },
    stages: [
      { channels: 24, layers: 4, stride: 2 },
      { channels: 40, layers: 4, stride: 2 },
      { channels: 80, layers: 4, stride: 2 },
      { channels: 96, layers: 4, stride: 1 },
      { channels: 192, layers: 4, stride: 2 },
      { channels: 320, layers: 1, stride: 1 },
    ],
    head: { channels: 1280 },
    ops: defaultCnnOps(),
  },
};

/** A copy of the preset's space, checked. */
export function makeCnnSpace(p: Preset): CnnSpace {
  const space: CnnSpace = structuredClone(CNN_SPACE_PRESETS[p]);
  checkCnnSpace(space);
  return space;
}

const outSize = (size: number, stride: number) => Math.ceil(size / stride);

/** Throws unless op names are unique and '-'-free, sizes positive, and every layer has at least one choice. */
export function checkCnnSpace(space: CnnSpace): void {
  const names = new Set<string>();
  for (const op of space.ops) {
    if (!op.name || op.name.includes("-") || names.has(op.name)) {
      throw new Error(`space ${space.id}: op name '${op.name}' must be non-empty, unique and without '-'`);
    }
    names.add(op.name);
    if (op.kind === "identity" && op !== space.ops[space.ops.length - 1]) {
      throw new Error(`space ${space.id}: the identity op '${op.name}' must be the last op (layers that change shape then choose among 0..n-2)`);
    }
    if (op.kind === "mbconv" && (op.kernel % 2 !== 1 || op.kernel < 1 || !Number.isInteger(op.expansion) || op.expansion < 1)) {
      throw new Error(`space ${space.id}: op ${op.name} needs an odd kernel and an integer expansion >= 1`);
    }
  }
  const sizes = [space.imageSize, space.inChannels, space.classes, space.stem.channels, space.head.channels];
  if (sizes.some((n) => !Number.isInteger(n) || n < 1)) throw new Error(`space ${space.id}: sizes must be positive integers`);
  if (space.stages.length === 0 || space.stages.some((s) => s.layers < 1 || s.channels < 1 || (s.stride !== 1 && s.stride !== 2))) {
    throw new Error(`space ${space.id}: needs >= 1 stage, each with >= 1 layer, channels >= 1 and stride 1 or 2`);
  }
  cnnLayers(space).forEach((layer, l) => {
    if (layer.choices.length === 0) throw new Error(`space ${space.id}: layer ${l} changes shape and the space has no MBConv op`);
  });
}

/** The searchable layers in order, with their geometry and allowed ops. */
export function cnnLayers(space: CnnSpace): CnnLayer[] {
  const layers: CnnLayer[] = [];
  let channels = space.stem.channels;
  let size = outSize(space.imageSize, space.stem.stride);
  space.stages.forEach((stage, s) => {
    for (let i = 0; i < stage.layers; i++) {
      const stride = i === 0 ? stage.stride : 1;
      const keepsShape = stride === 1 && channels === stage.channels;
      const choices = space.ops.flatMap((op, k) => (op.kind === "mbconv" || keepsShape ? [k] : []));
      layers.push({ stage: s, index: i, inChannels: channels, outChannels: stage.channels, stride, inSize: size, outSize: outSize(size, stride), choices });
      channels = stage.channels;
      size = outSize(size, stride);
    }
  });
  return layers;
}

function allowed(space: CnnSpace, layer: CnnLayer): string {
  return layer.choices.map((k) => `${k}=${space.ops[k].name}`).join(", ");
}

/** Throws a clear error (which layer, which value, what is allowed there and why) unless `arch` is a child. */
export function validateCnnArch(space: CnnSpace, arch: unknown): asserts arch is Arch {
  const layers = cnnLayers(space);
  if (!Array.isArray(arch) || arch.length !== layers.length) {
    throw new Error(`arch must be an array of ${layers.length} op indices (space ${space.id}), got ${JSON.stringify(arch)}`);
  }
  arch.forEach((v, l) => {
    const layer = layers[l];
    if (!Number.isInteger(v) || !layer.choices.includes(v as number)) {
      const why = layer.choices.length < space.ops.length
        ? ` (layer ${l} starts stage ${layer.stage}: stride ${layer.stride}, ${layer.inChannels} -> ${layer.outChannels} channels, so no identity)`
        : "";
      throw new Error(`arch layer ${l}: value ${JSON.stringify(v)} is not allowed; allowed ${allowed(space, layer)}${why}`);
    }
  });
}

/** Stable readable id: op names joined by '-', e.g. `k3e6-skip-k5e3-k7e6`. */
export function cnnArchId(space: CnnSpace, arch: Arch): string {
  validateCnnArch(space, arch);
  return arch.map((i) => space.ops[i].name).join("-");
}

/** Accepts a `cnnArchId`, or a JSON array of op indices and/or op names. */
export function parseCnnArch(space: CnnSpace, text: string): Arch {
  const arch = archTokens(space, text);
  validateCnnArch(space, arch);
  return arch;
}

/** A conv + BN: the conv's weights (no bias, BN follows) and BN's gamma and beta (running statistics are not parameters). */
const convBnParams = (k: number, cin: number, cout: number, depthwise = false) => k * k * (depthwise ? 1 : cin) * cout + 2 * cout;

/**
 * Parameters of op `op` at `layer`: MBConv = expand 1x1 conv+BN (absent at expansion 1, as in MobileNetV2),
 * depthwise kxk conv+BN, project 1x1 conv+BN.
 */
export function cnnOpParamCount(layer: CnnLayer, op: CnnOpSpec): number {
  if (op.kind === "identity") return 0;
  const hidden = layer.inChannels * op.expansion;
  return (op.expansion === 1 ? 0 : convBnParams(1, layer.inChannels, hidden)) + convBnParams(op.kernel, hidden, hidden, true) + convBnParams(1, hidden, layer.outChannels);
}

/** Parameters every child shares: stem conv+BN, head 1x1 conv+BN, linear classifier. */
export function cnnSharedParamCount(space: CnnSpace): number {
  const last = space.stages[space.stages.length - 1].channels;
  return convBnParams(3, space.inChannels, space.stem.channels) + convBnParams(1, last, space.head.channels) + space.head.channels * space.classes + space.classes;
}

/** Parameters of child `arch`. Equals the size of `CnnSupernet.trainableVariables(arch)`. */
export function cnnParamCount(space: CnnSpace, arch: Arch): number {
  validateCnnArch(space, arch);
  const layers = cnnLayers(space);
  return cnnSharedParamCount(space) + arch.reduce((n, k, l) => n + cnnOpParamCount(layers[l], space.ops[k]), 0);
}

/** Forward multiply-adds of op `op` at `layer` on one image: expand at the input size, depthwise and project at the output size. */
export function cnnOpMacs(layer: CnnLayer, op: CnnOpSpec): number {
  if (op.kind === "identity") return 0;
  const hidden = layer.inChannels * op.expansion;
  const hw = layer.inSize ** 2, out = layer.outSize ** 2;
  return (op.expansion === 1 ? 0 : hw * layer.inChannels * hidden) + out * hidden * op.kernel ** 2 + out * hidden * layer.outChannels;
}

/**
 * Forward FLOPs of child `arch` on one image, 2 x the multiply-adds of convolutions and the linear layer (BN,
 * ReLU6, residual adds and pooling ignored, as in the MobileNet papers' counts, which report the MACs: halve this).
 */
export function cnnFlops(space: CnnSpace, arch: Arch): number {
  validateCnnArch(space, arch);
  const layers = cnnLayers(space);
  const stemSize = outSize(space.imageSize, space.stem.stride);
  const last = layers[layers.length - 1];
  let macs = stemSize ** 2 * 9 * space.inChannels * space.stem.channels;
  macs += last.outSize ** 2 * last.outChannels * space.head.channels + space.head.channels * space.classes;
  arch.forEach((k, l) => (macs += cnnOpMacs(layers[l], space.ops[k])));
  return 2 * macs;
}

/** A uniformly random child: each layer's op uniform over that layer's choices. */
export function randomCnnArch(space: CnnSpace, rng: Rng): Arch {
  return cnnLayers(space).map((layer) => layer.choices[rng.int(layer.choices.length)]);
}
