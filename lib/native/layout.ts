// Data movement: Transpose (collapsed to the fewest dims, tiled for swapped last axes); Slice, SplitV,
// Concat and PadV2 (row copies, where the cpu kernels walk non-leading axes element by element; PadV2 is
// also the gradient of Slice); GatherV2 (embedding lookups) and UnsortedSegmentSum (the gradient of a
// gather), OneHot (only to draw its output from the buffer pool). Layout kernels move 4-byte words, so
// int32 tensors take the same path as float32.
import * as tf from "@tensorflow/tfjs";
import { NativeAddon } from "./addon";
import { bits32, CpuBackend, f32, i32, NativeKernel, output, parseAxes, sizeOf } from "./kernel-util";

/** Drops size-1 dims and merges input dims that stay adjacent and in order under `perm`. */
export function collapseTranspose(shape: number[], perm: number[]): { shape: number[]; perm: number[] } {
  const kept = perm.filter((d) => shape[d] !== 1);
  const groups: number[][] = [];
  for (const d of kept) {
    const last = groups[groups.length - 1];
    if (last && last[last.length - 1] + 1 === d) last.push(d);
    else groups.push([d]);
  }
  const byInput = [...groups].sort((g, h) => g[0] - h[0]);
  return {
    shape: byInput.map((g) => g.reduce((n, d) => n * shape[d], 1)),
    perm: groups.map((g) => byInput.indexOf(g)),
  };
}

function transpose(addon: NativeAddon): NativeKernel {
  return ({ inputs, backend, attrs }) => {
    const { x } = inputs;
    const xv = bits32(backend, x);
    if (!xv) return null;
    const perm = attrs.perm as number[];
    const outShape = perm.map((d) => x.shape[d]);
    const c = collapseTranspose(x.shape, perm);
    const out = backend.alloc(xv.length);
    if (c.shape.length <= 1) out.set(xv); // nothing moves: a copy keeps tensors independent
    else addon.transpose(xv, out, Int32Array.from(c.shape), Int32Array.from(c.perm));
    return output(backend, outShape, out, x.dtype);
  };
}

/**
 * Merges each dim into its outer neighbour when the box spans it fully (or the outer one is a single
 * index), so a slice becomes a few long row copies; size-1 dims are dropped.
 */
export function collapseSlice(shape: number[], begin: number[], size: number[]): { shape: number[]; begin: number[]; size: number[] } {
  const dims: { n: number; b: number; z: number }[] = [];
  for (let d = 0; d < shape.length; d++) {
    if (shape[d] === 1) continue;
    const cur = { n: shape[d], b: begin[d], z: size[d] };
    const prev = dims[dims.length - 1];
    if (prev && cur.b === 0 && cur.z === cur.n) Object.assign(prev, { n: prev.n * cur.n, b: prev.b * cur.n, z: prev.z * cur.n });
    else if (prev && prev.z === 1) Object.assign(prev, { n: prev.n * cur.n, b: prev.b * cur.n + cur.b, z: cur.z });
    else dims.push(cur);
  }
  if (dims.length === 0) dims.push({ n: 1, b: 0, z: 1 });
  return { shape: dims.map((d) => d.n), begin: dims.map((d) => d.b), size: dims.map((d) => d.z) };
}

function sliceBox(addon: NativeAddon, backend: CpuBackend, x: tf.TensorInfo, xv: Float32Array, begin: number[], size: number[]): tf.TensorInfo {
  const out = backend.alloc(sizeOf(size));
  const c = collapseSlice(x.shape, begin, size);
  if (out.length > 0) addon.slice(xv, out, Int32Array.from(c.shape), Int32Array.from(c.begin), Int32Array.from(c.size));
  return output(backend, size, out, x.dtype);
}

function slice(addon: NativeAddon): NativeKernel {
  return ({ inputs, backend, attrs }) => {
    const { x } = inputs;
    const xv = bits32(backend, x);
    if (!xv) return null;
    const [begin, size] = tf.slice_util.parseSliceParams(x as tf.Tensor, attrs.begin as number[], attrs.size as number[]);
    tf.slice_util.assertParamsValid(x as tf.Tensor, begin, size);
    return sliceBox(addon, backend, x, xv, begin, size);
  };
}

function splitV(addon: NativeAddon): NativeKernel {
  return ({ inputs, backend, attrs }) => {
    const { x } = inputs;
    const xv = bits32(backend, x);
    if (!xv) return null;
    const axis = parseAxes(attrs.axis, x.shape.length)[0];
    const sizes = tf.backend_util.prepareSplitSize(x as tf.Tensor, attrs.numOrSizeSplits as number[] | number, axis);
    const begin = new Array<number>(x.shape.length).fill(0);
    return sizes.map((n) => {
      const size = [...x.shape];
      size[axis] = n;
      const piece = sliceBox(addon, backend, x, xv, [...begin], size);
      begin[axis] += n;
      return piece;
    });
  };
}

