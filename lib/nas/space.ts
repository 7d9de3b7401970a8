// The NAS-BERT-style search space as data: candidate ops, per-preset sizes, and architecture utilities
// (ids, parsing, validation, parameter and FLOP counts, random children). No tensors here, so notebooks
// and the CLI can reason about architectures without a backend.
import type { Arch, OpSpec, SearchSpace } from "./types";
import type { Preset } from "../preset";
import type { Rng } from "../rng";

/** Options of `defaultOps`; every list is our choice of a compact space (~10 ops). */
export interface OpListArgs {
  /** Attention head counts; counts that do not divide `hidden` are dropped. */
  heads: number[];
  /** FFN inner sizes as multiples of `hidden`. */
  ffnMults: number[];
  /** SepConv kernel sizes (odd, for symmetric same padding). */
  kernels: number[];
  /** Include the identity op (a child may skip a sub-layer). */
  identity: boolean;
}

const DEFAULT_OP_LIST: OpListArgs = {
  heads: [2, 4, 8], // NAS-BERT uses {8, 12, 16} at hidden 768; scaled down with the hidden size
  ffnMults: [1, 2, 4], // BERT's 4x plus two cheaper widths
  kernels: [3, 5, 7], // as in NAS-BERT
  identity: true,
};

/** The candidate list: attention (`att<h>`), FFN (`ffn<inner>`), SepConv (`conv<k>`), identity (`id`). */
export function defaultOps(hidden: number, args: Partial<OpListArgs> = {}): OpSpec[] {
  const a = { ...DEFAULT_OP_LIST, ...args };
  const ops: OpSpec[] = [];
  for (const heads of a.heads) if (hidden % heads === 0) ops.push({ kind: "attention", name: `att${heads}`, heads });
  for (const m of a.ffnMults) ops.push({ kind: "ffn", name: `ffn${Math.round(hidden * m)}`, inner: Math.round(hidden * m) });
  for (const kernel of a.kernels) {
    if (kernel % 2 !== 1) throw new Error(`defaultOps: SepConv kernel must be odd, got ${kernel}`);
    ops.push({ kind: "sepconv", name: `conv${kernel}`, kernel });
  }
  if (a.identity) ops.push({ kind: "identity", name: "id" });
  return ops;
}

function preset(id: string, layers: number, hidden: number, seqLen: number, ops: OpSpec[]): Omit<SearchSpace, "vocabSize"> {
  return { id, layers, hidden, seqLen, ops };
}

/**
 * Space sizes per preset. `small` is sized for the 2-core CPU: a supernet step (forward, backward, SGD)
 * of a random child at batch 32 takes a median ~130 ms of CPU on wasm, ~260 ms at T=64 (tfjs-wasm runs the
 * attention's batched matMuls on a slow scalar path); test/supernet.test.ts prints the measurement.
 * `paper` describes the paper's scale (NAS-BERT: 24 sub-layers, hidden 768) for big machines.
 */
export const SPACE_PRESETS: Record<Preset, Omit<SearchSpace, "vocabSize">> = {
  tiny: preset("tiny-L4-D32-T32", 4, 32, 32, defaultOps(32)), // T matches lib/data DATA_PRESETS
  small: preset("small-L8-D64-T32", 8, 64, 32, defaultOps(64)),
  paper: preset(
    "paper-L24-D768-T128",
    24,
    768,
    128,
    defaultOps(768, { heads: [8, 12, 16], ffnMults: [512 / 768, 1024 / 768, 2048 / 768, 3072 / 768, 4096 / 768] }),
  ),
};

/** The preset's space with the tokenizer's vocabulary size; checks op names are unique and '-'-free. */
export function makeSpace(p: Preset, vocabSize: number): SearchSpace {
  if (!Number.isInteger(vocabSize) || vocabSize < 2) throw new Error(`makeSpace: vocabSize must be an integer >= 2, got ${vocabSize}`);
  const base = SPACE_PRESETS[p];
  const space: SearchSpace = { ...base, ops: base.ops.map((o) => ({ ...o })), vocabSize };
  checkSpace(space);
  return space;
}

/** Throws if op names are not unique or contain '-' (the archId separator), or a size is invalid. */
export function checkSpace(space: SearchSpace): void {
  const names = new Set<string>();
  for (const op of space.ops) {
    if (!op.name || op.name.includes("-") || names.has(op.name)) {
      throw new Error(`space ${space.id}: op name '${op.name}' must be non-empty, unique and without '-'`);
    }
    names.add(op.name);
    if (op.kind === "attention" && space.hidden % op.heads !== 0) {
      throw new Error(`space ${space.id}: op ${op.name}: ${op.heads} heads do not divide hidden ${space.hidden}`);
    }
  }
  if (space.ops.length === 0 || space.layers < 1) throw new Error(`space ${space.id}: needs >= 1 layer and >= 1 op`);
}

/** What arch parsing and validation need of a space: no vocabulary, so the CLI checks --arch before preparing data. */
type ArchShape = Pick<SearchSpace, "id" | "layers" | "ops">;

function allowed(space: { ops: { name: string }[] }): string {
  return `0..${space.ops.length - 1} (${space.ops.map((o, i) => `${i}=${o.name}`).join(", ")})`;
}

