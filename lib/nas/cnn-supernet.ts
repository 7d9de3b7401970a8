// The weight-sharing CNN supernet over lib/nas/cnn-space.ts: a shared stem and head, plus one block per (layer,
// op) that owns its weights and its BatchNorms exactly once; every child picking op k at layer l runs the very
// same tf.Variable objects (SPOS / ProxylessNAS sharing, the BERT supernet's scheme: ops of one layer share
// nothing with each other, so "two children share an op" means the same thing in both spaces). A standalone
// child is the same class with only its own blocks (`only`), same variable names, as in lib/nas/supernet.ts.
//
// BatchNorm and weight sharing. Training (loss) normalises with each batch's own statistics and changes no
// state: the running statistics of a shared BN would mix the activations of every child that passed through it,
// which match none of them. Before a child is scored, `recalibrate` recomputes the running statistics of the BNs
// that child uses (stem, its ops, head) from a few training batches: batch k's mean and unbiased variance enter
// with momentum 1 / (k + 1), so the result is their plain average over the calibration batches, independent of
// whatever was stored before (SPOS, Guo et al. 2020; OFA's "BN recalibration"). `evaluate` then normalises with
// those statistics (inference mode). Running statistics are derived state: not in namedVariables, never
// checkpointed, never trained.
import * as tf from "@tensorflow/tfjs";
import type { Arch, TrainableModel } from "./types";
import { checkCnnSpace, cnnLayers, validateCnnArch, type CnnLayer, type CnnOpSpec, type CnnSpace } from "./cnn-space";
import { batchNormTrain, updateRunningStats, type BatchNormResult } from "../native/batchnorm";
import { sparseSoftmaxCrossEntropyRows } from "../native/losses";
import { seedFrom } from "../rng";
import type { ImageBatch } from "../data/images";
import { UserError } from "../errors";

export interface CnnSupernetArgs {
  space: CnnSpace;
  /** Weight-init seed; block (l, k) uses `seedFrom(seed, l, k)`, stem and head `seedFrom(seed, -1)`. */
  seed?: number;
  /** BatchNorm epsilon (default 1e-5, PyTorch's). */
  bnEps?: number;
  /** Instantiate only the blocks this child uses (a standalone child); other archs are then rejected. */
  only?: Arch;
}

const DEFAULTS = { seed: 0, bnEps: 1e-5 };

/** How a forward normalises: with the batch's statistics (training), recording them (recalibration), or the running ones. */
type BnMode = { kind: "train" } | { kind: "calibrate"; momentum: number } | { kind: "infer" };

/** Creates named variables in order, each random one from its own derived seed (truncated normal, cut at 2 std). */
class CnnParams {
  readonly params = new Map<string, tf.Variable>();
  readonly stats = new Map<string, tf.Variable>();
  private k = 0;

  constructor(private readonly seed: number) {}

  /** A weight of `shape`, truncated normal with this std. */
  normal(name: string, shape: number[], std: number): tf.Variable {
    const seed = seedFrom(this.seed, this.k++);
    return this.add(this.params, name, tf.tidy(() => tf.truncatedNormal(shape, 0, std, "float32", seed)));
  }

  constant(name: string, shape: number[], value: number, trainable = true): tf.Variable {
    this.k++;
    return this.add(trainable ? this.params : this.stats, name, tf.fill(shape, value));
  }

  private add(into: Map<string, tf.Variable>, name: string, value: tf.Tensor): tf.Variable {
    if (this.params.has(name) || this.stats.has(name)) throw new Error(`CnnParams: duplicate parameter ${name}`);
    const v = tf.variable(value, into === this.params); // unnamed: several models coexist in a process
    value.dispose();
    into.set(name, v);
    return v;
  }
}

/** A BatchNorm layer: gamma, beta (trained) and running mean, variance (set by recalibration only). */
class Bn {
  private readonly gamma: tf.Variable;
  private readonly beta: tf.Variable;
  private readonly mean: tf.Variable;
  private readonly variance: tf.Variable;

  constructor(f: CnnParams, name: string, channels: number, private readonly eps: number) {
    this.gamma = f.constant(`${name}/gamma`, [channels], 1);
    this.beta = f.constant(`${name}/beta`, [channels], 0);
    this.mean = f.constant(`${name}/mean`, [channels], 0, false);
    this.variance = f.constant(`${name}/variance`, [channels], 1, false);
  }

