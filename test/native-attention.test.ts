// The fused attention core (lib/native/attention.ts) against AttentionBlock.op's tfjs formula
// (reshape/transpose to [B*H, T, dh], matMul, softmax, matMul, transpose back) run on the stock "cpu"
// backend: forward values and gradients wrt q, k, v (tf.grads with a random upstream dy).
// Error measure (normwise relative): max |native - cpu| <= 1e-4 * max |cpu|. 1e-4 as for the matmuls in
// native.test.ts: OpenBLAS sums in another order than the cpu kernel's loops (which accumulate in double),
// and the backward pass chains three products through the softmax, so float32 rounding (6e-8 per
// operation) compounds over sums of T and dh terms. (Observed: at most 4e-7 on these cases.) Without the
// addon: see helpers/native.ts.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { assertClose, uniform } from "./helpers/kernel-check";
import { loadAddon } from "../lib/native/addon";
import { attention, attentionAvailable, loadNativeBackend } from "../lib/native/index";
import { MASKED_SCORE } from "../lib/native/attention";
import { nativeSkip } from "./helpers/native";

const SKIP = nativeSkip();
const TOL = 1e-4;

/** n values uniform in [-2, 2): scores up to ~4 sqrt(dh), so the softmax is neither flat nor one-hot. */
function values(n: number, next: () => number): Float32Array {
  return Float32Array.from({ length: n }, () => 4 * next() - 2);
}

/** AttentionBlock.op's attention core, q, k, v being [B*T, D]. */
function reference(q: tf.Tensor2D, k: tf.Tensor2D, v: tf.Tensor2D, b: number, h: number): tf.Tensor2D {
  const [rows, d] = q.shape;
  const t = rows / b;
  const dh = d / h;
  const split = (x: tf.Tensor2D) => tf.reshape(tf.transpose(tf.reshape(x, [b, t, h, dh]), [0, 2, 1, 3]), [b * h, t, dh]) as tf.Tensor3D; // [B*H, T, dh]
  const scores = tf.matMul(tf.mul(split(q), 1 / Math.sqrt(dh)), split(k), false, true); // [B*H, T, T]
  const ctx = tf.matMul(tf.softmax(scores), split(v)); // [B*H, T, dh]
  return tf.reshape(tf.transpose(tf.reshape(ctx, [b, h, t, dh]), [0, 2, 1, 3]), [b * t, d]) as tf.Tensor2D; // [B*T, D]
}

type Attn = (q: tf.Tensor2D, k: tf.Tensor2D, v: tf.Tensor2D, b: number, h: number) => tf.Tensor2D;

/** Output and gradients wrt q, k, v on the current backend, as plain arrays. */
function run(f: Attn, data: Float32Array[], dyData: Float32Array, shape: [number, number], b: number, h: number): Float32Array[] {
  return tf.tidy(() => {
    const [q, k, v] = data.map((x) => tf.tensor2d(x, shape));
    const call = (...xs: tf.Tensor[]) => f(xs[0] as tf.Tensor2D, xs[1] as tf.Tensor2D, xs[2] as tf.Tensor2D, b, h);
    const grads = tf.grads(call)([q, k, v], tf.tensor2d(dyData, shape));
    return [call(q, k, v), ...grads].map((t) => Float32Array.from(t.dataSync()));
  });
}

test("fused attention matches the tfjs ops on cpu (forward and gradients wrt q, k, v)", { skip: SKIP }, async (t) => {
  loadNativeBackend();
  let seed = 1;
  for (const b of [1, 3])
    for (const seq of [1, 5, 32])
      for (const d of [8, 64])
        for (const h of [1, 2, 8]) {
          await t.test(`B=${b} T=${seq} D=${d} H=${h}`, async () => {
            const next = uniform((seed += 7));
            const shape: [number, number] = [b * seq, d];
            const data = [0, 1, 2].map(() => values(b * seq * d, next));
            const dy = values(b * seq * d, next);
            await tf.setBackend("cpu");
            const ref = run(reference, data, dy, shape, b, h);
            await tf.setBackend("native");
            const got = run(attention, data, dy, shape, b, h);
            ["forward", "dq", "dk", "dv"].forEach((what, i) => assertClose(got[i], ref[i], TOL, what));
          });
        }
});

