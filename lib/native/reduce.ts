// Sum / Mean / Max / Min over any axes: a block of axes contiguous once size-1 dims are dropped is reduced
// in place through an [outer, r, inner] view (last-axis, leading-axis and middle reductions); other sets
// are first transposed natively to the end. Also last-axis Softmax.
import { NativeAddon, REDUCE_OPS } from "./addon";
import { f32, NativeKernel, output, parseAxes, sizeOf } from "./kernel-util";
import { collapseTranspose } from "./layout";

/** [outer, r, inner] sizes when the reduced axes form one block, else null (the cpu kernel transposes). */
export function reduceView(shape: number[], axes: number[]): [number, number, number] | null {
  const sizes = [1, 1, 1];
  let part = 0; // 0 before the reduced block, 1 inside, 2 after
  for (let d = 0; d < shape.length; d++) {
    if (shape[d] === 1) continue;
    const reduced = axes.includes(d);
    if (reduced && part === 2) return null;
    if (reduced) part = 1;
    else if (part === 1) part = 2;
    sizes[part] *= shape[d];
  }
  return sizes as [number, number, number];
}

function reduceKernel(addon: NativeAddon, op: number, axisAttr: string): NativeKernel {
  return ({ inputs, backend, attrs }) => {
    const { x } = inputs;
    const xv = f32(backend, x);
    if (!xv || xv.length === 0) return null;
    const axes = parseAxes(attrs[axisAttr], x.shape.length);
    const outShape = attrs.keepDims
      ? x.shape.map((n, d) => (axes.includes(d) ? 1 : n))
      : x.shape.filter((_, d) => !axes.includes(d));
    const out = backend.alloc(sizeOf(outShape));
    const view = reduceView(x.shape, axes);
    if (view) {
      addon.reduce(op, xv, out, view[0], view[1], view[2]);
      return output(backend, outShape, out);
    }
    // Scattered axes: move the reduced ones last, then reduce rows.
    const kept = x.shape.map((_, d) => d).filter((d) => !axes.includes(d));
    const c = collapseTranspose(x.shape, [...kept, ...axes]);
    const moved = backend.alloc(xv.length);
    addon.transpose(xv, moved, Int32Array.from(c.shape), Int32Array.from(c.perm));
    addon.reduce(op, moved, out, out.length, xv.length / out.length, 1);
    backend.release(moved);
    return output(backend, outShape, out);
  };
}

function softmax(addon: NativeAddon): NativeKernel {
  return ({ inputs, backend, attrs }) => {
    const { logits } = inputs;
    const xv = f32(backend, logits);
    const rank = logits.shape.length;
    const dim = attrs.dim as number;
    if (!xv || xv.length === 0 || rank === 0 || (dim !== -1 && dim !== rank - 1)) return null;
    const cols = logits.shape[rank - 1];
    const out = backend.alloc(xv.length);
    addon.softmax(xv, out, xv.length / cols, cols);
    return output(backend, logits.shape, out);
  };
}

export function reduceKernels(addon: NativeAddon): Record<string, NativeKernel> {
  return {
    Sum: reduceKernel(addon, REDUCE_OPS.Sum, "axis"),
    Mean: reduceKernel(addon, REDUCE_OPS.Mean, "axis"),
    Max: reduceKernel(addon, REDUCE_OPS.Max, "reductionIndices"),
    Min: reduceKernel(addon, REDUCE_OPS.Min, "axis"),
    Softmax: softmax(addon),
  };
}
