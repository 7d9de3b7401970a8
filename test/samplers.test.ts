import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { Coverage, FairNasSampler, makeSampler, MagicTSampler, SAMPLER_NAMES } from "../lib/nas/samplers";

const diff = (a: number[], b: number[]) => a.filter((x, i) => x !== b[i]).length;

test("magic-t: consecutive children differ in exactly m layers (m = 1, 2, L)", () => {
  const L = 6;
  for (const m of [1, 2, L]) {
    const s = makeSampler("magic-t", { layers: L, numOps: 4, seed: 7, m });
    let prev = s.next();
    for (let i = 0; i < 500; i++) {
      const cur = s.next();
      assert.equal(cur.length, L);
      assert.ok(cur.every((k) => Number.isInteger(k) && k >= 0 && k < 4));
      assert.equal(diff(prev, cur), m, `m=${m} step ${i}`);
      prev = cur;
    }
  }
});

test("magic-t: changed layers and new ops are spread uniformly", () => {
  const L = 4, K = 3, n = 6000;
  const s = new MagicTSampler(L, K, 3);
  const layerHits = new Array(L).fill(0);
  let prev = s.next();
  for (let i = 0; i < n; i++) {
    const cur = s.next();
    layerHits[cur.findIndex((k, l) => k !== prev[l])]++;
    prev = cur;
  }
  // Chi-square with L-1 = 3 dof; 16.27 is the 0.999 quantile.
  const e = n / L;
  const chi2 = layerHits.reduce((a, o) => a + (o - e) ** 2 / e, 0);
  assert.ok(chi2 < 16.27, `chi2=${chi2} hits=${layerHits}`);
});

test("magic-t-balanced: one layer changes per step and coverage stays even, unlike plain magic-t", () => {
  const L = 8, K = 10;
  const spread = (name: string, n: number) => {
    const s = makeSampler(name, { layers: L, numOps: K, seed: 5 });
    const c = new Coverage(L, K);
    let prev = s.next();
    c.add(prev);
    for (let i = 1; i < n; i++) {
      const cur = s.next();
      if (name === "magic-t-balanced") assert.equal(diff(prev, cur), 1, `step ${i}`);
      c.add(cur);
      prev = cur;
    }
    const counts = c.counts.flat();
    return Math.max(...counts) - Math.min(...counts);
  };
  // A layer keeps its op for ~L steps (one layer changes per step), so L is the granularity of even coverage.
  for (const n of [100, 1000, 6001]) assert.ok(spread("magic-t-balanced", n) <= L, `balanced spread after ${n} steps`);
  for (const n of [1000, 6001]) assert.ok(spread("magic-t", n) > 4 * L, `plain magic-t spread after ${n} steps`);
});

test("magic-t: invalid m throws", () => {
  assert.throws(() => makeSampler("magic-t", { layers: 3, numOps: 4, seed: 1, m: 0 }), /m must be an integer in \[1, 3\]/);
  assert.throws(() => makeSampler("magic-t", { layers: 3, numOps: 4, seed: 1, m: 4 }), /m must be/);
});

test("fairnas: every op of every layer exactly once per round of K steps", () => {
  const L = 5, K = 4;
  const s = new FairNasSampler(L, K, 11);
  const orders: number[][] = [];
  for (let round = 0; round < 50; round++) {
    const cov = new Coverage(L, K);
    const archs = Array.from({ length: K }, () => s.next());
    archs.forEach((a) => cov.add(a));
    assert.ok(cov.counts.every((row) => row.every((c) => c === 1)), `round ${round}: ${JSON.stringify(cov.counts)}`);
    orders.push(archs.map((a) => a[0]));
  }
  // Rounds are reshuffled, not a fixed cycle.
  assert.ok(new Set(orders.map((o) => o.join())).size > 5);
});

test("uniform: coverage within a chi-square bound", () => {
  const L = 3, K = 5, n = 5000;
  const s = makeSampler("uniform", { layers: L, numOps: K, seed: 5 });
  const cov = new Coverage(L, K);
  for (let i = 0; i < n; i++) cov.add(s.next());
  assert.equal(cov.total, n);
  const e = n / K;
  for (const row of cov.counts) {
    const chi2 = row.reduce((a, o) => a + (o - e) ** 2 / e, 0);
    assert.ok(chi2 < 18.47, `chi2=${chi2} (4 dof, 0.999 quantile 18.47) row=${row}`);
  }
  const json = cov.toJSON();
  assert.deepEqual(json.counts, cov.counts);
  assert.equal(json.layers, L);
});

test("all samplers: deterministic per seed, different across seeds, state/restore continues the sequence", () => {
  for (const name of SAMPLER_NAMES) {
    const opts = { layers: 6, numOps: 4, m: 2 };
    const a = makeSampler(name, { ...opts, seed: 42 });
    const b = makeSampler(name, { ...opts, seed: 42 });
    const c = makeSampler(name, { ...opts, seed: 43 });
    const seqA = Array.from({ length: 30 }, () => a.next());
    assert.deepEqual(Array.from({ length: 30 }, () => b.next()), seqA, name);
    assert.notDeepEqual(Array.from({ length: 30 }, () => c.next()), seqA, name);

    // Snapshot mid-round (7 is not a multiple of K), through JSON like a checkpoint.
    const full = makeSampler(name, { ...opts, seed: 9 });
    Array.from({ length: 7 }, () => full.next());
    const saved = JSON.parse(JSON.stringify(full.state()));
    const expected = Array.from({ length: 20 }, () => full.next());
    const resumed = makeSampler(name, { ...opts, seed: 12345 });
    resumed.restore(saved);
    assert.deepEqual(Array.from({ length: 20 }, () => resumed.next()), expected, name);
  }
});

