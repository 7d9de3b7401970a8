// A digest of the source files that can change a result's numbers (model, ops, kernels, data, training,
// the experiments' runners). Cache keys under runs/ include it, so a changed kernel or loop never meets an
// old run; committed tables record it as provenance (the main job then recomputes one unit to show that
// the current code still gives the committed numbers).
// Display, progress, report and view modules are left out: they cannot change a number.
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { projectPath } from "./paths";

/** Folders and files (relative to the project root) whose sources determine results. */
export const RESULT_SOURCES = [
  "lib/nas",
  "lib/train",
  "lib/data",
  "lib/native",
  "native/src",
  "native/binding.gyp",
  "lib/rng.ts",
  "lib/metrics.ts",
  "lib/backend.ts",
  "lib/wasm-kernels.ts",
  "lib/experiments/ground-truth.ts",
  "lib/experiments/supernet-run.ts",
  "lib/experiments/ranking.ts",
  "lib/experiments/interference.ts",
  "lib/jobs/ground-truth-child.ts",
  "lib/jobs/supernet-rank.ts",
  "lib/experiments/glue.ts",
  "lib/experiments/search.ts",
  "lib/experiments/glue-sweep.ts",
  "lib/experiments/compression.ts",
  "lib/interference.ts",
];

function sourceFiles(entry: string): string[] {
  const full = projectPath(entry);
  if (!fs.existsSync(full)) throw new Error(`code digest: ${entry} does not exist (update RESULT_SOURCES in lib/code-digest.ts)`);
  if (!fs.statSync(full).isDirectory()) return [entry];
  return fs
    .readdirSync(full)
    .sort()
    .flatMap((name) => sourceFiles(path.posix.join(entry, name)))
    .filter((f) => /\.(ts|c|h|gyp)$/.test(f));
}

let cached: string | null = null;

/** 12 hex digits of the SHA-256 over the paths and contents of RESULT_SOURCES (computed once per process). */
export function codeDigest(): string {
  if (cached) return cached;
  const hash = createHash("sha256");
  for (const file of RESULT_SOURCES.flatMap(sourceFiles)) {
    hash.update(file).update("\0").update(fs.readFileSync(projectPath(file))).update("\0");
  }
  cached = hash.digest("hex").slice(0, 12);
  return cached;
}