/** The tfjs formula of AttentionBlock.op with a key padding mask: keyBias [B*T] added to every query row's scores. */
function maskedReference(keyBias: tf.Tensor1D): Attn {
  return (q, k, v, b, h) => {
    const [rows, d] = q.shape;
    const t = rows / b;
    const dh = d / h;
    const split = (x: tf.Tensor2D) => tf.reshape(tf.transpose(tf.reshape(x, [b, t, h, dh]), [0, 2, 1, 3]), [b * h, t, dh]) as tf.Tensor3D;
    const raw = tf.matMul(tf.mul(split(q), 1 / Math.sqrt(dh)), split(k), false, true); // [B*H, T, T]
    const scores = tf.reshape(tf.add(tf.reshape(raw, [b, h, t, t]), tf.reshape(keyBias, [b, 1, 1, t])), [b * h, t, t]);
    const ctx = tf.matMul(tf.softmax(scores), split(v)); // [B*H, T, dh]
    return tf.reshape(tf.transpose(tf.reshape(ctx, [b, h, t, dh]), [0, 2, 1, 3]), [b * t, d]) as tf.Tensor2D;
  };
}

test("fused attention with a padding mask matches the masked tfjs ops on cpu (forward and gradients)", { skip: SKIP }, async (t) => {
  loadNativeBackend();
  let seed = 3;
  for (const [b, seq, lengths] of [[1, 5, [3]], [3, 8, [8, 1, 5]], [2, 32, [17, 32]]] as [number, number, number[]][])
    for (const h of [1, 2, 4]) {
      await t.test(`B=${b} T=${seq} lengths ${lengths} H=${h}`, async () => {
        const next = uniform((seed += 11));
        const d = 8;
        const shape: [number, number] = [b * seq, d];
        const data = [0, 1, 2].map(() => values(b * seq * d, next));
        const dy = values(b * seq * d, next);
        const bias = Float32Array.from({ length: b * seq }, (_, i) => (i % seq < lengths[Math.floor(i / seq)] ? 0 : MASKED_SCORE));
        await tf.setBackend("cpu");
        const cpuBias = tf.tensor1d(bias);
        const ref = run(maskedReference(cpuBias), data, dy, shape, b, h);
        cpuBias.dispose();
        await tf.setBackend("native");
        const nativeBias = tf.tensor1d(bias);
        const got = run((q, k, v, bb, hh) => attention(q, k, v, bb, hh, nativeBias), data, dy, shape, b, h);
        nativeBias.dispose();
        ["forward", "dq", "dk", "dv"].forEach((what, i) => assertClose(got[i], ref[i], TOL, what));
        // A padded key gets no gradient (its probability is exactly 0): dk and dv vanish on its rows.
        for (let i = 0; i < b * seq; i++) {
          if (bias[i] === 0) continue;
          for (const [what, g] of [["dk", got[2]], ["dv", got[3]]] as const) {
            assert.ok(g.subarray(i * d, (i + 1) * d).every((x) => x === 0), `${what} of padded row ${i} is 0`);
          }
        }
      });
    }
});

