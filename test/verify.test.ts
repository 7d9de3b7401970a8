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
