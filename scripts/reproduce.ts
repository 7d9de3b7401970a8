// The main job (`npm run reproduce`): builds dist/, runs notebooks/*.ipynb in name order through Jupyter
// with the tslab kernel, and writes reports/<name>.ipynb, reports/<name>.html (offline, interactive, loading
// plotly.js and MathJax from reports/assets/), every plot as reports/figures/<name>-<n>.png|svg
// and reports/index.html, with the notebooks' raw results (JSON, CSV) next to them (--out, default
// $MAGIC_REPORTS_DIR or reports/). Exits non-zero if any notebook fails, after printing the failing cell's error.
// A notebook whose committed tables are not built yet at the preset (notebookWaiting) is not run unless named
// with --only: it is listed as waiting, with the command that builds its first missing table.
import { spawn, spawnSync } from "child_process";
import { Option } from "commander";
import * as fs from "fs";
import * as path from "path";
import { createInterface } from "readline";
import { checkEnvironment, checkWritableFolder, cliProgram, numberOption, runCli } from "../lib/cli";
import { UserError } from "../lib/errors";
import { currentPreset, PRESETS, type Preset } from "../lib/preset";
import { reportsPath } from "../lib/paths";
import { BUNDLE_NAME, writeBundle, zipMissing } from "./bundle";
import { FigureExport, writeFigures } from "./figures";
import { MATHJAX_SRC, PLOTLY_SRC, mathjaxMissing, writeReportAssets } from "./report-assets";
import { NotebookRun, failedCell, metaPath, renderIndex } from "./report-index";
import { missingCnnTables } from "../lib/experiments/cnn-tables";

export const ROOT = path.resolve(__dirname, "..");
/** The Python with Jupyter (nbclient, nbconvert): Debian's, not a pyenv one on PATH. */
export const PYTHON = process.env.MAGIC_PYTHON ?? "/usr/bin/python3";
const KERNEL_DIR = path.join(ROOT, ".jupyter", "share", "jupyter");

/** Seconds allowed per notebook unless --timeout says otherwise. */
export const DEFAULT_TIMEOUT: Record<Preset, number> = { tiny: 900, small: 3600, paper: 48 * 3600 };

/** Why notebooks cannot run and render here (no Jupyter, no registered tslab kernel, no MathJax), or null if they can. */
export function jupyterMissing(): string | null {
  const probe = spawnSync(PYTHON, ["-c", "import nbclient, nbconvert"], { encoding: "utf8" });
  if (probe.error || probe.status !== 0) {
    return `${PYTHON} cannot import nbclient/nbconvert (install Debian's jupyter-nbconvert, or set MAGIC_PYTHON)`;
  }
  if (!fs.existsSync(path.join(KERNEL_DIR, "kernels", "tslab", "kernel.json"))) {
    return `no tslab kernel in ${KERNEL_DIR}: run \`npm run setup\` first`;
  }
  return mathjaxMissing();
}

/** Compiles lib/ to dist/, which notebooks import (tslab cannot import ../lib/*.ts). */
export function buildDist(): void {
  const tsc = spawnSync(path.join(ROOT, "node_modules", ".bin", "tsc"), ["-p", "tsconfig.build.json"], { cwd: ROOT, encoding: "utf8" });
  if (tsc.status !== 0) throw new Error(`building dist failed (tsc -p tsconfig.build.json):\n${tsc.stdout}${tsc.stderr}`);
}

/**
 * Why notebook `name` cannot run at `preset` yet, or null: 06-imagenet above tiny only loads committed CNN tables
 * (hours to build; lib/experiments/cnn-tables.ts), so while one is missing the main job does not run it and says so.
 */
export function notebookWaiting(name: string, preset: Preset): string | null {
  return name.startsWith("06-") && preset !== "tiny" ? missingCnnTables(preset) : null;
}

/** Notebook names (without .ipynb) in `dir`, in name order, filtered by comma-separated substrings. */
export function listNotebooks(dir: string, only?: string): string[] {
  const patterns = (only ?? "").split(",").map((p) => p.trim()).filter(Boolean);
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith(".ipynb"))
    .map((f) => f.slice(0, -".ipynb".length))
    .filter((n) => patterns.length === 0 || patterns.some((p) => n.includes(p)))
    .sort();
}

export interface RunOptions {
  notebooksDir: string;
  outDir: string;
  preset: Preset;
  timeoutSeconds: number;
  /** Seconds a cell's outputs may take to arrive after the cell ends (default: the driver's, 300). */
  iopubTimeoutSeconds?: number;
  /** Receives progress lines (one per finished cell). */
  log?: (line: string) => void;
}

interface DriverResult {
  status: "ok" | "failed";
  cell: number | null;
  prompt: number | null;
  error: string;
}