test("fused attention runs its kernels, leaks no tensor, and rejects bad shapes", { skip: SKIP }, async () => {
  loadNativeBackend();
  await tf.setBackend("native");
  assert.ok(attentionAvailable());
  const [q, k, v] = [1, 2, 3].map((s) => tf.randomNormal([2 * 4, 8], 0, 1, "float32", s) as tf.Tensor2D);
  const f = (x: tf.Tensor, y: tf.Tensor, z: tf.Tensor) => attention(x as tf.Tensor2D, y as tf.Tensor2D, z as tf.Tensor2D, 2, 2);

  const profile = await tf.profile(() => tf.grads(f)([q, k, v]));
  const names = profile.kernels.map((kernel) => kernel.name);
  assert.ok(names.includes("MagicAttention") && names.includes("MagicAttentionGrad"), `fused kernels ran: ${names}`);
  assert.ok(!names.includes("Transpose") && !names.includes("BatchMatMul"), `no tfjs attention ops: ${names}`);

  const before = tf.memory().numTensors;
  tf.tidy(() => {
    f(q, k, v); // forward only: the probabilities it saves for backward must not outlive it
    tf.grads(f)([q, k, v]);
  });
  assert.equal(tf.memory().numTensors, before, "tensors leaked");

  assert.throws(() => attention(q, k, v, 2, 3), /D = 8 is not a positive multiple of heads = 3/);
  assert.throws(() => attention(q, k, v, 3, 2), /8 rows do not split into 3 sequences/);
  assert.throws(() => attention(q, k, tf.zeros([8, 16]) as tf.Tensor2D, 2, 2), /shapes differ/);
  assert.throws(() => attention(tf.reshape(q, [2, 4, 8]) as unknown as tf.Tensor2D, k, v, 2, 2), /must be \[B\*T, D\]/);
  await tf.setBackend("cpu");
  assert.equal(attentionAvailable(), false);
  assert.throws(() => attention(q, k, v, 2, 2), /no fused kernels on backend 'cpu'/);
  tf.dispose([q, k, v]);
});

test("attention addon functions check sizes and write every output element", { skip: SKIP }, () => {
  const addon = loadAddon();
  const [b, seq, h, d] = [2, 5, 2, 6];
  const n = b * seq * d;
  const next = uniform(99);
  const [q, k, v, dy] = [0, 1, 2, 3].map(() => values(n, next));
  // Buffers from the pool hold stale values: NaN-filled outputs show any element left unwritten.
  const nans = (len: number) => new Float32Array(len).fill(NaN);
  const [ctx, p, dq, dk, dv] = [nans(n), nans(b * h * seq * seq), nans(n), nans(n), nans(n)];
  addon.attentionForward(q, k, v, ctx, p, b, seq, h);
  addon.attentionBackward(q, k, v, p, dy, dq, dk, dv, b, seq, h);
  for (const [name, out] of Object.entries({ ctx, p, dq, dk, dv })) assert.ok(out.every(Number.isFinite), `${name} fully written`);
  assert.throws(() => addon.attentionForward(q, k, v, ctx, p, b, seq, 4), /attentionForward: argument 0 \(q\) .* a multiple of heads = 4/); // 6 % 4
  assert.throws(() => addon.attentionForward(q, k, v, ctx, p.subarray(1), b, seq, h), /attentionForward: argument 4 \(p\) has 99 elements, expected 100/);
  assert.throws(() => addon.attentionForward(q, k, v.subarray(1), ctx, p, b, seq, h), /attentionForward: argument 2 \(v\) has 59 elements, expected 60 \(q's length\)/);
  assert.throws(() => addon.attentionBackward(q, k, v, p, dy, dq, dk, dv.subarray(1), b, seq, h), /attentionBackward: argument 7 \(dv\)/);
  assert.throws(() => addon.attentionBackward(q, k, v, p, dy, dq, dk, dv, b, 0, h), /attentionBackward: argument 9 \(seq\) must be a positive integer, got 0/);
  const masked = nans(n);
  addon.attentionForwardMasked(q, k, v, new Float32Array(b * seq), masked, nans(b * h * seq * seq), b, seq, h);
  assert.deepEqual(masked, ctx, "an all-zero key bias computes exactly the unmasked attention");
  assert.throws(() => addon.attentionForwardMasked(q, k, v, new Float32Array(b * seq - 1), masked, p, b, seq, h), /attentionForwardMasked: argument 3 \(kbias\) has 9 elements, expected 10/);
});
