// BatchMatMul and _FusedMatMul through OpenBLAS sgemm, one call per output batch. Batch dims broadcast
// as in tfjs: each output batch reads the operand blocks given by per-batch element offsets.
import * as tf from "@tensorflow/tfjs";
import type { NativeAddon } from "./addon";
import { f32, KernelArgs, NativeKernel, output, sizeOf, stridesOf } from "./kernel-util";

interface Plan {
  M: number;
  N: number;
  K: number;
  outShape: number[];
  offsA: Int32Array;
  offsB: Int32Array;
}

/** Element offset of each output batch's block in one operand (its batch dims may be 1 = broadcast). */
function batchOffsets(batchShape: number[], outBatch: number[], blockSize: number): Int32Array {
  const count = sizeOf(outBatch);
  const padded = [...Array(outBatch.length - batchShape.length).fill(1), ...batchShape];
  const strides = stridesOf(padded).map((s, d) => (padded[d] === 1 ? 0 : s * blockSize));
  const offs = new Int32Array(count);
  const outStrides = stridesOf(outBatch);
  for (let i = 0; i < count; i++) {
    let rest = i;
    let off = 0;
    for (let d = 0; d < outBatch.length; d++) {
      const idx = Math.floor(rest / outStrides[d]);
      rest -= idx * outStrides[d];
      off += idx * strides[d];
    }
    offs[i] = off;
  }
  return offs;
}

function plan(a: tf.TensorInfo, b: tf.TensorInfo, transA: boolean, transB: boolean): Plan | null {
  const ra = a.shape.length;
  const rb = b.shape.length;
  if (ra < 2 || rb < 2) return null;
  const M = transA ? a.shape[ra - 1] : a.shape[ra - 2];
  const K = transA ? a.shape[ra - 2] : a.shape[ra - 1];
  const Kb = transB ? b.shape[rb - 1] : b.shape[rb - 2];
  const N = transB ? b.shape[rb - 2] : b.shape[rb - 1];
  if (K !== Kb) return null; // let the cpu kernel raise its own error message
  const batchA = a.shape.slice(0, -2);
  const batchB = b.shape.slice(0, -2);
  const outBatch = tf.backend_util.assertAndGetBroadcastShape(batchA, batchB);
  const outShape = [...outBatch, M, N];
  if (sizeOf(batchB) === 1 && !transA && sizeOf(batchA) === sizeOf(outBatch)) {
    // [..., M, K] @ [K, N]: one tall GEMM instead of many small ones.
    return { M: sizeOf(batchA) * M, N, K, outShape, offsA: new Int32Array(1), offsB: new Int32Array(1) };
  }
  const offsA = batchOffsets(batchA, outBatch, M * K);
  const offsB = batchOffsets(batchB, outBatch, K * N);
  return { M, N, K, outShape, offsA, offsB };
}

function run(addon: NativeAddon, args: KernelArgs, bias: tf.TensorInfo | undefined, relu: boolean): tf.TensorInfo | null {
  const { backend } = args;
  const { a, b } = args.inputs;
  const transA = Boolean(args.attrs.transposeA);
  const transB = Boolean(args.attrs.transposeB);
  const av = f32(backend, a);
  const bv = f32(backend, b);
  const p = plan(a, b, transA, transB);
  if (!av || !bv || !p) return null;
  let biasValues: Float32Array | null = null;
  if (bias) {
    // Natively only a bias that is one row of N (or a scalar); other broadcasts go to the cpu kernel.
    const size = sizeOf(bias.shape);
    const rowLike = size === 1 || (size === p.N && bias.shape[bias.shape.length - 1] === p.N);
    biasValues = f32(backend, bias);
    if (!rowLike || !biasValues || bias.shape.length > p.outShape.length) return null;
  }
  const out = backend.alloc(sizeOf(p.outShape));
  addon.gemm(av, bv, out, p.offsA, p.offsB, p.M, p.N, p.K, transA, transB, biasValues, relu);
  return output(backend, p.outShape, out);
}

export function matmulKernels(addon: NativeAddon): Record<string, NativeKernel> {
  return {
    BatchMatMul: (args) => run(addon, args, undefined, false),
    _FusedMatMul: (args) => {
      const activation = (args.attrs.activation as string | undefined) ?? "linear";
      if (activation !== "linear" && activation !== "relu") return null;
      return run(addon, args, args.inputs.bias, activation === "relu");
    },
  };
}