  apply(x: tf.Tensor4D, relu6: boolean, mode: BnMode): tf.Tensor4D {
    if (mode.kind === "infer") {
      // x * scale + shift, then min(relu(y), 6): ops the native backend runs natively (tf.batchNorm and
      // tf.clipByValue fall back to the cpu kernels there, ~3x slower at these sizes).
      const scale = tf.mul(this.gamma, tf.rsqrt(tf.add(this.variance, this.eps))); // [C]
      const y = tf.add(tf.mul(x, scale), tf.sub(this.beta, tf.mul(this.mean, scale)));
      return (relu6 ? tf.minimum(tf.relu(y), 6) : y) as tf.Tensor4D;
    }
    const out: BatchNormResult = batchNormTrain(x, this.gamma as tf.Tensor1D, this.beta as tf.Tensor1D, { eps: this.eps, relu6 });
    if (mode.kind === "calibrate") updateRunningStats({ mean: this.mean, variance: this.variance }, out, mode.momentum);
    return out.y as tf.Tensor4D;
  }
}

/** A conv (no bias, BN follows) and its BN. */
class ConvBn {
  readonly filter: tf.Variable;
  readonly bn: Bn;

  constructor(f: CnnParams, name: string, private readonly geom: { k: number; cin: number; cout: number; stride: number; depthwise?: boolean }, eps: number) {
    const { k, cin, cout, depthwise } = geom;
    const fanIn = depthwise ? k * k : k * k * cin;
    this.filter = f.normal(`${name}/w`, [k, k, cin, depthwise ? 1 : cout], Math.sqrt(2 / fanIn)); // He init (ReLU-like activations)
    this.bn = new Bn(f, `${name}/bn`, cout, eps);
  }

  apply(x: tf.Tensor4D, relu6: boolean, mode: BnMode): tf.Tensor4D {
    const { stride, depthwise } = this.geom;
    const y = depthwise
      ? tf.depthwiseConv2d(x, this.filter as tf.Tensor4D, stride, "same")
      : tf.conv2d(x, this.filter as tf.Tensor4D, stride, "same");
    return this.bn.apply(y, relu6, mode);
  }
}

/** One MBConv op at one layer: [expand 1x1 + BN + ReLU6] -> depthwise kxk (stride) + BN + ReLU6 -> project 1x1 + BN, + x when shapes match. */
class MbConvBlock {
  readonly params: CnnParams;
  private readonly expand: ConvBn | null;
  private readonly depthwise: ConvBn;
  private readonly project: ConvBn;
  private readonly residual: boolean;

  constructor(readonly spec: Extract<CnnOpSpec, { kind: "mbconv" }>, layer: CnnLayer, seed: number, eps: number) {
    const f = (this.params = new CnnParams(seed));
    const { inChannels: cin, outChannels: cout, stride } = layer;
    const hidden = cin * spec.expansion;
    this.expand = spec.expansion === 1 ? null : new ConvBn(f, "expand", { k: 1, cin, cout: hidden, stride: 1 }, eps);
    this.depthwise = new ConvBn(f, "depthwise", { k: spec.kernel, cin: hidden, cout: hidden, stride, depthwise: true }, eps);
    this.project = new ConvBn(f, "project", { k: 1, cin: hidden, cout, stride: 1 }, eps);
    this.residual = stride === 1 && cin === cout;
  }

  apply(x: tf.Tensor4D, mode: BnMode): tf.Tensor4D {
    const h = this.expand ? this.expand.apply(x, true, mode) : x; // [B, H, W, hidden]
    const d = this.depthwise.apply(h, true, mode); // [B, H/s, W/s, hidden]
    const y = this.project.apply(d, false, mode); // [B, H/s, W/s, out]
    return this.residual ? tf.add(x, y) : y;
  }
}

export class CnnSupernet {
  readonly space: CnnSpace;
  readonly layers: CnnLayer[];
  readonly only?: Arch;
  private readonly shared: CnnParams;
  private readonly stem: ConvBn;
  private readonly headConv: ConvBn;
  private readonly fcW: tf.Variable;
  private readonly fcB: tf.Variable;
  /** blocks[l][k]: op k at layer l; null for identity, for ops layer l does not allow, and outside `only`. */
  private readonly blocks: (MbConvBlock | null)[][];
  private readonly args: Required<Omit<CnnSupernetArgs, "only">>;
  private calibration: ImageBatch[] | null = null;

