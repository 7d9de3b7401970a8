// Training-mode BatchNorm (+ optional ReLU6) with batch statistics, for the CNN search space's MBConv blocks: one
// native kernel per direction on the "native" backend (native/src/conv.c), the same math as a tfjs composition on
// every other backend, so one model runs on both. Forward and backward alike are a tf.customGrad op.
//
// Statistics and their updates (the semantics of PyTorch's nn.BatchNorm2d in training mode):
// - x [..., C] is normalised per channel (the last axis) over all other axes: mean and the biased variance
//   (divided by the count n = x.size / C) of this batch; y = (x - mean) / sqrt(var + eps) * gamma + beta, then
//   min(max(y, 0), 6) when relu6.
// - batchNormTrain returns the batch mean and biased variance besides y. They are not differentiated through
//   (constants for tf.grads); their role is updateRunningStats: running = (1 - momentum) * running + momentum *
//   batch, with the variance made unbiased (* n / (n - 1)) first, momentum 0.1 by default. Inference (or BN
//   recalibration) then normalises with the running statistics; that is plain tfjs (tf.batchNorm) and not here.
import * as tf from "@tensorflow/tfjs";
import type { NativeAddon } from "./addon";
import { CpuBackend, NamedInfos, float32Operands, kernelsRegistered, output } from "./kernel-util";

/** Custom kernel names, registered for the "native" backend only (by loadNativeBackend). */
export const BATCH_NORM_KERNEL = "MagicBatchNorm";
export const BATCH_NORM_GRAD_KERNEL = "MagicBatchNormGrad";
const KERNELS = [BATCH_NORM_KERNEL, BATCH_NORM_GRAD_KERNEL];

export interface BatchNormOptions {
  /** Added to the variance under the square root; default 1e-5 (PyTorch's). */
  eps?: number;
  /** Clamp the output to [0, 6] (MobileNetV2's activation) in the same pass; default false. */
  relu6?: boolean;
}

export interface BatchNormResult {
  /** The normalised (and clamped, with relu6) x, same shape. */
  y: tf.Tensor;
  /** Batch mean per channel [C]; not differentiated through. */
  mean: tf.Tensor1D;
  /** Biased batch variance per channel [C]; not differentiated through. */
  variance: tf.Tensor1D;
  /** Values per channel, n = x.size / C (for the unbiased running variance). */
  count: number;
}

/** Per-element math in float32 in the kernel's order, so both backends round alike. */
function tfjsForward(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, eps: number, relu6: boolean): tf.Tensor[] {
  const axes = [...Array(x.rank - 1).keys()];
  const mean = tf.mean(x, axes);
  const variance = tf.mean(tf.square(tf.sub(x, mean)), axes);
  const pre = tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps))), gamma), beta);
  return [relu6 ? tf.clipByValue(pre, 0, 6) : pre, mean, variance];
}

/** The gradient of tfjsForward's y (native/src/conv.c k_batchnorm_backward, as tfjs ops). */
function tfjsBackward(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, mean: tf.Tensor, variance: tf.Tensor, dy: tf.Tensor,
  eps: number, relu6: boolean): tf.Tensor[] {
  const axes = [...Array(x.rank - 1).keys()];
  const n = x.size / gamma.size;
  const rstd = tf.rsqrt(tf.add(variance, eps));
  const xh = tf.mul(tf.sub(x, mean), rstd);
  const pre = tf.add(tf.mul(xh, gamma), beta);
  // ReLU6 passes the gradient where 0 < pre <= 6, as tfjs's Relu6 gradient does.
  const g = relu6 ? tf.mul(dy, tf.cast(tf.logicalAnd(tf.greater(pre, 0), tf.lessEqual(pre, 6)), "float32")) : dy;
  const dbeta = tf.sum(g, axes);
  const dgamma = tf.sum(tf.mul(g, xh), axes);
  const centred = tf.sub(tf.sub(g, tf.div(dbeta, n)), tf.mul(xh, tf.div(dgamma, n)));
  return [tf.mul(tf.mul(rstd, gamma), centred), dgamma, dbeta];
}

const run = (name: string, inputs: tf.NamedTensorMap, attrs: tf.NamedAttrMap) =>
  tf.engine().runKernel(name, inputs, attrs) as tf.Tensor[];

/**
 * BatchNorm of x [..., C] with this batch's statistics (training mode), then ReLU6 when options.relu6; gamma and
 * beta [C]. Runs the native kernels when the current backend has them (the "native" backend), a tfjs composition
 * otherwise. See the top of this file for the statistics and updateRunningStats.
 */