function pad(addon: NativeAddon): NativeKernel {
  return ({ inputs, backend, attrs }) => {
    const { x } = inputs;
    const xv = f32(backend, x); // float32 only: the fill value is a float
    if (!xv) return null;
    const paddings = attrs.paddings as [number, number][];
    const outShape = x.shape.map((n, d) => paddings[d][0] + n + paddings[d][1]);
    const out = backend.alloc(sizeOf(outShape)).fill((attrs.constantValue as number | undefined) ?? 0);
    const c = collapseSlice(outShape, paddings.map((p) => p[0]), x.shape);
    if (xv.length > 0) addon.insert(xv, out, Int32Array.from(c.shape), Int32Array.from(c.begin), Int32Array.from(c.size));
    return output(backend, outShape, out);
  };
}

function concat(addon: NativeAddon): NativeKernel {
  return ({ inputs, backend, attrs }) => {
    const tensors = (inputs as unknown as tf.TensorInfo[]).filter((t) => sizeOf(t.shape) > 0);
    if (tensors.length === 0 || tensors.some((t) => t.dtype !== tensors[0].dtype)) return null;
    const values = tensors.map((t) => bits32(backend, t));
    if (values.some((v) => !v)) return null;
    const axis = parseAxes(attrs.axis, tensors[0].shape.length)[0];
    const outShape = tf.backend_util.computeOutShape(tensors.map((t) => t.shape), axis);
    const rows = sizeOf(outShape.slice(0, axis)); // each input is [rows, width_i]; out rows concatenate them
    const stride = sizeOf(outShape.slice(axis));
    const out = backend.alloc(sizeOf(outShape));
    let offset = 0;
    for (const v of values) {
      addon.copyRows(v!, out, offset, stride, rows);
      offset += v!.length / rows;
    }
    return output(backend, outShape, out, tensors[0].dtype);
  };
}

function gather(addon: NativeAddon): NativeKernel {
  return ({ inputs, backend, attrs }) => {
    const { x, indices } = inputs;
    const xv = bits32(backend, x);
    const iv = i32(backend, indices);
    if (!xv || !iv || (attrs.batchDims as number | undefined)) return null;
    const axis = parseAxes(attrs.axis ?? 0, x.shape.length)[0];
    const outer = sizeOf(x.shape.slice(0, axis));
    const n = x.shape[axis];
    const inner = sizeOf(x.shape.slice(axis + 1));
    const outShape = [...x.shape.slice(0, axis), ...indices.shape, ...x.shape.slice(axis + 1)];
    const out = backend.alloc(outer * iv.length * inner);
    const bad = addon.gather(xv, iv, out, outer, n, inner);
    if (bad >= 0) throw new Error(`GatherV2: the index value ${iv[bad]} is not in [0, ${n - 1}]`);
    return output(backend, outShape, out, x.dtype);
  };
}

function oneHot(): NativeKernel {
  return ({ inputs, backend, attrs }) => {
    const { indices } = inputs;
    const iv = i32(backend, indices);
    const dtype = attrs.dtype as tf.DataType;
    if (!iv || (dtype !== "float32" && dtype !== "int32")) return null;
    const depth = attrs.depth as number;
    const buffer = backend.alloc(iv.length * depth);
    const out = dtype === "int32" ? new Int32Array(buffer.buffer, buffer.byteOffset, buffer.length) : buffer;
    out.fill(attrs.offValue as number);
    const on = attrs.onValue as number;
    for (let i = 0; i < iv.length; i++) if (iv[i] >= 0 && iv[i] < depth) out[i * depth + iv[i]] = on;
    return output(backend, [...indices.shape, depth], buffer, dtype);
  };
}

function unsortedSegmentSum(addon: NativeAddon): NativeKernel {
  return ({ inputs, backend, attrs }) => {
    const { x, segmentIds } = inputs;
    const xv = f32(backend, x);
    const ids = i32(backend, segmentIds);
    if (!xv || !ids) return null;
    const segments = attrs.numSegments as number;
    // segmentIds may have rank > 1 (gather over [B, T] ids): flatten both to rows.
    const outShape = [segments, ...x.shape.slice(segmentIds.shape.length)];
    const out = backend.alloc(sizeOf(outShape)).fill(0);
    addon.segmentSum(xv, ids, out, segments);
    return output(backend, outShape, out);
  };
}

export function layoutKernels(addon: NativeAddon): Record<string, NativeKernel> {
  return {
    Transpose: transpose(addon),
    Slice: slice(addon),
    SplitV: splitV(addon),
    Concat: concat(addon),
    PadV2: pad(addon),
    GatherV2: gather(addon),
    OneHot: oneHot(),
    UnsortedSegmentSum: unsortedSegmentSum(addon),
  };
}
