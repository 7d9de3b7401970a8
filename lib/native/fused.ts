// The supernet's LayerNorm, GELU and depthwise conv fused into one native kernel per direction
// (native/src/fused.c): a training step makes ~2000 tfjs kernel calls at ~10-30 us of engine overhead each, and
// a forward + backward of these ops takes 18-116 of them as tfjs ops, 3-5 fused. Same math as lib/nas/ops.ts. The ops throw
// when the kernels are not registered for the current backend; lib/nas/ops.ts picks them or its tfjs code.
// Importing this file never loads the addon.
import * as tf from "@tensorflow/tfjs";
import type { NativeAddon } from "./addon";
import { CpuBackend, NamedInfos, float32Operands, kernelsRegistered, output } from "./kernel-util";

/** Custom kernel names, registered for the "native" backend only (by loadNativeBackend). */
export const LAYER_NORM_KERNEL = "MagicLayerNorm";
export const LAYER_NORM_GRAD_KERNEL = "MagicLayerNormGrad";
export const GELU_KERNEL = "MagicGelu";
export const GELU_GRAD_KERNEL = "MagicGeluGrad";
export const DWCONV_KERNEL = "MagicDepthwiseConv1d";
export const DWCONV_GRAD_KERNEL = "MagicDepthwiseConv1dGrad";
export const FUSED_KERNELS = [
  LAYER_NORM_KERNEL, LAYER_NORM_GRAD_KERNEL, GELU_KERNEL, GELU_GRAD_KERNEL, DWCONV_KERNEL, DWCONV_GRAD_KERNEL,
];

/** True when the fused kernels are registered for the current backend. */
export function fusedOpsAvailable(): boolean {
  return kernelsRegistered(FUSED_KERNELS);
}

function requireFused(op: string): void {
  if (!fusedOpsAvailable()) {
    throw new Error(`${op}: fused kernels are not registered for backend '${tf.getBackend()}' (only "native" has them)`);
  }
}

const run = (name: string, inputs: tf.NamedTensorMap, attrs?: tf.NamedAttrMap) =>
  tf.engine().runKernel(name, inputs, attrs) as tf.Tensor | tf.Tensor[];

/** LayerNorm over the last axis: (x - mean) * rsqrt(var + eps) * gamma + beta, x [N, D], gamma and beta [D]. */
export function layerNorm(x: tf.Tensor2D, gamma: tf.Tensor1D, beta: tf.Tensor1D, eps: number): tf.Tensor2D {
  requireFused("layerNorm");
  if (!(eps >= 0)) throw new Error(`layerNorm: eps must be a number >= 0, got ${eps}`);
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xs, g, b, save] = args as [tf.Tensor, tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    // mean and rstd in one tensor: each saved tensor costs an Identity kernel call.
    const [y, stats] = run(LAYER_NORM_KERNEL, { x: xs, gamma: g, beta: b }, { eps }) as tf.Tensor[]; // [N, D], [N, 2]
    save([xs, g, stats]);
    const gradFunc = (dy: tf.Tensor, [sx, sg, st]: tf.Tensor[]) =>
      run(LAYER_NORM_GRAD_KERNEL, { x: sx, gamma: sg, stats: st, dy }) as tf.Tensor[]; // dx [N, D], dgamma [D], dbeta [D]
    return { value: y, gradFunc };
  });
  return op(x, gamma, beta) as tf.Tensor2D;
}

const geluOp = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [x, save] = args as [tf.Tensor, tf.GradSaveFunc];
  save([x]);
  const gradFunc = (dy: tf.Tensor, [sx]: tf.Tensor[]) => run(GELU_GRAD_KERNEL, { x: sx, dy }) as tf.Tensor; // like x
  return { value: run(GELU_KERNEL, { x }) as tf.Tensor, gradFunc };
});

/** x * sigmoid(1.702 x), elementwise on any shape. */
export function gelu<T extends tf.Tensor>(x: T): T {
  requireFused("gelu");
  return geluOp(x) as T;
}

const dwconvOp = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [x, w, bias, save] = args as [tf.Tensor, tf.Tensor, tf.Tensor, tf.GradSaveFunc];
  save([x, w]);
  const gradFunc = (dy: tf.Tensor, [sx, sw]: tf.Tensor[]) =>
    run(DWCONV_GRAD_KERNEL, { x: sx, w: sw, dy }) as tf.Tensor[]; // dx [B, T, D], dw [K, D], dbias [D]
  return { value: run(DWCONV_KERNEL, { x, w, bias }) as tf.Tensor, gradFunc }; // [B, T, D]
});

/**
 * Depthwise conv over time with same zero padding: out[b, t, c] = bias[c] + sum_j x[b, t + j - pad, c] * w[j, c],
 * x [B, T, D], w [K, D] with K odd, pad = (K - 1) / 2, bias [D].
 */
