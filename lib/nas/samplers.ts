// Child samplers for supernet training. They see only the shape of the space (L layers, K ops per layer),
// never the model, so they can be tested and plotted on their own. All randomness comes from one seeded Rng
// whose state is part of state(), so a resumed run continues the exact same sequence of children.
import { Rng } from "../rng";
import type { Arch, Sampler } from "./types";

export const SAMPLER_NAMES = ["uniform", "fairnas", "magic-t", "magic-t-balanced"] as const;
export type SamplerName = (typeof SAMPLER_NAMES)[number];

export interface SamplerOptions {
  /** Number of sub-layers L. */
  layers: number;
  /** Number of candidate ops K per layer. */
  numOps: number;
  /** Seed of the sampler's own RNG stream. */
  seed: number;
  /** magic-t only: how many sub-layers change between consecutive children (default 1; 1 <= m <= L). */
  m?: number;
}

function checkShape(layers: number, numOps: number): void {
  if (!Number.isInteger(layers) || layers < 1) throw new Error(`sampler: layers must be a positive integer, got ${layers}`);
  if (!Number.isInteger(numOps) || numOps < 1) throw new Error(`sampler: numOps must be a positive integer, got ${numOps}`);
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
  private rng: Rng;

  constructor(readonly layers: number, readonly numOps: number, seed: number) {
    checkShape(layers, numOps);
    this.rng = new Rng(seed);
  }

  next(): Arch {
    return Array.from({ length: this.layers }, () => this.rng.int(this.numOps));
  }

  state(): unknown {
    return { name: this.name, rng: this.rng.state() };
  }

  restore(state: unknown): void {
    this.rng.restore(stateObject(state, this.name).rng as number);
  }
}

/**
 * FairNAS strict fairness: rounds of K steps; at the start of a round each layer draws an independent random
 * permutation of its K ops, and step j of the round uses the j-th entry, so every (layer, op) is trained
 * exactly once per round.
 */
export class FairNasSampler implements Sampler {
  readonly name = "fairnas";
  private rng: Rng;
  /** perms[l] = the op order of layer l in the current round. */
  private perms: number[][] = [];
  /** Position inside the current round, 0..K; K means a new round starts at the next call. */
  private pos: number;

  constructor(readonly layers: number, readonly numOps: number, seed: number) {
    checkShape(layers, numOps);
    this.rng = new Rng(seed);
    this.pos = numOps;
  }

  next(): Arch {
    if (this.pos >= this.numOps) {
      this.perms = Array.from({ length: this.layers }, () =>
        this.rng.shuffle(Array.from({ length: this.numOps }, (_, k) => k)),
      );
      this.pos = 0;
    }
    const j = this.pos++;
    return this.perms.map((p) => p[j]);
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
  private rng: Rng;
  private prev: Arch | null = null;

  constructor(readonly layers: number, readonly numOps: number, seed: number, readonly m = 1) {
    checkShape(layers, numOps);
    if (!Number.isInteger(m) || m < 1 || m > layers) {
      throw new Error(`magic-t sampler: m must be an integer in [1, ${layers}] (layers), got ${m}`);
    }
    if (numOps < 2) throw new Error("magic-t sampler: needs at least 2 ops per layer to change a sub-layer");
    this.rng = new Rng(seed);
  }

  next(): Arch {
    let arch: Arch;
    if (this.prev === null) {
      arch = Array.from({ length: this.layers }, () => this.rng.int(this.numOps));
    } else {
      arch = [...this.prev];
      // The first m entries of a random permutation = m distinct uniformly chosen layers.
      const chosen = this.rng.shuffle(Array.from({ length: this.layers }, (_, l) => l)).slice(0, this.m);
      for (const l of chosen) {
        const k = this.rng.int(this.numOps - 1); // uniform over the K-1 other ops
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
  private rng: Rng;
  private prev: Arch | null = null;
  /** counts[l][k]: children produced so far with op k at layer l. */
  private counts: number[][];

  constructor(readonly layers: number, readonly numOps: number, seed: number) {
    checkShape(layers, numOps);
    if (numOps < 2) throw new Error("magic-t-balanced sampler: needs at least 2 ops per layer to change a sub-layer");
    this.rng = new Rng(seed);
    this.counts = Array.from({ length: layers }, () => new Array<number>(numOps).fill(0));
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
      arch = Array.from({ length: this.layers }, () => this.rng.int(this.numOps));
    } else {
      const prev = this.prev;
      arch = [...prev];
      const surplus = (l: number) => this.counts[l][prev[l]] - Math.min(...this.counts[l]);
      const layer = this.argminRandom(this.layers, (l) => -surplus(l));
      arch[layer] = this.argminRandom(this.numOps, (k) => (k === prev[layer] ? Infinity : this.counts[layer][k]));
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
  /** counts[l][k] = number of recorded children with op k at layer l. */
  readonly counts: number[][];
  /** Number of recorded children. */
  total = 0;

  constructor(readonly layers: number, readonly numOps: number) {
    checkShape(layers, numOps);
    this.counts = Array.from({ length: layers }, () => new Array<number>(numOps).fill(0));
  }

  add(arch: Arch): void {
    if (arch.length !== this.layers) throw new Error(`Coverage.add: arch has ${arch.length} layers, expected ${this.layers}`);
    arch.forEach((k, l) => {
      if (!Number.isInteger(k) || k < 0 || k >= this.numOps) throw new Error(`Coverage.add: op ${k} at layer ${l} out of range`);
      this.counts[l][k]++;
    });
    this.total++;
  }

  toJSON(): { layers: number; numOps: number; total: number; counts: number[][] } {
    return { layers: this.layers, numOps: this.numOps, total: this.total, counts: this.counts.map((r) => [...r]) };
  }
}