/** Throws a clear error (which layer, which value, what is allowed) unless `arch` is a child of `space`. */
export function validateArch(space: ArchShape, arch: unknown): asserts arch is Arch {
  if (!Array.isArray(arch)) throw new Error(`arch must be an array of ${space.layers} op indices, got ${JSON.stringify(arch)}`);
  if (arch.length !== space.layers) {
    throw new Error(`arch has ${arch.length} layers, space ${space.id} has ${space.layers}: ${JSON.stringify(arch)}`);
  }
  arch.forEach((v, l) => {
    if (!Number.isInteger(v) || v < 0 || v >= space.ops.length) {
      throw new Error(`arch layer ${l}: value ${JSON.stringify(v)} is not an op index; allowed ${allowed(space)}`);
    }
  });
}

/** Stable readable id: op names joined by '-', e.g. `att4-ffn128-conv3-id`. */
export function archId(space: SearchSpace, arch: Arch): string {
  validateArch(space, arch);
  return arch.map((i) => space.ops[i].name).join("-");
}

/**
 * The op indices named by `text` (an arch id, or a JSON array of op indices and/or op names), not yet
 * validated against the space's layers: the parsing every search space shares.
 */
export function archTokens(space: { ops: { name: string }[] }, text: string): number[] {
  const s = text.trim();
  let items: unknown[];
  if (s.startsWith("[")) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(s);
    } catch (e) {
      throw new Error(`arch ${s} is not valid JSON (${(e as Error).message})`);
    }
    if (!Array.isArray(parsed)) throw new Error(`arch must be a JSON array or an arch id, got ${s}`);
    items = parsed;
  } else {
    items = s.split("-");
  }
  return items.map((v, l) => {
    if (typeof v === "number") return v;
    const i = space.ops.findIndex((o) => o.name === v);
    if (i < 0) throw new Error(`arch layer ${l}: unknown op ${JSON.stringify(v)}; allowed ${allowed(space)}`);
    return i;
  });
}

/** Accepts an `archId`, or a JSON array of op indices and/or op names. */
export function parseArch(space: ArchShape, text: string): Arch {
  const arch = archTokens(space, text);
  validateArch(space, arch);
  return arch;
}

/** Parameters of one op's whole post-LN block (op weights + its LayerNorm's gamma and beta). */
export function opParamCount(space: SearchSpace, op: OpSpec): number {
  const d = space.hidden;
  switch (op.kind) {
    case "attention":
      return 4 * d * d + 4 * d + 2 * d; // Q, K, V, output: [D,D]+[D] each, LN
    case "ffn":
      return 2 * d * op.inner + op.inner + d + 2 * d; // [D,I]+[I], [I,D]+[D], LN
    case "sepconv":
      return op.kernel * d + d + d * d + d + 2 * d; // depthwise [k,D]+[D], pointwise [D,D]+[D], LN
    case "identity":
      return 0;
  }
}

/**
 * Parameters every child shares: token [V,D] and position [T,D] embeddings, embedding LN, MLM head
 * (dense [D,D]+[D], LN, output bias [V]; the output projection is tied to the token embedding).
 */
export function sharedParamCount(space: SearchSpace): number {
  const { vocabSize: v, seqLen: t, hidden: d } = space;
  return v * d + t * d + 2 * d + (d * d + d + 2 * d + v);
}

/** Parameters of child `arch`: shared + chosen ops. Equals the size of `Supernet.trainableVariables(arch)`. */
export function paramCount(space: SearchSpace, arch: Arch): number {
  validateArch(space, arch);
  return sharedParamCount(space) + arch.reduce((n, i) => n + opParamCount(space, space.ops[i]), 0);
}

/**
 * Forward FLOPs of child `arch` on one sequence of `seqLen` tokens, counted as 2 x multiply-adds of
 * matmuls and convolutions (embedding lookups, LayerNorm, softmax, activations ignored). Per op:
 * attention 2*(4*T*D^2 + 2*T^2*D) (projections, QK^T, PV); FFN 2*(2*T*D*I); SepConv 2*(T*D*k + T*D^2);
 * head 2*(T*D^2 + T*D*V) (all T positions, although training only scores the masked ones).
 */
export function flops(space: SearchSpace, arch: Arch): number {
  validateArch(space, arch);
  const { seqLen: t, hidden: d, vocabSize: v } = space;
  let macs = t * d * d + t * d * v;
  for (const i of arch) {
    const op = space.ops[i];
    if (op.kind === "attention") macs += 4 * t * d * d + 2 * t * t * d;
    else if (op.kind === "ffn") macs += 2 * t * d * op.inner;
    else if (op.kind === "sepconv") macs += t * d * op.kernel + t * d * d;
  }
  return 2 * macs;
}

/** A uniformly random child (each layer's op independently uniform). */
export function randomArch(space: SearchSpace, rng: Rng): Arch {
  return Array.from({ length: space.layers }, () => rng.int(space.ops.length));
}

/** The child with the most parameters (per layer the largest op; the first on ties). */
export function largestArch(space: SearchSpace): Arch {
  const sizes = space.ops.map((o) => opParamCount(space, o));
  const best = sizes.indexOf(Math.max(...sizes));
  return Array.from({ length: space.layers }, () => best);
}
