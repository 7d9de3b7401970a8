import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { requestedBackend, switchBackend } from "../lib/backend";
import { currentPreset } from "../lib/preset";
import { unsortedSegmentSumValues } from "../lib/wasm-kernels";

test("unknown MAGIC_BACKEND and MAGIC_PRESET values give one error listing the valid ones", () => {
  assert.throws(() => requestedBackend({ MAGIC_BACKEND: "gpu" }), /^UserError: MAGIC_BACKEND='gpu' is not valid; use one of: auto, tensorflow, native, wasm, cpu \(or unset it for auto\)$/);
  assert.equal(requestedBackend({}), "auto");
  assert.throws(() => currentPreset({ MAGIC_PRESET: "huge" }), /^UserError: MAGIC_PRESET='huge' is not valid; use one of: tiny, small, paper \(or unset it for small\)$/);
  assert.equal(currentPreset({}), "small");
  assert.equal(currentPreset({ MAGIC_PRESET: "tiny" }), "tiny");
});

test("switchBackend reports why a backend does not load instead of silently staying on cpu", async () => {
  assert.match((await switchBackend("nonesuch")) ?? "", /backend 'nonesuch' is not known/);
  assert.equal(await switchBackend("cpu"), null);
  assert.equal(tf.getBackend(), "cpu");
});

test("unsortedSegmentSum reference: rows summed into their segments, out-of-range ids dropped", () => {
  const x = [1, 2, 3, 4, 5, 6, 7, 8]; // [4, 2]
  assert.deepEqual([...unsortedSegmentSumValues(x, [4, 2], [2, 0, 2, 9], 3)], [3, 4, 0, 0, 6, 8]);
});

test("the embedding gradient (gather -> UnsortedSegmentSum) on wasm equals the cpu backend's", async () => {
  const grad = () => {
    const table = tf.tensor2d(Array.from({ length: 40 }, (_, i) => Math.sin(i)), [10, 4]);
    const ids = tf.tensor2d([[1, 2, 2], [9, 1, 0]], [2, 3], "int32"); // repeated ids must accumulate
    const g = tf.grad((t: tf.Tensor) => tf.gather(t, ids).square().sum())(table);
    const values = g.arraySync();
    tf.dispose([table, ids, g]);
    return values;
  };
  assert.equal(await switchBackend("cpu"), null);
  const onCpu = grad();
  const reason = await switchBackend("wasm");
  assert.equal(reason, null, `wasm must load here: ${reason}`);
  const onWasm = grad() as number[][];
  onWasm.forEach((row, i) => row.forEach((v, j) => assert.ok(Math.abs(v - (onCpu as number[][])[i][j]) < 1e-6)));
});
