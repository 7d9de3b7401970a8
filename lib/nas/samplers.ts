// Child samplers for supernet training. They see only the shape of the space (L layers, K_l choices at layer l,
// values 0..K_l-1; the BERT space has the same K everywhere, the CNN space one less where identity cannot keep
// the shape), never the model, so they can be tested and plotted on their own. All randomness comes from one seeded Rng
// whose state is part of state(), so a resumed run continues the exact same sequence of children.
import { Rng } from "../rng";
import type { Arch, Sampler } from "./types";

export const SAMPLER_NAMES = ["uniform", "fairnas", "magic-t", "magic-t-balanced"] as const;
export type SamplerName = (typeof SAMPLER_NAMES)[number];

export interface SamplerOptions {
  /** Number of sub-layers L. */
  layers: number;
  /** Candidate ops per layer: K for every layer, or K_l per layer (an ArchSpace's `choices`). */
  numOps: number | readonly number[];
  /** Seed of the sampler's own RNG stream. */
  seed: number;
  /** magic-t only: how many sub-layers change between consecutive children (default 1; 1 <= m <= L). */
  m?: number;
}

/**
 * Checks the shape and returns [the per-layer counts, the `numOps` a sampler stores]: one number when every
 * layer has the same count. Samplers keep `layers` and `numOps` as fields (their JSON is part of a run's config
 * hash), so a space with the same K everywhere hashes exactly as before per-layer counts existed.
 */
function checkShape(layers: number, numOps: number | readonly number[]): [number[], number | number[]] {
  if (!Number.isInteger(layers) || layers < 1) throw new Error(`sampler: layers must be a positive integer, got ${layers}`);
  const counts = typeof numOps === "number" ? new Array<number>(layers).fill(numOps) : [...numOps];
  if (counts.length !== layers) throw new Error(`sampler: ${counts.length} per-layer op counts for ${layers} layers`);
  const bad = counts.find((n) => !Number.isInteger(n) || n < 1);
  if (bad !== undefined) throw new Error(`sampler: numOps must be positive integers, got ${JSON.stringify(numOps)}`);
  return [counts, counts.every((n) => n === counts[0]) ? counts[0] : counts];
}

/** Throws unless every layer has at least 2 ops (a MAGIC-T step changes a layer to a different op). */
function checkChangeable(name: string, counts: number[]): void {
  const l = counts.findIndex((n) => n < 2);
  if (l >= 0) throw new Error(`${name} sampler: needs at least 2 ops per layer to change a sub-layer (layer ${l} has ${counts[l]})`);
}

function stateObject(state: unknown, name: string): Record<string, unknown> {
  if (typeof state !== "object" || state === null || (state as { name?: unknown }).name !== name) {
    throw new Error(`${name} sampler: cannot restore state ${JSON.stringify(state)}`);
  }
  return state as Record<string, unknown>;
}

/** SPOS: an independent uniformly random child every step. */
export class UniformSampler implements Sampler {
  readonly name = "uniform";
  readonly numOps: number | number[];
  private rng: Rng;
  readonly #counts: number[];

  constructor(readonly layers: number, numOps: number | readonly number[], seed: number) {
    [this.#counts, this.numOps] = checkShape(layers, numOps);
    this.rng = new Rng(seed);
  }

  next(): Arch {
    return this.#counts.map((n) => this.rng.int(n));
  }

  state(): unknown {
    return { name: this.name, rng: this.rng.state() };
  }

  restore(state: unknown): void {
    this.rng.restore(stateObject(state, this.name).rng as number);
  }
}

/**
 * FairNAS strict fairness: each layer trains every one of its K_l ops exactly once per round of K_l steps, in the
 * order of an independent random permutation drawn when its round starts. With the same K at every layer (the
 * paper's setting, the BERT space) all rounds start together: every (layer, op) exactly once per K steps.
 * Layers with fewer ops (the CNN space's stage starts: no identity) run shorter rounds of their own (our choice):
 * their ops stay exactly even per layer (each trained once per K_l steps) instead of padding a K-step round with
 * repeats, and rounds of all layers restart together every lcm(K_l) steps. `pos` counts the steps into that
 * common period (lcm = K with one K, as before per-layer counts).
 */
export class FairNasSampler implements Sampler {
  readonly name = "fairnas";
  readonly numOps: number | number[];
  private rng: Rng;
  readonly #counts: number[];
  /** Steps after which every layer's round restarts: the lcm of the per-layer counts. */
  readonly #period: number;
  /** perms[l] = the op order of layer l in its current round. */
  private perms: number[][] = [];
  /** Steps into the common period, 0..period; period means every layer starts a new round at the next call. */
  private pos: number;