export function batchNormTrain(x: tf.Tensor, gamma: tf.Tensor1D, beta: tf.Tensor1D, options: BatchNormOptions = {}): BatchNormResult {
  const eps = options.eps ?? 1e-5;
  const relu6 = options.relu6 ?? false;
  const c = x.shape[x.rank - 1];
  if (x.rank < 2 || x.dtype !== "float32" || gamma.rank !== 1 || beta.rank !== 1 || gamma.size !== c || beta.size !== c || c < 1) {
    throw new Error(`batchNormTrain: expected float32 x [..., C] (rank >= 2), gamma [C] and beta [C]; got x ${x.dtype} [${x.shape}], ` +
      `gamma [${gamma.shape}], beta [${beta.shape}]`);
  }
  if (!(eps >= 0)) throw new Error(`batchNormTrain: eps must be a number >= 0, got ${eps}`);
  const native = kernelsRegistered(KERNELS);
  const attrs = { eps, relu6 };
  let stats: tf.Tensor[] = [];
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xs, g, b, save] = args as [tf.Tensor, tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    const [y, mean, variance] = native ? run(BATCH_NORM_KERNEL, { x: xs, gamma: g, beta: b }, attrs) : tfjsForward(xs, g, b, eps, relu6);
    save([xs, g, b, mean, variance]);
    // customGrad's value is one tensor and its forward runs in a tidy: the statistics leave it kept, and are
    // handed to the caller's scope below.
    stats = [tf.keep(mean), tf.keep(variance)];
    const gradFunc = (dy: tf.Tensor, [sx, sg, sb, sm, sv]: tf.Tensor[]) => native
      ? run(BATCH_NORM_GRAD_KERNEL, { x: sx, gamma: sg, beta: sb, mean: sm, variance: sv, dy }, attrs) // dx, dgamma, dbeta
      : tfjsBackward(sx, sg, sb, sm, sv, dy, eps, relu6);
    return { value: y, gradFunc };
  });
  const y = op(x, gamma, beta);
  const [mean, variance] = stats.map((t) => {
    const owned = tf.clone(t); // tracked by the caller's scope, unlike the kept original
    t.dispose();
    return owned as tf.Tensor1D;
  });
  return { y, mean, variance, count: x.size / c };
}

/** Running statistics of one BatchNorm layer, updated in place by updateRunningStats. */
export interface RunningStats {
  mean: tf.Variable;
  variance: tf.Variable;
}

/**
 * running = (1 - momentum) * running + momentum * batch, the batch variance made unbiased (n / (n - 1)) first:
 * PyTorch's nn.BatchNorm2d update (momentum 0.1 by default). Needs n >= 2 values per channel.
 */
export function updateRunningStats(running: RunningStats, batch: BatchNormResult, momentum = 0.1): void {
  if (batch.count < 2) throw new Error(`updateRunningStats: the unbiased variance needs >= 2 values per channel, got ${batch.count}`);
  if (!(momentum >= 0 && momentum <= 1)) throw new Error(`updateRunningStats: momentum must be in [0, 1], got ${momentum}`);
  tf.tidy(() => {
    const unbiased = tf.mul(batch.variance, batch.count / (batch.count - 1));
    running.mean.assign(tf.add(tf.mul(running.mean, 1 - momentum), tf.mul(batch.mean, momentum)));
    running.variance.assign(tf.add(tf.mul(running.variance, 1 - momentum), tf.mul(unbiased, momentum)));
  });
}

const BN_SHAPES = "x [rows, C] (any rank >= 2, C last), gamma [C], beta [C]";
const same = (a: number[], b: number[]) => a.length === b.length && a.every((v, i) => v === b[i]);
const channelsOk = ([x, g, b]: number[][]) => x.length >= 2 && g.length === 1 && g[0] === x[x.length - 1] && g[0] >= 1 && same(b, g);

type Kernel = (cpu: CpuBackend, inputs: NamedInfos, attrs: tf.NamedAttrMap) => tf.TensorInfo[];

export function batchNormKernelConfigs(addon: NativeAddon, backendName: string): tf.KernelConfig[] {
  const kernel = (kernelName: string, f: Kernel): tf.KernelConfig => ({
    kernelName, backendName,
    kernelFunc: (args) => f(args.backend as CpuBackend, args.inputs as NamedInfos, args.attrs ?? {}),
  });
  return [
    kernel(BATCH_NORM_KERNEL, (cpu, inputs, attrs) => {
      const [x, g, b] = float32Operands(cpu, inputs, ["x", "gamma", "beta"], channelsOk, "batchNormTrain", BN_SHAPES);
      const c = g.length;
      const [y, mean, variance] = [cpu.alloc(x.length), cpu.alloc(c), cpu.alloc(c)];
      addon.batchNormForward(x, g, b, attrs.eps as number, attrs.relu6 as boolean, y, mean, variance);
      return [output(cpu, inputs.x.shape, y), output(cpu, [c], mean), output(cpu, [c], variance)];
    }),
    kernel(BATCH_NORM_GRAD_KERNEL, (cpu, inputs, attrs) => {
      const ok = (s: number[][]) => channelsOk(s) && same(s[3], s[1]) && same(s[4], s[1]) && same(s[5], s[0]);
      const [x, g, b, mean, variance, dy] = float32Operands(cpu, inputs, ["x", "gamma", "beta", "mean", "variance", "dy"], ok,
        "batchNormTrain grad", `${BN_SHAPES}, mean [C], variance [C], dy like x`);
      const c = g.length;
      const [dx, dgamma, dbeta] = [cpu.alloc(x.length), cpu.alloc(c), cpu.alloc(c)];
      addon.batchNormBackward(x, g, b, mean, variance, attrs.eps as number, attrs.relu6 as boolean, dy, dx, dgamma, dbeta);
      return [output(cpu, inputs.x.shape, dx), output(cpu, [c], dgamma), output(cpu, [c], dbeta)];
    }),
  ];
}
