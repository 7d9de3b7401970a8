// Shared by the kernel tests: a seeded input generator independent of tfjs's random ops (so every backend
// sees the same inputs) and the normwise comparison they all use.
import assert from "node:assert/strict";

/** Numbers uniform in [0, 1) from `seed` (mulberry32). */
export function uniform(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** max |actual - expected| <= tol * max |expected|, and NaN exactly where expected has NaN. */
export function assertClose(actual: Float32Array, expected: Float32Array, tol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let scale = 0;
  let err = 0;
  for (let i = 0; i < expected.length; i++) {
    scale = Math.max(scale, Math.abs(expected[i]));
    err = Math.max(err, Math.abs(actual[i] - expected[i]));
    if (Number.isNaN(expected[i])) assert.ok(Number.isNaN(actual[i]), `${what}: NaN expected at ${i}`);
  }
  assert.ok(err <= tol * Math.max(scale, 1e-30), `${what}: max error ${err} > ${tol} * ${scale}`);
}