  constructor(readonly layers: number, numOps: number | readonly number[], seed: number) {
    [this.#counts, this.numOps] = checkShape(layers, numOps);
    const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
    this.#period = this.#counts.reduce((p, n) => (p / gcd(p, n)) * n, 1);
    this.rng = new Rng(seed);
    this.pos = this.#period;
  }

  next(): Arch {
    if (this.pos >= this.#period) this.pos = 0;
    const j = this.pos++;
    this.#counts.forEach((n, l) => {
      if (j % n === 0) this.perms[l] = this.rng.shuffle(Array.from({ length: n }, (_, k) => k));
    });
    return this.perms.map((p, l) => p[j % this.#counts[l]]);
  }

  state(): unknown {
    return { name: this.name, rng: this.rng.state(), perms: this.perms.map((p) => [...p]), pos: this.pos };
  }

  restore(state: unknown): void {
    const s = stateObject(state, this.name);
    this.rng.restore(s.rng as number);
    this.perms = (s.perms as number[][]).map((p) => [...p]);
    this.pos = s.pos as number;
  }
}

/**
 * MAGIC-T: the first child is uniform; each next child differs from the previous one in exactly m sub-layers
 * (m distinct layers chosen uniformly, each switched to a uniformly chosen *different* op).
 */
export class MagicTSampler implements Sampler {
  readonly name = "magic-t";
  readonly numOps: number | number[];
  private rng: Rng;
  private prev: Arch | null = null;
  readonly #counts: number[];

  constructor(readonly layers: number, numOps: number | readonly number[], seed: number, readonly m = 1) {
    [this.#counts, this.numOps] = checkShape(layers, numOps);
    if (!Number.isInteger(m) || m < 1 || m > layers) {
      throw new Error(`magic-t sampler: m must be an integer in [1, ${layers}] (layers), got ${m}`);
    }
    checkChangeable("magic-t", this.#counts);
    this.rng = new Rng(seed);
  }

  next(): Arch {
    let arch: Arch;
    if (this.prev === null) {
      arch = this.#counts.map((n) => this.rng.int(n));
    } else {
      arch = [...this.prev];
      // The first m entries of a random permutation = m distinct uniformly chosen layers.
      const chosen = this.rng.shuffle(Array.from({ length: this.layers }, (_, l) => l)).slice(0, this.m);
      for (const l of chosen) {
        const k = this.rng.int(this.#counts[l] - 1); // uniform over the layer's K_l-1 other ops
        arch[l] = k >= arch[l] ? k + 1 : k;
      }
    }
    this.prev = arch;
    return [...arch];
  }

  state(): unknown {
    return { name: this.name, rng: this.rng.state(), prev: this.prev && [...this.prev], m: this.m };
  }

  restore(state: unknown): void {
    const s = stateObject(state, this.name);
    if (s.m !== this.m) throw new Error(`magic-t sampler: state has m=${String(s.m)}, this sampler m=${this.m}`);
    this.rng.restore(s.rng as number);
    this.prev = s.prev === null ? null : [...(s.prev as number[])];
  }
}

/**
 * Our extension of MAGIC-T (not the paper's): consecutive children still differ in exactly one sub-layer, but
 * the change evens out coverage instead of being random. Each step switches the layer whose current op is
 * furthest above that layer's least-trained op, to its least-trained op (ties broken by the seeded rng).
 * Plain MAGIC-T keeps an op for ~L steps at random, so after a few thousand steps its per-(layer, op) counts
 * spread far more than uniform sampling's; this variant separates "one change per step" from "uneven
 * training" in the ranking experiment.
 */
export class BalancedMagicTSampler implements Sampler {
  readonly name = "magic-t-balanced";
  readonly numOps: number | number[];
  private rng: Rng;
  private prev: Arch | null = null;
  /** counts[l][k]: children produced so far with op k at layer l. */
  private counts: number[][];
  readonly #opsPerLayer: number[];

  constructor(readonly layers: number, numOps: number | readonly number[], seed: number) {
    [this.#opsPerLayer, this.numOps] = checkShape(layers, numOps);
    checkChangeable("magic-t-balanced", this.#opsPerLayer);
    this.rng = new Rng(seed);
    this.counts = this.#opsPerLayer.map((n) => new Array<number>(n).fill(0));
  }

  /** A uniformly random index among those where `score` is minimal. */
  private argminRandom(n: number, score: (i: number) => number): number {
    let best = Infinity;
    let ties: number[] = [];
    for (let i = 0; i < n; i++) {
      const v = score(i);
      if (v < best) [best, ties] = [v, [i]];
      else if (v === best) ties.push(i);
    }
    return ties[this.rng.int(ties.length)];
  }

  next(): Arch {
    let arch: Arch;
    if (this.prev === null) {
      arch = this.#opsPerLayer.map((n) => this.rng.int(n));
    } else {
      const prev = this.prev;
      arch = [...prev];
      const surplus = (l: number) => this.counts[l][prev[l]] - Math.min(...this.counts[l]);
      const layer = this.argminRandom(this.layers, (l) => -surplus(l));
      arch[layer] = this.argminRandom(this.#opsPerLayer[layer], (k) => (k === prev[layer] ? Infinity : this.counts[layer][k]));
    }
    arch.forEach((k, l) => this.counts[l][k]++);
    this.prev = arch;
    return [...arch];
  }

  state(): unknown {
    return { name: this.name, rng: this.rng.state(), prev: this.prev && [...this.prev], counts: this.counts.map((r) => [...r]) };
  }

  restore(state: unknown): void {
    const s = stateObject(state, this.name);
    this.rng.restore(s.rng as number);
    this.prev = s.prev === null ? null : [...(s.prev as number[])];
    this.counts = (s.counts as number[][]).map((r) => [...r]);
  }
}

/** Validates a sampler name; throws one clear error listing the valid names. */
export function parseSamplerName(raw: string): SamplerName {
  if (!(SAMPLER_NAMES as readonly string[]).includes(raw)) {
    throw new Error(`unknown sampler '${raw}'; use one of: ${SAMPLER_NAMES.join(", ")}`);
  }
  return raw as SamplerName;
}

/** Builds a sampler by name. `m` is used by magic-t only. */
export function makeSampler(name: string, options: SamplerOptions): Sampler {
  const { layers, numOps, seed, m } = options;
  switch (parseSamplerName(name)) {
    case "uniform":
      return new UniformSampler(layers, numOps, seed);
    case "fairnas":
      return new FairNasSampler(layers, numOps, seed);
    case "magic-t":
      return new MagicTSampler(layers, numOps, seed, m ?? 1);
    case "magic-t-balanced":
      return new BalancedMagicTSampler(layers, numOps, seed);
  }
}

/** Counts how often each (layer, op) was trained, for coverage plots. */
export class Coverage {
  /** counts[l][k] = number of recorded children with op k at layer l (rows of K_l entries). */
  readonly counts: number[][];
  readonly numOps: number | number[];
  /** Number of recorded children. */
  total = 0;

  constructor(readonly layers: number, numOps: number | readonly number[]) {
    const [perLayer, stored] = checkShape(layers, numOps);
    this.numOps = stored;
    this.counts = perLayer.map((n) => new Array<number>(n).fill(0));
  }

  add(arch: Arch): void {
    if (arch.length !== this.layers) throw new Error(`Coverage.add: arch has ${arch.length} layers, expected ${this.layers}`);
    arch.forEach((k, l) => {
      if (!Number.isInteger(k) || k < 0 || k >= this.counts[l].length) throw new Error(`Coverage.add: op ${k} at layer ${l} out of range`);
      this.counts[l][k]++;
    });
    this.total++;
  }

  toJSON(): { layers: number; numOps: number | number[]; total: number; counts: number[][] } {
    return { layers: this.layers, numOps: this.numOps, total: this.total, counts: this.counts.map((r) => [...r]) };
  }
}
