// Conv2D, DepthwiseConv2dNative and their gradients on NHWC float32 with dilation 1 (native/src/conv.c): dense convs
// as im2col + OpenBLAS sgemm (1x1 stride-1 convs as one sgemm), depthwise convs as direct loops. Any stride and any
// padding tfjs computes ('same', 'valid', explicit pads) become a (top, left) pad pair. Handed to the cpu kernels
// (withFallback): dilation > 1 and NCHW (the loops assume dense NHWC taps), a depthwise channel multiplier other
// than 1 (the search space's MBConv blocks use 1), non-float32 inputs and empty tensors.
import * as tf from "@tensorflow/tfjs";
import type { NativeAddon } from "./addon";
import { CpuBackend, f32, KernelArgs, NativeKernel, output, sizeOf } from "./kernel-util";

type Shape4 = [number, number, number, number];
type ConvAddonFn = (a: Float32Array, b: Float32Array, out: Float32Array, geom: Int32Array) => void;

/** The addon's geom argument: ConvGeom's fields in native/src/conv.h, or null for a case left to the cpu kernel. */
function geometry(info: tf.backend_util.Conv2DInfo): Int32Array | null {
  if (info.dataFormat !== "channelsLast" || info.dilationHeight !== 1 || info.dilationWidth !== 1) return null;
  const geom = [info.batchSize, info.inHeight, info.inWidth, info.inChannels, info.filterHeight, info.filterWidth,
    info.outChannels, info.outHeight, info.outWidth, info.strideHeight, info.strideWidth, info.padInfo.top, info.padInfo.left];
  if (geom.slice(0, 11).some((d) => d < 1) || geom.slice(11).some((p) => p < 0)) return null;
  return Int32Array.from(geom);
}

/** tfjs's geometry of a conv (the cpu kernels compute it the same way), or null for NCHW and depthwise multipliers != 1. */
function convInfo(xShape: number[], filterShape: number[], attrs: KernelArgs["attrs"], depthwise: boolean): tf.backend_util.Conv2DInfo | null {
  if (xShape.length !== 4 || filterShape.length !== 4) return null;
  if (depthwise && filterShape[3] !== 1) return null;
  const format = tf.backend_util.convertConv2DDataFormat((attrs.dataFormat as "NHWC" | "NCHW" | undefined) ?? "NHWC");
  if (format !== "channelsLast") return null;
  return tf.backend_util.computeConv2DInfo(xShape as Shape4, filterShape as Shape4, attrs.strides as [number, number],
    (attrs.dilations as [number, number] | number | undefined) ?? 1, attrs.pad as "same", attrs.dimRoundingMode as "round" | undefined,
    depthwise, format);
}

/**
 * One native conv kernel: inputs `a` and `b` (by name), the conv's x and filter shapes derived from them and the
 * attrs, the output shape from the geometry.
 */
function convKernel(names: [string, string], shapes: (a: number[], b: number[], attrs: KernelArgs["attrs"]) => [number[], number[]],
  outShape: (info: tf.backend_util.Conv2DInfo) => number[], depthwise: boolean, fn: ConvAddonFn): NativeKernel {
  return ({ inputs, backend, attrs }: KernelArgs) => {
    const [a, b] = names.map((n) => inputs[n]);
    const av = f32(backend, a);
    const bv = f32(backend, b);
    if (!av || !bv) return null;
    const [xShape, filterShape] = shapes(a.shape, b.shape, attrs);
    const info = convInfo(xShape, filterShape, attrs, depthwise);
    const geom = info && geometry(info);
    if (!info || !geom) return null;
    const shape = outShape(info);
    const out = (backend as CpuBackend).alloc(sizeOf(shape));
    fn(av, bv, out, geom);
    return output(backend, shape, out);
  };
}

const forward = (x: number[], filter: number[]): [number[], number[]] => [x, filter];
const backpropInput = (_dy: number[], filter: number[], attrs: KernelArgs["attrs"]): [number[], number[]] =>
  [attrs.inputShape as number[], filter];
const backpropFilter = (x: number[], _dy: number[], attrs: KernelArgs["attrs"]): [number[], number[]] =>
  [x, attrs.filterShape as number[]];
const outShape = (info: tf.backend_util.Conv2DInfo) => info.outShape;
const inShape = (info: tf.backend_util.Conv2DInfo) => info.inShape;
const filterShape = (info: tf.backend_util.Conv2DInfo) => info.filterShape;

export function convKernels(addon: NativeAddon): Record<string, NativeKernel> {
  return {
    Conv2D: convKernel(["x", "filter"], forward, outShape, false, addon.conv2dForward),
    Conv2DBackpropInput: convKernel(["dy", "filter"], backpropInput, inShape, false, addon.conv2dBackpropInput),
    Conv2DBackpropFilter: convKernel(["x", "dy"], backpropFilter, filterShape, false, addon.conv2dBackpropFilter),
    DepthwiseConv2dNative: convKernel(["x", "filter"], forward, outShape, true, addon.depthwiseConv2dForward),
    DepthwiseConv2dNativeBackpropInput: convKernel(["dy", "filter"], backpropInput, inShape, true, addon.depthwiseConv2dBackpropInput),
    DepthwiseConv2dNativeBackpropFilter: convKernel(["x", "dy"], backpropFilter, filterShape, true, addon.depthwiseConv2dBackpropFilter),
  };
}
