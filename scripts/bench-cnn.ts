// The CNN benchmark model: a small MobileNetV2-style stack (stem conv, MBConv blocks with BN + ReLU6, global
// average pool, linear head) on Fashion-MNIST-sized input, in tfjs ops plus lib/native's batchNormTrain and
// fused cross-entropy, so it runs on every backend (native kernels on "native", tfjs compositions elsewhere).
// scripts/bench_torch_cnn.py builds the same network with torch.nn.Conv2d / BatchNorm2d / ReLU6.
import * as tf from "@tensorflow/tfjs";
import { batchNormTrain } from "../lib/native/batchnorm";
import { maskedSoftmaxCrossEntropy } from "../lib/native/losses";

export interface MbConvSpec {
  /** Output channels. */
  out: number;
  /** Hidden channels = input channels * expansion (the 1x1 expand conv; none when 1). */
  expansion: number;
  /** Depthwise kernel size (odd). */
  kernel: number;
  stride: 1 | 2;
}

export interface CnnBenchConfig {
  /** Names the configuration in reports/bench.json. */
  id: string;
  batch: number;
  /** Input images [batch, size, size, channels]. */
  size: number;
  channels: number;
  /** Output channels of the 3x3 stride-1 stem conv (+ BN + ReLU6). */
  stem: number;
  blocks: MbConvSpec[];
  classes: number;
  learningRate: number;
}

export const CNN_BENCH_MODEL: CnnBenchConfig = {
  id: "mbconv3-B64-28x28x1-stem16-e6-k3/5/7",
  batch: 64,
  size: 28,
  channels: 1,
  stem: 16,
  blocks: [
    { out: 16, expansion: 6, kernel: 3, stride: 1 },
    { out: 24, expansion: 6, kernel: 5, stride: 2 },
    { out: 24, expansion: 6, kernel: 7, stride: 1 },
  ],
  classes: 10,
  learningRate: 1e-3,
};

export interface CnnBatch {
  images: tf.Tensor4D; // [B, H, W, C] float32
  labels: tf.Tensor1D; // [B] int32
  weights: tf.Tensor1D; // [B] ones: every image carries the loss
}

/** A conv (no bias: BN follows) and its BN's gamma, beta. */
interface ConvBn {
  filter: tf.Variable;
  gamma: tf.Variable;
  beta: tf.Variable;
}

export class CnnBenchModel {
  readonly vars: tf.Variable[] = [];
  readonly optimizer: tf.Optimizer;
  private readonly stem: ConvBn;
  private readonly blocks: { spec: MbConvSpec; expand: ConvBn | null; depthwise: ConvBn; project: ConvBn; residual: boolean }[];
  private readonly head: { w: tf.Variable; b: tf.Variable };

  constructor(readonly cfg: CnnBenchConfig, seed = 1) {
    let s = seed;
    const variable = (t: tf.Tensor) => {
      const v = tf.variable(t);
      this.vars.push(v);
      return v;
    };
    const convBn = (shape: number[], fanIn: number, channels: number): ConvBn => ({
      filter: variable(tf.randomNormal(shape, 0, Math.sqrt(2 / fanIn), "float32", s++)),
      gamma: variable(tf.ones([channels])),
      beta: variable(tf.zeros([channels])),
    });
    this.stem = convBn([3, 3, cfg.channels, cfg.stem], 9 * cfg.channels, cfg.stem);
    let cin = cfg.stem;
    this.blocks = cfg.blocks.map((spec) => {
      const hidden = cin * spec.expansion;
      const block = {
        spec,
        expand: spec.expansion === 1 ? null : convBn([1, 1, cin, hidden], cin, hidden),
        depthwise: convBn([spec.kernel, spec.kernel, hidden, 1], spec.kernel ** 2, hidden),
        project: convBn([1, 1, hidden, spec.out], hidden, spec.out),
        residual: spec.stride === 1 && cin === spec.out,
      };
      cin = spec.out;
      return block;
    });
    this.head = { w: variable(tf.randomNormal([cin, cfg.classes], 0, 1 / Math.sqrt(cin), "float32", s++)), b: variable(tf.zeros([cfg.classes])) };
    this.optimizer = tf.train.adam(cfg.learningRate);
  }

  /** Logits [B, classes] of images [B, H, W, C]. */
  forward(images: tf.Tensor4D): tf.Tensor2D {
    const bn = (x: tf.Tensor, p: ConvBn, relu6: boolean) => batchNormTrain(x, p.gamma as tf.Tensor1D, p.beta as tf.Tensor1D, { relu6 }).y as tf.Tensor4D;
    let x = bn(tf.conv2d(images, this.stem.filter as tf.Tensor4D, 1, "same"), this.stem, true); // [B, H, W, stem]
    for (const { spec, expand, depthwise, project, residual } of this.blocks) {
      const h = expand ? bn(tf.conv2d(x, expand.filter as tf.Tensor4D, 1, "same"), expand, true) : x; // [B, H, W, hidden]
      const d = bn(tf.depthwiseConv2d(h, depthwise.filter as tf.Tensor4D, spec.stride, "same"), depthwise, true); // [B, H/s, W/s, hidden]
      const y = bn(tf.conv2d(d, project.filter as tf.Tensor4D, 1, "same"), project, false); // [B, H/s, W/s, out]
      x = residual ? tf.add(x, y) : y;
    }
    const pooled = tf.mean(x, [1, 2]) as tf.Tensor2D; // [B, C]
    return tf.add(tf.matMul(pooled, this.head.w), this.head.b) as tf.Tensor2D; // [B, classes]
  }

  /** One Adam step on the mean cross-entropy; returns the loss value. */
  step(batch: CnnBatch): number {
    const loss = this.optimizer.minimize(() => maskedSoftmaxCrossEntropy(this.forward(batch.images), batch.labels, batch.weights), true, this.vars)!;
    const value = loss.dataSync()[0];
    loss.dispose();
    return value;
  }

  dispose(): void {
    for (const v of this.vars) v.dispose();
    this.optimizer.dispose();
  }
}

/** A fixed random batch: images uniform in [0, 1), labels uniform over the classes. */
export function cnnBenchBatch(cfg: CnnBenchConfig, seed = 7): CnnBatch {
  return tf.tidy(() => ({
    images: tf.randomUniform([cfg.batch, cfg.size, cfg.size, cfg.channels], 0, 1, "float32", seed) as tf.Tensor4D,
    labels: tf.randomUniform([cfg.batch], 0, cfg.classes, "int32", seed + 1) as tf.Tensor1D,
    weights: tf.ones([cfg.batch]) as tf.Tensor1D,
  }));
}
