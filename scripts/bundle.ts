// One artefact to send a colleague (`npm run reproduce -- --bundle`): <reports>/magic-lab-report.zip with the
// index, every notebook's page and executed .ipynb, its figures and raw results, and the assets the pages load
// (plotly.js and MathJax, stored once). Unzipped anywhere, index.html opens offline with working links.
// Zipped by Debian's `zip` (installed by scripts/setup.sh): one well-known tool, no npm dependency.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { writeFileAtomic } from "../lib/atomic-write";
import { ASSETS } from "./report-assets";
import { rawDataFiles, readRun } from "./report-index";

export const BUNDLE_NAME = "magic-lab-report.zip";
export const ZIP = process.env.MAGIC_ZIP ?? "zip";

/** Why the bundle cannot be zipped here, or null when it can (checked before the notebooks run). */
export function zipMissing(): string | null {
  const probe = spawnSync(ZIP, ["-v"], { encoding: "utf8" });
  return probe.error || probe.status !== 0 ? `--bundle needs \`${ZIP}\`: install Debian's zip (bash scripts/setup.sh), or set MAGIC_ZIP` : null;
}

/** The report folder's files that belong in the bundle, relative to it: what the index of `names` links to. */
export function bundleFiles(outDir: string, names: string[]): string[] {
  const files = ["index.html"];
  for (const name of names) {
    const run = readRun(outDir, name);
    if (!run) continue; // "not run" on the index: nothing to link
    files.push(`${name}.html`, `${name}.ipynb`, ...(run.figures ?? []), ...rawDataFiles(outDir, name));
  }
  const present = files.filter((f) => fs.existsSync(path.join(outDir, f)));
  return [...present, ASSETS];
}

/** Writes <outDir>/magic-lab-report.zip (atomically) for notebooks `names`; returns its path and size. */
export function writeBundle(outDir: string, names: string[]): { file: string; bytes: number; entries: string[] } {
  if (!fs.existsSync(path.join(outDir, "index.html"))) throw new Error(`no report in ${outDir}: run the notebooks first (npm run reproduce)`);
  const entries = bundleFiles(outDir, names);
  // -r: the assets folder; -X: no extra file attributes; -: the archive to stdout, written atomically below.
  const zip = spawnSync(ZIP, ["-q", "-r", "-X", "-", ...entries], { cwd: outDir, maxBuffer: 1 << 30 });
  if (zip.error) throw new Error(`${ZIP}: ${zip.error.message}; ${zipMissing() ?? ""}`);
  if (zip.status !== 0) throw new Error(`${ZIP} failed with ${zip.status}: ${zip.stderr.toString()}`);
  const file = path.join(outDir, BUNDLE_NAME);
  writeFileAtomic(file, [zip.stdout]);
  return { file, bytes: zip.stdout.length, entries };
}
