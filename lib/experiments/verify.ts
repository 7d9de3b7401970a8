// Committed tables: loading a committed unit only for the configuration it was computed for, and verifying
// one by recomputing it from scratch in a folder of its own (no cache, no checkpoint, removed afterwards) and
// comparing the numbers. The ground-truth, ranking and interference runners use it.
import * as fs from "node:fs";
import { UserError } from "../errors";
import { readJsonIfExists } from "../json-file";
import { runsPath } from "../paths";
import { backendName, backendPlatform } from "../backend";

/**
 * Losses computed where float32 sums run in another order (another backend, or native on a CPU whose OpenBLAS
 * kernels or vector code differ) agree to this after a full run.
 */
export const CROSS_PLATFORM_TOLERANCE = 1e-3;

/** Runs `recompute` with a fresh folder runs/verify/<name>-<pid>, removed afterwards; also returns its seconds. */
export async function inFreshRunFolder<T>(name: string, recompute: (dir: string) => Promise<T>): Promise<{ value: T; seconds: number }> {
  const dir = runsPath("verify", `${name}-${process.pid}`);
  fs.rmSync(dir, { recursive: true, force: true });
  const t0 = Date.now();
  try {
    return { value: await recompute(dir), seconds: (Date.now() - t0) / 1000 };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The provenance every committed unit (ranking, interference) records, and where an in-memory copy came from. */
export interface CommittedProvenance {
  configHash: string;
  codeDigest: string;
  backend: string;
  /** Where its sums ran (`backendPlatform()`); units committed before it was recorded lack it. */
  platform?: string;
  /** Committed units only: the git commit and date they were computed at. */
  codeVersion?: string;
  createdAt?: string;
  /** Trained now, a finished run (or measurement) under runs/, or the committed table under data/. */
  source?: "computed" | "cache" | "committed";
}

/**
 * One sentence on where `units` came from, for a notebook's provenance: how many were loaded from the
 * committed tables (`committed`), found finished under runs/ (`cached`), and computed now (`computed`).
 */
export function sourcesSentence(units: CommittedProvenance[], what: string, where: { committed: string; cached: string; computed: string }): string {
  const count = (s: CommittedProvenance["source"]) => units.filter((u) => u.source === s).length;
  return `${units.length} ${what}: ${count("committed")} loaded from ${where.committed}, ${count("cache")} from ${where.cached}, ${count("computed")} ${where.computed}.`;
}

/**
 * The committed unit in `file` marked `source: "committed"`, or null when there is none. One computed for
 * another configuration hash is a UserError naming `rebuild`, the command that recomputes it.
 */
export function readCommittedUnit<T extends CommittedProvenance>(file: string, hash: string, rebuild: string): T | null {
  const committed = readJsonIfExists<T>(file);
  if (!committed) return null;
  if (committed.configHash !== hash) {
    throw new UserError(`${file} was computed for config hash ${committed.configHash}, the current configuration hashes to ${hash}; ` +
      `rebuild it with \`${rebuild}\`, or delete it`);
  }
  return { ...committed, source: "committed" };
}

/** Where numbers were computed: the backend and, when recorded, its platform (`backendPlatform()`). */
export interface ComputedOn {
  backend: string;
  platform?: string;
}

/** This process's backend and platform, as results record them. */
export function computedHere(): Required<ComputedOn> {
  return { backend: backendName(), platform: backendPlatform() };
}

/**
 * Numbers bit-equality can hold and a tolerance cannot: class predictions and the metrics counted from them. On one
 * platform they must be bit-equal like the rest; across platforms a prediction at a near-tie (a fine-tuned model at
 * chance has many) can flip, so they are counted in the basis, not compared.
 */
export interface DiscreteNumbers {
  committed: number[];
  recomputed: number[];
  /** What they are, for the basis: "dev predictions and metrics". */
  what: string;
}

/** What comparing recomputed numbers with committed ones found (see `agreement`). */
export interface Agreement {
  /** Largest absolute difference between committed and recomputed numbers. */
  maxAbsDiff: number;
  /** 0 (bit-equal required) where both ran on one recorded platform, else CROSS_PLATFORM_TOLERANCE. */
  tolerance: number;
  ok: boolean;
  /** Why that tolerance, for the notebook's sentence: the platforms compared. */
  basis: string;
}

/** What verifying one committed (scheme, seed) unit found (ranking and interference units alike). */
export interface UnitCheck extends Agreement {
  scheme: string;
  seed: number;
  /** Wall-clock seconds of the recomputation (training from scratch included). */
  seconds: number;
}

/**
 * The largest difference between committed and recomputed numbers (paired by position) and whether it is
 * allowed. Bit-equality is required where both ran on the same recorded platform. Elsewhere the sums may run in
 * another order, so CROSS_PLATFORM_TOLERANCE applies: on another backend, on native with another CPU's kernels, and
 * where the committed numbers do not record their platform (tables computed before it was recorded; they
 * recompute bit-equal on the machines that built them). A missing number makes the difference NaN, which is
 * never allowed.
 */
export function agreement(committed: number[], recomputed: number[], committedOn: ComputedOn, recomputedOn: ComputedOn, discrete?: DiscreteNumbers): Agreement {
  const samePlatform = committedOn.backend === recomputedOn.backend && committedOn.platform !== undefined && committedOn.platform === recomputedOn.platform;
  const largest = (a: number[], b: number[]) => Math.max(...a.map((c, i) => Math.abs(b[i] - c)));
  const maxAbsDiff = samePlatform && discrete ? largest([...committed, ...discrete.committed], [...recomputed, ...discrete.recomputed]) : largest(committed, recomputed);
  const basis =
    committedOn.backend !== recomputedOn.backend
      ? `committed on ${committedOn.backend}, recomputed on ${recomputedOn.backend}`
      : committedOn.platform === undefined
        ? `committed on ${committedOn.backend} without a record of its platform, recomputed on ${recomputedOn.platform ?? recomputedOn.backend}`
        : committedOn.platform !== recomputedOn.platform
          ? `committed on ${committedOn.platform}, recomputed on ${recomputedOn.platform ?? recomputedOn.backend}`
          : `committed and recomputed on ${committedOn.platform}: bit-equal required`;
  const tolerance = samePlatform ? 0 : CROSS_PLATFORM_TOLERANCE;
  if (samePlatform || !discrete) return { maxAbsDiff, tolerance, ok: maxAbsDiff <= tolerance, basis };
  const sameLength = discrete.committed.length === discrete.recomputed.length;
  const differing = discrete.committed.filter((c, i) => c !== discrete.recomputed[i]).length;
  const note = `${differing} of ${discrete.committed.length} ${discrete.what} differ, not compared: a class flips at a near-tie when sums run in another order`;
  return { maxAbsDiff, tolerance, ok: maxAbsDiff <= tolerance && sameLength, basis: `${basis}; ${note}` };
}
