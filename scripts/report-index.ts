// reports/index.html: one row per notebook with its status, run time, preset, backend and key result, links to
// its page, executed notebook, figures (PNG, SVG) and raw results (JSON, CSV).
// Rows come from reports/<name>.meta.json, so a run of a subset (--only) keeps the other rows.
import * as fs from "fs";
import * as path from "path";
import { escapeHtml } from "../lib/display";
import { NotebookMeta } from "../lib/report";

/** What the runner adds to the notebook's own meta (lib/report.ts) after running it. */
export interface NotebookRun extends NotebookMeta {
  name: string;
  status: "ok" | "failed";
  seconds: number;
  preset: string;
  finishedAt: string;
  /** The failing cell's 1-based position and execution count ("In [n]"), when known. */
  cell?: number | null;
  prompt?: number | null;
  error?: string;
  /** The notebook's plots as files relative to the report folder, PNG then SVG per plot (scripts/figures.ts). */
  figures?: string[];
  /** Plots that could not be exported, with the reason. */
  figureErrors?: string[];
  /** Seconds the export of the figures took. */
  figureSeconds?: number;
}

export function metaPath(outDir: string, name: string): string {
  return path.join(outDir, `${name}.meta.json`);
}

export function readRun(outDir: string, name: string): NotebookRun | null {
  try {
    const run = JSON.parse(fs.readFileSync(metaPath(outDir, name), "utf8")) as Partial<NotebookRun>;
    return run.status ? (run as NotebookRun) : null; // a meta without status is from an interrupted run
  } catch {
    return null;
  }
}

/** "cell 8 (In [4])": where a failed run stopped. */
export function failedCell(run: NotebookRun): string {
  return `cell ${run.cell ?? "?"}${run.prompt ? ` (In [${run.prompt}])` : ""}`;
}

/** A provenance line as HTML: escaped, with markdown `code` spans kept as code. */
function provenanceHtml(run: NotebookRun): string {
  if (!run.provenance?.length) return "no committed tables used";
  return run.provenance.map((line) => escapeHtml(line).replace(/`([^`]+)`/g, "<code>$1</code>")).join("<br>");
}

const link = (href: string, text: string) => `<a href="${escapeHtml(href)}">${escapeHtml(text)}</a>`;

/** The notebook's raw results in the report folder: <name>.json / .csv and <name>-*.json / .csv (not its meta file). */
export function rawDataFiles(outDir: string, name: string): string[] {
  if (!fs.existsSync(outDir)) return [];
  return fs.readdirSync(outDir)
    .filter((f) => (f.startsWith(`${name}.`) || f.startsWith(`${name}-`)) && /\.(json|csv)$/.test(f) && f !== path.basename(metaPath(outDir, name)))
    .sort();
}

/** "1 (png, svg) 2 (png, svg)" with links, and the plots that could not be exported. */
function figureLinks(run: NotebookRun): string {
  const files = run.figures ?? [];
  const plots = Array.from({ length: files.length / 2 }, (_, i) => `${i + 1} (${link(files[2 * i], "png")}, ${link(files[2 * i + 1], "svg")})`);
  const errors = (run.figureErrors ?? []).map((e) => `<div class="error">${escapeHtml(e)}</div>`);
  return [...plots, ...errors].join(" ");
}

function row(outDir: string, name: string, run: NotebookRun | null): string {
  const page = `${link(`${name}.html`, name)} (${link(`${name}.ipynb`, "ipynb")})`;
  if (!run) return `<tr class="notrun"><td>${escapeHtml(name)}</td><td>not run</td><td></td><td></td><td></td><td></td><td></td><td></td><td></td></tr>`;
  const raw = rawDataFiles(outDir, name).map((f) => link(f, f)).join(" ");
  const error = run.error
    ? `<details><summary>${escapeHtml(`${failedCell(run)}: ${run.error.split("\n").find((l) => l.trim()) ?? ""}`)}</summary><pre>${escapeHtml(run.error)}</pre></details>`
    : "";
  return `<tr class="${run.status}"><td>${page}</td><td>${run.status}</td><td>${run.seconds.toFixed(1)} s</td><td>${escapeHtml(run.preset)}</td>` +
    `<td title="${escapeHtml(run.backendSummary ?? "")}">${escapeHtml(run.backend ?? "")}</td><td>${escapeHtml(run.keyResult ?? "")}${error}</td>` +
    `<td>${provenanceHtml(run)}</td><td>${figureLinks(run)}</td><td>${raw}</td></tr>`;
}

/** The index page for `names` (all notebooks, in order), reading each one's last run from `outDir`. */
export function renderIndex(outDir: string, names: string[]): string {
  const rows = names.map((n) => row(outDir, n, readRun(outDir, n))).join("\n");
  return `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>MAGIC-lab reports</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2em; }
table { border-collapse: collapse; }
th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: left; vertical-align: top; }
tr.ok td:nth-child(2) { color: #070; font-weight: bold; }
tr.failed td:nth-child(2) { color: #b00; font-weight: bold; }
tr.notrun { color: #888; }
pre { white-space: pre-wrap; max-width: 60em; }
.error { color: #b00; }
</style></head>
<body>
<h1>MAGIC-lab reports</h1>
<p>Analyzing and Mitigating Interference in Neural Architecture Search (Xu et al., ICML 2022), reproduced with TypeScript notebooks. Generated ${escapeHtml(new Date().toISOString())}.</p>
<table>
<thead><tr><th>notebook</th><th>status</th><th>run time</th><th>preset</th><th>backend</th><th>key result</th><th>loaded / recomputed</th><th>figures</th><th>raw data</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>
</body></html>
`;
}
