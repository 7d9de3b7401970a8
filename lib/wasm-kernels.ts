// Loads the wasm backend and registers the kernels it lacks that the project needs.
// tfjs-backend-wasm 4.22 has no UnsortedSegmentSum, which the gradient of `tf.gather` (embedding lookup)
// uses: without it, any model with an embedding cannot train on wasm.
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";

interface WasmBackendLike {
  readSync(dataId: object): tf.backend_util.BackendValues;
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
}

/** out[segmentIds[i], :] += x[i, :], the reference semantics of tf.unsortedSegmentSum. */
export function unsortedSegmentSumValues(
  x: ArrayLike<number>,
  xShape: number[],
  segmentIds: ArrayLike<number>,
  numSegments: number,
): Float32Array {
  const rows = segmentIds.length;
  const inner = rows === 0 ? 0 : xShape.reduce((a, b) => a * b, 1) / rows;
  const out = new Float32Array(numSegments * inner);
  for (let i = 0; i < rows; i++) {
    const seg = segmentIds[i];
    if (seg < 0 || seg >= numSegments) continue; // tf semantics: out-of-range ids are dropped
    const src = i * inner;
    const dst = seg * inner;
    for (let j = 0; j < inner; j++) out[dst + j] += x[src + j];
  }
  return out;
}

if (!tf.getKernel("UnsortedSegmentSum", "wasm")) {
  tf.registerKernel({
    kernelName: "UnsortedSegmentSum",
    backendName: "wasm",
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { x, segmentIds } = inputs as { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
      const { numSegments } = attrs as unknown as { numSegments: number };
      const wasm = backend as unknown as WasmBackendLike;
      const ids = wasm.readSync(segmentIds.dataId) as Int32Array;
      const values = wasm.readSync(x.dataId) as Float32Array;
      // segmentIds may have rank > 1 (gather over [B, T] ids): flatten both to rows.
      const outShape = [numSegments, ...x.shape.slice(segmentIds.shape.length)];
      const result = unsortedSegmentSumValues(values, x.shape, ids, numSegments);
      const out = wasm.makeOutput(outShape, "float32");
      wasm.typedArrayFromHeap(out).set(result);
      return out;
    },
  });
}