  constructor(args: CnnSupernetArgs) {
    this.args = { space: args.space, seed: args.seed ?? DEFAULTS.seed, bnEps: args.bnEps ?? DEFAULTS.bnEps };
    const { space, seed, bnEps: eps } = this.args;
    checkCnnSpace(space);
    if (args.only) {
      validateCnnArch(space, args.only);
      this.only = [...args.only];
    }
    this.space = space;
    this.layers = cnnLayers(space);
    const f = (this.shared = new CnnParams(seedFrom(seed, -1)));
    const last = this.layers[this.layers.length - 1].outChannels;
    this.stem = new ConvBn(f, "stem", { k: 3, cin: space.inChannels, cout: space.stem.channels, stride: space.stem.stride }, eps);
    this.headConv = new ConvBn(f, "head/conv", { k: 1, cin: last, cout: space.head.channels, stride: 1 }, eps);
    this.fcW = f.normal("head/fc/w", [space.head.channels, space.classes], 1 / Math.sqrt(space.head.channels)); // LeCun init: no activation follows
    this.fcB = f.constant("head/fc/b", [space.classes], 0);
    this.blocks = this.layers.map((layer, l) =>
      space.ops.map((op, k) =>
        op.kind === "mbconv" && layer.choices.includes(k) && (!this.only || this.only[l] === k)
          ? new MbConvBlock(op, layer, seedFrom(seed, l, k), eps)
          : null,
      ),
    );
  }

  /** `stem/...`, `head/...` and `l<layer>/<op name>/<part>/...` (e.g. `l3/k5e6/depthwise/w`): trainable only. */
  namedVariables(): Map<string, tf.Variable> {
    return this.collect((p) => p.params);
  }

  /** The BN running statistics by name (`.../bn/mean`, `.../bn/variance`): derived by `recalibrate`, not trained. */
  runningStats(): Map<string, tf.Variable> {
    return this.collect((p) => p.stats);
  }

  /** Stem and head variables, in a stable order. */
  sharedVariables(): tf.Variable[] {
    return [...this.shared.params.values()];
  }

  /** The variables of the op `arch` picks at `layer` (empty for identity): the same objects for every child picking it. */
  opVariables(layer: number, arch: Arch): tf.Variable[] {
    const block = this.block(layer, arch);
    return block ? [...block.params.params.values()] : [];
  }

  trainableVariables(arch: Arch): tf.Variable[] {
    this.check(arch);
    return [...this.sharedVariables(), ...arch.flatMap((_, l) => this.opVariables(l, arch))];
  }

  /**
   * Logits [B, classes] of child `arch` on images [B, H, W, C]; BN with batch statistics unless `inference`
   * (running statistics: recalibrate first). With `capture`, also each stage's output (the last layer's of the
   * stage). Returned tensors belong to the caller.
   */
  forward(arch: Arch, images: tf.Tensor4D, options: { inference?: boolean; capture?: boolean } = {}): { logits: tf.Tensor2D; stages?: tf.Tensor4D[] } {
    this.check(arch);
    this.checkImages(images);
    return tf.tidy(() => this.run(arch, images, options.inference ? { kind: "infer" } : { kind: "train" }, options.capture ?? false));
  }

  /**
   * Mean cross-entropy of child `arch` on a batch, BN with batch statistics (the training objective; no state
   * changes). Refused on tfjs-backend-wasm, which has no conv gradient kernels (forward and evaluate run there).
   */
  loss(arch: Arch, batch: ImageBatch): tf.Scalar {
    this.check(arch);
    this.checkImages(batch.images);
    if (tf.getBackend() === "wasm") {
      throw new UserError("the CNN space cannot train on the wasm backend (no conv gradient kernels): use MAGIC_BACKEND=native (built by scripts/setup.sh) or cpu");
    }
    return tf.tidy(() => tf.mean(sparseSoftmaxCrossEntropyRows(this.run(arch, batch.images, { kind: "train" }, false).logits, batch.labels)) as tf.Scalar);
  }

  /**
   * Recomputes the running statistics of every BN child `arch` uses from `batches` (training batches, see the
   * top of this file): their average over the batches, whatever was stored before. Other ops' BNs are untouched.
   */
  recalibrate(arch: Arch, batches: ImageBatch[]): void {
    this.check(arch);
    if (batches.length === 0) throw new Error("recalibrate: needs at least one batch");
    batches.forEach((batch, k) => {
      this.checkImages(batch.images);
      tf.tidy(() => {
        this.run(arch, batch.images, { kind: "calibrate", momentum: 1 / (k + 1) }, false);
      });
    });
  }

  /**
   * The batches `evaluate` recalibrates on before scoring a child (the caller keeps and disposes them), e.g. the
   * first few training batches; null: evaluate refuses, since running statistics of a shared BN fit no child.
   */
  setCalibration(batches: ImageBatch[] | null): void {
    if (batches && batches.length === 0) throw new Error("setCalibration: pass at least one batch, or null");
    this.calibration = batches;
  }