export function depthwiseConv1d(x: tf.Tensor3D, w: tf.Tensor2D, bias: tf.Tensor1D): tf.Tensor3D {
  requireFused("depthwiseConv1d");
  return dwconvOp(x, w, bias) as tf.Tensor3D;
}

const same = (a: number[], b: number[]) => a.length === b.length && a.every((v, i) => v === b[i]);
const LN_SHAPES = "x [N, D], gamma [D], beta [D] with D >= 1";
const DW_SHAPES = "x [B, T, D], w [K, D] with K odd, bias [D] with D >= 1";
const lnOk = ([x, g]: number[][]) => x.length === 2 && x[1] >= 1 && same(g, [x[1]]);
const dwOk = ([x, w]: number[][]) => x.length === 3 && x[2] >= 1 && w.length === 2 && w[0] % 2 === 1 && w[1] === x[2];

type Fused = (cpu: CpuBackend, inputs: NamedInfos, attrs: tf.NamedAttrMap) => tf.TensorInfo | tf.TensorInfo[];

export function fusedKernelConfigs(addon: NativeAddon, backendName: string): tf.KernelConfig[] {
  const kernel = (kernelName: string, f: Fused): tf.KernelConfig => ({
    kernelName, backendName,
    kernelFunc: (args) => f(args.backend as CpuBackend, args.inputs as NamedInfos, args.attrs ?? {}),
  });
  return [
    kernel(LAYER_NORM_KERNEL, (cpu, inputs, attrs) => {
      const [x, g, b] = float32Operands(cpu, inputs, ["x", "gamma", "beta"], (s) => lnOk(s) && same(s[2], s[1]), "layerNorm", LN_SHAPES);
      const [n, d] = inputs.x.shape;
      const [y, stats] = [cpu.alloc(n * d), cpu.alloc(2 * n)];
      addon.layerNormForward(x, g, b, attrs.eps as number, y, stats);
      return [output(cpu, [n, d], y), output(cpu, [n, 2], stats)];
    }),
    kernel(LAYER_NORM_GRAD_KERNEL, (cpu, inputs) => {
      const rows = (s: number[][]) => lnOk(s) && same(s[2], [s[0][0], 2]) && same(s[3], s[0]);
      const [x, g, stats, dy] = float32Operands(cpu, inputs, ["x", "gamma", "stats", "dy"], rows, "layerNorm grad",
        "x [N, D], gamma [D], stats [N, 2], dy [N, D]");
      const [n, d] = inputs.x.shape;
      const [dx, dgamma, dbeta] = [cpu.alloc(n * d), cpu.alloc(d), cpu.alloc(d)];
      addon.layerNormBackward(x, g, stats, dy, dx, dgamma, dbeta);
      return [output(cpu, [n, d], dx), output(cpu, [d], dgamma), output(cpu, [d], dbeta)];
    }),
    kernel(GELU_KERNEL, (cpu, inputs) => {
      const [x] = float32Operands(cpu, inputs, ["x"], () => true, "gelu", "x");
      const y = cpu.alloc(x.length);
      addon.geluForward(x, y);
      return output(cpu, inputs.x.shape, y);
    }),
    kernel(GELU_GRAD_KERNEL, (cpu, inputs) => {
      const [x, dy] = float32Operands(cpu, inputs, ["x", "dy"], ([a, b]) => same(a, b), "gelu grad", "x and dy of one shape");
      const dx = cpu.alloc(x.length);
      addon.geluBackward(x, dy, dx);
      return output(cpu, inputs.x.shape, dx);
    }),
    kernel(DWCONV_KERNEL, (cpu, inputs) => {
      const [x, w, bias] = float32Operands(cpu, inputs, ["x", "w", "bias"], (s) => dwOk(s) && same(s[2], [s[0][2]]),
        "depthwiseConv1d", DW_SHAPES);
      const [b, t] = inputs.x.shape;
      const out = cpu.alloc(x.length);
      addon.depthwiseConv1dForward(x, w, bias, out, b, t);
      return output(cpu, inputs.x.shape, out);
    }),
    kernel(DWCONV_GRAD_KERNEL, (cpu, inputs) => {
      const [x, w, dy] = float32Operands(cpu, inputs, ["x", "w", "dy"], (s) => dwOk(s) && same(s[2], s[0]),
        "depthwiseConv1d grad", "x [B, T, D], w [K, D] with K odd, dy [B, T, D]");
      const [b, t, d] = inputs.x.shape;
      const [dx, dw, dbias] = [cpu.alloc(x.length), cpu.alloc(w.length), cpu.alloc(d)];
      addon.depthwiseConv1dBackward(x, w, dy, dx, dw, dbias, b, t);
      return [output(cpu, inputs.x.shape, dx), output(cpu, inputs.w.shape, dw), output(cpu, [d], dbias)];
    }),
  ];
}