/** Parses the driver's last stdout line; anything else means the driver itself broke. */
function parseDriver(stdout: string, stderr: string, code: number | null): DriverResult {
  const last = stdout.trim().split("\n").pop() ?? "";
  try {
    return JSON.parse(last) as DriverResult;
  } catch {
    return { status: "failed", cell: null, prompt: null, error: `notebook driver exited with ${code}:\n${stderr.trim() || stdout.trim()}` };
  }
}

/** Executes one notebook; writes <outDir>/<name>.{ipynb,html,meta.json}. Never throws for a notebook failure. */
export async function runNotebook(name: string, options: RunOptions): Promise<NotebookRun> {
  const meta = metaPath(options.outDir, name);
  fs.rmSync(meta, { force: true }); // the notebook merges its key result into a fresh file
  writeReportAssets(options.outDir);
  const env = {
    ...process.env,
    JUPYTER_PATH: [KERNEL_DIR, process.env.JUPYTER_PATH].filter(Boolean).join(path.delimiter),
    MAGIC_PRESET: options.preset,
    MAGIC_REPORT_META: meta,
    MAGIC_REPORTS_DIR: path.resolve(options.outDir), // the notebooks' raw results go next to their HTML
  };
  const args = [
    path.join(ROOT, "scripts", "run_notebook.py"),
    path.join(options.notebooksDir, `${name}.ipynb`),
    "--out-ipynb", path.join(options.outDir, `${name}.ipynb`),
    "--out-html", path.join(options.outDir, `${name}.html`),
    "--plotly-src", PLOTLY_SRC,
    "--mathjax-src", MATHJAX_SRC,
    "--timeout", String(options.timeoutSeconds),
    ...(options.iopubTimeoutSeconds === undefined ? [] : ["--iopub-timeout", String(options.iopubTimeoutSeconds)]),
  ];
  const start = Date.now();
  const { stdout, stderr, code } = await new Promise<{ stdout: string; stderr: string; code: number | null }>((resolve) => {
    const child = spawn(PYTHON, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    // The driver logs one line per finished cell on stderr: pass them on as they come.
    createInterface({ input: child.stderr }).on("line", (line) => {
      err += `${line}\n`;
      options.log?.(`    ${name}: ${line}`);
    });
    child.on("error", (e) => resolve({ stdout: out, stderr: `${err}${e.message}`, code: null }));
    child.on("close", (c) => resolve({ stdout: out, stderr: err, code: c }));
  });
  const result = parseDriver(stdout, stderr, code);
  let own = {};
  try {
    own = JSON.parse(fs.readFileSync(meta, "utf8"));
  } catch {
    // the notebook recorded nothing (it failed early or does not call keyResult)
  }
  const figures = exportFigures(options.outDir, name);
  const run: NotebookRun = {
    ...own,
    ...figures,
    name,
    status: result.status === "ok" && code === 0 ? "ok" : "failed",
    seconds: (Date.now() - start) / 1000,
    preset: options.preset,
    finishedAt: new Date().toISOString(),
    ...(result.status === "ok" ? {} : { cell: result.cell, prompt: result.prompt, error: result.error }),
  };
  fs.writeFileSync(meta, `${JSON.stringify(run, null, 2)}\n`);
  return run;
}

/**
 * The notebook's plots as PNG and SVG (scripts/figures.ts), with the seconds that took; a plot or a Chromium
 * that fails is recorded in `figureErrors` (shown on the index and logged) and does not fail the notebook.
 */
function exportFigures(outDir: string, name: string): Pick<NotebookRun, "figures" | "figureErrors" | "figureSeconds"> {
  if (!fs.existsSync(path.join(outDir, `${name}.ipynb`))) return {};
  const start = Date.now();
  let exported: FigureExport;
  try {
    exported = writeFigures(outDir, name);
  } catch (e) {
    exported = { files: [], errors: [`${name}: ${(e as Error).message}`] };
  }
  return {
    figures: exported.files,
    ...(exported.errors.length ? { figureErrors: exported.errors } : {}),
    figureSeconds: (Date.now() - start) / 1000,
  };
}

/** Runs `names` in order, logging one line per notebook, and rewrites the index after each one. */
export async function runAll(names: string[], options: RunOptions): Promise<NotebookRun[]> {
  const log = options.log ?? (() => undefined);
  fs.mkdirSync(options.outDir, { recursive: true });
  const all = listNotebooks(options.notebooksDir);
  const runs: NotebookRun[] = [];
  for (const [i, name] of names.entries()) {
    log(`[${i + 1}/${names.length}] ${name}: running (preset ${options.preset}, timeout ${options.timeoutSeconds} s)`);
    const run = await runNotebook(name, options);
    runs.push(run);
    if (run.status === "ok") {
      log(`[${i + 1}/${names.length}] ${name}: ok in ${run.seconds.toFixed(1)} s` +
        `${run.backend ? ` on ${run.backend}` : ""}${run.keyResult ? ` | ${run.keyResult}` : ""}`);
    } else {
      log(`[${i + 1}/${names.length}] ${name}: FAILED after ${run.seconds.toFixed(1)} s in ${failedCell(run)}:\n${run.error}`);
    }
    if (run.figures?.length) log(`[${i + 1}/${names.length}] ${name}: ${run.figures.length / 2} figures (PNG + SVG) in ${run.figureSeconds?.toFixed(1)} s`);
    for (const e of run.figureErrors ?? []) log(`[${i + 1}/${names.length}] FIGURE NOT EXPORTED: ${e}`);
    fs.writeFileSync(path.join(options.outDir, "index.html"), renderIndex(options.outDir, all));
  }
  return runs;
}

async function main(): Promise<number> {
  const program = cliProgram("reproduce")
    .description("Run the notebooks through Jupyter and write reports/")
    .option("--only <patterns>", "run only notebooks whose name contains one of these comma-separated substrings")
    // No commander default: MAGIC_PRESET is read below, so --help works whatever the environment says.
    .addOption(new Option("--preset <name>", "experiment scale (default: $MAGIC_PRESET, else small)").choices(PRESETS))
    .option("--timeout <seconds>", "seconds per notebook (default: 900 tiny, 3600 small, 172800 paper)", numberOption("--timeout", { positive: true }))
    .option("--notebooks <dir>", "notebook directory", path.join(ROOT, "notebooks"))
    .option("--out <dir>", "report directory, where the notebooks also write their raw results (default from MAGIC_REPORTS_DIR)", reportsPath())
    .option("--bundle", `then also write <out>/${BUNDLE_NAME}: the index, pages, figures, raw results and assets in one file`)
    .parse();
  const opts = program.opts<{ only?: string; preset?: Preset; timeout?: number; notebooks: string; out: string; bundle?: boolean }>();
  checkEnvironment(); // the notebooks read MAGIC_*: a bad value fails here, not in every notebook
  const preset = opts.preset ?? currentPreset();
  const timeoutSeconds = opts.timeout ?? DEFAULT_TIMEOUT[preset];
  if (!fs.existsSync(opts.notebooks) || !fs.statSync(opts.notebooks).isDirectory()) {
    throw new UserError(`--notebooks ${opts.notebooks} is not a folder; give the folder of the .ipynb files`);
  }
  checkWritableFolder("--out", opts.out);
  const missing = jupyterMissing() ?? (opts.bundle ? zipMissing() : null);
  if (missing) throw new UserError(missing);
  const listed = listNotebooks(opts.notebooks, opts.only);
  if (listed.length === 0) throw new UserError(`no notebooks in ${opts.notebooks}${opts.only ? ` match --only '${opts.only}'` : ""}`);
  // Named with --only, a waiting notebook runs (and stops at its first cell with the same message).
  const waiting = opts.only ? [] : listed.flatMap((name) => {
    const why = notebookWaiting(name, preset);
    return why ? [{ name, why }] : [];
  });
  for (const w of waiting) console.log(`${w.name}: NOT RUN at preset ${preset}, waiting for its committed tables: ${w.why}`);
  const names = listed.filter((name) => !waiting.some((w) => w.name === name));

  console.log("building dist/ (tsc -p tsconfig.build.json)");
  buildDist();
  const runs = await runAll(names, {
    notebooksDir: path.resolve(opts.notebooks),
    outDir: path.resolve(opts.out),
    preset,
    timeoutSeconds,
    log: (line) => console.log(line),
  });
  const failed = runs.filter((r) => r.status === "failed");
  const total = runs.reduce((s, r) => s + r.seconds, 0);
  const figureSeconds = runs.reduce((s, r) => s + (r.figureSeconds ?? 0), 0);
  console.log(`${runs.length - failed.length}/${runs.length} notebooks ok in ${total.toFixed(1)} s (of which ${figureSeconds.toFixed(1)} s exporting figures)` +
    `${waiting.length ? `, ${waiting.length} not run (waiting for committed tables: ${waiting.map((w) => w.name).join(", ")})` : ""}; ` +
    `report: ${path.join(path.resolve(opts.out), "index.html")}`);
  if (opts.bundle) {
    const bundle = writeBundle(path.resolve(opts.out), listNotebooks(opts.notebooks));
    console.log(`bundle: ${bundle.file} (${(bundle.bytes / 1e6).toFixed(1)} MB, ${bundle.entries.length} entries at its top level)`);
  }
  for (const r of failed) console.error(`FAILED ${r.name}, ${failedCell(r)}: ${(r.error ?? "").split("\n").find((l) => l.trim()) ?? ""}`);
  return failed.length ? 1 : 0;
}

if (require.main === module) runCli(main);
