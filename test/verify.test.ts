// agreement(): which tolerance a verification allows, and why, from where the numbers were computed.
import assert from "node:assert/strict";
import { test } from "node:test";
import { agreement, CROSS_PLATFORM_TOLERANCE } from "../lib/experiments/verify";

const zen = { backend: "native", platform: "native: OpenBLAS 0.3.21 Zen; addon -march=native on AMD EPYC (avx2 avx fma; cpu flags ecfefe0f)" };
const skylake = { backend: "native", platform: "native: OpenBLAS 0.3.21 SkylakeX; addon -march=native on Intel Xeon (avx512f avx2 avx fma; cpu flags 0badf00d)" };

test("agreement: bit-equality only where both sides ran on one recorded platform, the cross-platform tolerance elsewhere", () => {
  const committed = [6.8, 0.25];
  const lastBits = [6.8 + 2e-7, 0.25];
  const same = agreement(committed, lastBits, zen, zen);
  assert.deepEqual([same.tolerance, same.ok], [0, false]);
  assert.match(same.basis, /^committed and recomputed on native: OpenBLAS 0.3.21 Zen.*: bit-equal required$/);
  assert.ok(agreement(committed, [...committed], zen, zen).ok);

  for (const [committedOn, basis] of [
    [skylake, /^committed on native: OpenBLAS 0.3.21 SkylakeX.*, recomputed on native: OpenBLAS 0.3.21 Zen/],
    [{ backend: "native" }, /^committed on native without a record of its platform, recomputed on native: OpenBLAS 0.3.21 Zen/],
    [{ backend: "wasm", platform: "wasm" }, /^committed on wasm, recomputed on native$/],
  ] as const) {
    const check = agreement(committed, lastBits, committedOn, zen);
    assert.deepEqual([check.tolerance, check.ok], [CROSS_PLATFORM_TOLERANCE, true], check.basis);
    assert.match(check.basis, basis);
    assert.equal(agreement(committed, [6.8 + 2 * CROSS_PLATFORM_TOLERANCE, 0.25], committedOn, zen).ok, false, "beyond the tolerance");
  }
  assert.equal(agreement(committed, [6.8], { backend: "native" }, zen).ok, false, "a missing number is never allowed");
});

test("agreement: class predictions are bit-equal on one platform, counted and not compared across platforms", () => {
  const losses = [5.91, 0.6928];
  const discrete = (recomputed: number[]) => ({ committed: [0.5, 0, 1, 1, 0], recomputed, what: "dev predictions and metrics" });
  const flipped = [0.75, 0, 1, 1, 1];
  const same = agreement(losses, losses, zen, zen, discrete(flipped));
  assert.deepEqual([same.maxAbsDiff, same.ok], [1, false], "one platform: a flipped prediction fails");
  const across = agreement(losses, [5.91 + 1e-6, 0.6928], skylake, zen, discrete(flipped));
  assert.deepEqual([across.tolerance, across.ok], [CROSS_PLATFORM_TOLERANCE, true]);
  assert.match(across.basis, /; 2 of 5 dev predictions and metrics differ, not compared: a class flips at a near-tie/);
  assert.equal(agreement(losses, [5.91 + 2 * CROSS_PLATFORM_TOLERANCE, 0.6928], skylake, zen, discrete(flipped)).ok, false, "the losses are still compared");
  assert.equal(agreement(losses, losses, skylake, zen, discrete([0.5, 0, 1])).ok, false, "a missing prediction fails");
});