test("makeSampler: unknown name lists the valid names; wrong state is rejected", () => {
  assert.throws(() => makeSampler("random", { layers: 2, numOps: 2, seed: 0 }), /unknown sampler 'random'; use one of: uniform, fairnas, magic-t/);
  const u = makeSampler("uniform", { layers: 2, numOps: 2, seed: 0 });
  assert.throws(() => u.restore(makeSampler("fairnas", { layers: 2, numOps: 2, seed: 0 }).state()), /cannot restore/);
});

test("CLI `sample`: one JSON child per line, magic-t property holds; bad options exit non-zero with the valid values", () => {
  const root = path.resolve(__dirname, "..");
  const tsx = path.join(root, "node_modules", ".bin", "tsx");
  const run = (...args: string[]) => spawnSync(tsx, ["scripts/magic.ts", ...args], { cwd: root, encoding: "utf8" });
  const ok = run("sample", "--sampler", "magic-t", "--steps", "20", "--seed", "3", "--m", "2", "--preset", "tiny");
  assert.equal(ok.status, 0, ok.stderr);
  const archs = ok.stdout.trim().split("\n").map((l) => JSON.parse(l) as number[]);
  assert.equal(archs.length, 20);
  for (let i = 1; i < archs.length; i++) assert.equal(diff(archs[i - 1], archs[i]), 2);
  assert.deepEqual(run("sample", "--sampler", "magic-t", "--steps", "20", "--seed", "3", "--m", "2", "--preset", "tiny").stdout, ok.stdout);
  const bad = run("sample", "--sampler", "spos", "--steps", "3");
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /Allowed choices are uniform, fairnas, magic-t/);
});

// Per-layer choice counts (the CNN space: 6 choices where a stage starts, 7 elsewhere; lib/nas/cnn-space.ts).
const PER_LAYER = [6, 7, 6, 7, 7];

test("per-layer counts: every sampler draws layer l's values in 0..K_l-1 and restores mid-period", () => {
  for (const name of SAMPLER_NAMES) {
    const s = makeSampler(name, { layers: PER_LAYER.length, numOps: PER_LAYER, seed: 3, m: 2 });
    const cov = new Coverage(PER_LAYER.length, PER_LAYER);
    for (let i = 0; i < 420; i++) cov.add(s.next()); // Coverage.add rejects a value out of its layer's range
    assert.deepEqual(cov.counts.map((row) => row.length), PER_LAYER);
    assert.ok(cov.counts.every((row) => row.every((c) => c > 0)), `${name}: every op drawn, ${JSON.stringify(cov.counts)}`);
    const saved = JSON.parse(JSON.stringify(s.state()));
    const expected = Array.from({ length: 25 }, () => s.next());
    const resumed = makeSampler(name, { layers: PER_LAYER.length, numOps: PER_LAYER, seed: 99, m: 2 });
    resumed.restore(saved);
    assert.deepEqual(Array.from({ length: 25 }, () => resumed.next()), expected, name);
  }
});

test("fairnas with per-layer counts: layer l trains each of its K_l ops exactly once per K_l steps", () => {
  const s = new FairNasSampler(PER_LAYER.length, PER_LAYER, 5);
  const archs = Array.from({ length: 84 }, () => s.next()); // two periods of lcm(6, 7) = 42
  PER_LAYER.forEach((n, l) => {
    for (let start = 0; start + n <= archs.length; start += n) {
      const ops = archs.slice(start, start + n).map((a) => a[l]).sort((x, y) => x - y);
      assert.deepEqual(ops, Array.from({ length: n }, (_, k) => k), `layer ${l}, steps ${start}..${start + n - 1}`);
    }
  });
});

test("a space with the same K everywhere keeps the sampler's JSON (part of a run's hash) as a single numOps", () => {
  const a = makeSampler("fairnas", { layers: 3, numOps: 4, seed: 1 });
  const b = makeSampler("fairnas", { layers: 3, numOps: [4, 4, 4], seed: 1 });
  assert.equal(JSON.stringify(a), JSON.stringify(b));
  assert.deepEqual(JSON.parse(JSON.stringify(a)).numOps, 4);
  assert.deepEqual(JSON.parse(JSON.stringify(makeSampler("uniform", { layers: 2, numOps: [6, 7], seed: 1 }))).numOps, [6, 7]);
  assert.throws(() => makeSampler("magic-t", { layers: 2, numOps: [1, 7], seed: 1 }), /at least 2 ops per layer .*layer 0 has 1/);
  assert.throws(() => makeSampler("uniform", { layers: 3, numOps: [6, 7], seed: 1 }), /2 per-layer op counts for 3 layers/);
});