  /** Recalibrates child `arch`'s BN statistics on the calibration batches, then its mean loss and accuracy on `batches` (no grad). */
  evaluate(arch: Arch, batches: ImageBatch[]): { loss: number; accuracy: number } {
    this.check(arch);
    if (!this.calibration) {
      throw new Error("CnnSupernet.evaluate: no calibration batches; call setCalibration(training batches) first (BN statistics are recalibrated per child)");
    }
    this.recalibrate(arch, this.calibration);
    let ceSum = 0, hits = 0, count = 0;
    for (const batch of batches) {
      this.checkImages(batch.images);
      const [ce, hit] = tf.tidy(() => {
        const { logits } = this.run(arch, batch.images, { kind: "infer" }, false);
        const labels = batch.labels;
        return [tf.sum(sparseSoftmaxCrossEntropyRows(logits, labels)), tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), labels), "float32"))];
      });
      ceSum += ce.dataSync()[0];
      hits += hit.dataSync()[0];
      count += batch.labels.shape[0];
      tf.dispose([ce, hit]);
    }
    return { loss: ceSum / Math.max(count, 1), accuracy: hits / Math.max(count, 1) };
  }

  /**
   * A model for child `arch` alone with the same variable names: `inherit` clones this supernet's current
   * weights; otherwise a fresh init from `seed` (default this supernet's, i.e. the weights it started from).
   */
  standalone(arch: Arch, options: { inherit: boolean; seed?: number }): CnnSupernet {
    this.check(arch);
    const child = new CnnSupernet({ space: this.space, seed: options.seed ?? this.args.seed, bnEps: this.args.bnEps, only: arch });
    if (options.inherit) {
      const mine = this.namedVariables();
      for (const [name, v] of child.namedVariables()) v.assign(mine.get(name)!);
    }
    return child;
  }

  /** Frees every variable (weights and running statistics). */
  dispose(): void {
    for (const v of [...this.namedVariables().values(), ...this.runningStats().values()]) v.dispose();
  }

  private collect(pick: (p: CnnParams) => Map<string, tf.Variable>): Map<string, tf.Variable> {
    const out = new Map(pick(this.shared));
    this.blocks.forEach((row, l) =>
      row.forEach((block) => {
        if (block) for (const [name, v] of pick(block.params)) out.set(`l${l}/${block.spec.name}/${name}`, v);
      }),
    );
    return out;
  }

  /** The block of the op `arch` picks at `layer`; null for identity. */
  private block(layer: number, arch: Arch): MbConvBlock | null {
    if (this.space.ops[arch[layer]].kind === "identity") return null;
    const b = this.blocks[layer]?.[arch[layer]];
    if (!b) {
      validateCnnArch(this.space, arch);
      throw new Error(`standalone model of [${this.only}] has no op ${arch[layer]} at layer ${layer}; pass its own arch`);
    }
    return b;
  }

  private check(arch: Arch): void {
    validateCnnArch(this.space, arch);
    if (this.only && arch.some((k, l) => k !== this.only![l])) {
      throw new Error(`standalone model of [${this.only}] got arch [${arch}]; pass its own arch (model.only)`);
    }
  }

  private checkImages(images: tf.Tensor): void {
    const { imageSize: s, inChannels: c, id } = this.space;
    const [, h, w, ch] = images.shape;
    if (images.rank !== 4 || h !== s || w !== s || ch !== c) {
      throw new Error(`space ${id} takes images [B, ${s}, ${s}, ${c}], got [${images.shape}]`);
    }
  }

  /** stem -> layers -> head; call inside tf.tidy. */
  private run(arch: Arch, images: tf.Tensor4D, mode: BnMode, capture: boolean): { logits: tf.Tensor2D; stages?: tf.Tensor4D[] } {
    let x = this.stem.apply(images, true, mode); // [B, S, S, stem]
    const stages: tf.Tensor4D[] = [];
    arch.forEach((_, l) => {
      const block = this.block(l, arch);
      if (block) x = block.apply(x, mode);
      const layer = this.layers[l];
      if (capture && (l === this.layers.length - 1 || this.layers[l + 1].stage !== layer.stage)) stages.push(x);
    });
    const h = this.headConv.apply(x, true, mode); // [B, s, s, head]
    const pooled = tf.mean(h, [1, 2]) as tf.Tensor2D; // [B, head]
    const logits = tf.add(tf.matMul(pooled, this.fcW as tf.Tensor2D), this.fcB) as tf.Tensor2D; // [B, classes]
    return capture ? { logits, stages } : { logits };
  }
}

/**
 * The training loop's model type for a standalone CNN child (a fixed-arch run: `train({ model, arch, ... })`).
 * The loop reads of `model.space` only what goes into the config hash in that mode, so a CnnSupernet already
 * fits at run time; the cast stands in for TrainableModel's `space: SearchSpace` (the BERT space's type),
 * which the next step generalizes. Supernet runs (a sampler) need that step: the loop draws probe children
 * from `space.layers` and `space.ops.length`, which a CnnSpace does not have (a clear arch-length error).
 */
export function fixedArchTrainable(net: CnnSupernet): TrainableModel<ImageBatch> {
  return net as unknown as TrainableModel<ImageBatch>;
}
