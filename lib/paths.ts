// The project's root folder, found from this file's location: lib/ runs both from source (lib/*.ts via tsx)
// and compiled (dist/lib/*.js, imported by the notebooks), so a fixed "../.." would be wrong in one of them.
import * as fs from "node:fs";
import * as path from "node:path";

function findRoot(start: string): string {
  for (let dir = start; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, "package.json")) && fs.existsSync(path.join(dir, "lib"))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`cannot find the MAGIC-lab root above ${start}`);
  }
}

export const PROJECT_ROOT = findRoot(__dirname);

/** A path under the project root. */
export function projectPath(...parts: string[]): string {
  return path.join(PROJECT_ROOT, ...parts);
}

/** Where training runs (checkpoints, cached results) go: `MAGIC_RUNS_DIR`, default `<root>/runs`. */
export function runsPath(...parts: string[]): string {
  return path.join(process.env.MAGIC_RUNS_DIR || projectPath("runs"), ...parts);
}

/**
 * Where notebooks write their raw results (JSON, CSV): `MAGIC_REPORTS_DIR`, default `<root>/reports`.
 * scripts/reproduce.ts sets it to its --out directory, so the raw files sit next to the HTML reports.
 */
export function reportsPath(...parts: string[]): string {
  return path.join(process.env.MAGIC_REPORTS_DIR || projectPath("reports"), ...parts);
}

/**
 * Where the committed result tables are loaded from and written to (`ground-truth/`, `ranking/`):
 * `MAGIC_TABLES_DIR`, default `<root>/data`; tests point it elsewhere so a rebuild never overwrites them.
 */
export function tablesPath(...parts: string[]): string {
  return path.join(process.env.MAGIC_TABLES_DIR ?? projectPath("data"), ...parts);
}
