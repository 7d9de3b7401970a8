// Static copies of a notebook's plots for a paper draft or a slide: every plotly output of an executed
// notebook written as <reports>/figures/<notebook>-<n>.png and .svg (n counts the notebook's plots from 1).
// One headless Chromium run per notebook draws them all with plotly's own exporter (Plotly.toImage), from the
// report folder's copy of plotly.js (scripts/report-assets.ts).
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { scriptJson } from "../lib/display";
import { chromium } from "./check-html";
import { PLOTLY_SRC } from "./report-assets";

export const FIGURES = "figures";
const PLOTLY_MIME = "application/vnd.plotly.v1+json";
/** Size of a figure without its own layout width / height, in CSS pixels; PNGs are drawn at twice that. */
const WIDTH = 900, HEIGHT = 500, PNG_SCALE = 2;

interface Figure {
  data: object[];
  layout?: { width?: number; height?: number };
  config?: object;
}

/** The plotly figures of an executed notebook, in output order. */
export function notebookFigures(ipynb: string): Figure[] {
  const nb = JSON.parse(fs.readFileSync(ipynb, "utf8")) as { cells: { outputs?: { data?: Record<string, unknown> }[] }[] };
  return nb.cells.flatMap((c) => c.outputs ?? []).flatMap((o) => (o.data?.[PLOTLY_MIME] ? [o.data[PLOTLY_MIME] as Figure] : []));
}

/** The figure files of notebook `name`, relative to the report folder, in plot order: [png, svg] per plot. */
export function figureFiles(name: string, count: number): [string, string][] {
  return Array.from({ length: count }, (_, i) => [`${FIGURES}/${name}-${i + 1}.png`, `${FIGURES}/${name}-${i + 1}.svg`]);
}

/** The page that exports every figure and then prints the data URLs (or the error) as JSON into <pre id="out">. */
function exportPage(figures: Figure[], plotly: string): string {
  const jobs = figures.map((f) => ({
    figure: { data: f.data, layout: f.layout ?? {}, config: f.config ?? {} },
    width: f.layout?.width ?? WIDTH,
    height: f.layout?.height ?? HEIGHT,
  }));
  return `<!DOCTYPE html><html><head><meta charset="utf-8"><script src="${plotly}"></script></head><body><pre id="out"></pre>
<script>
(async function () {
  var jobs = ${scriptJson(jobs)}, out = [];
  for (var i = 0; i < jobs.length; i++) {
    var j = jobs[i];
    try {
      var png = await Plotly.toImage(j.figure, { format: "png", width: j.width, height: j.height, scale: ${PNG_SCALE} });
      var svg = await Plotly.toImage(j.figure, { format: "svg", width: j.width, height: j.height });
      out.push({ png: png, svg: svg });
    } catch (e) {
      out.push({ error: String(e && e.message || e) });
    }
  }
  document.getElementById("out").textContent = JSON.stringify(out);
})();
</script></body></html>`;
}

const unescapeText = (s: string) => s.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&nbsp;/g, "\u00a0").replace(/&amp;/g, "&");

/** Bytes of a data URL from Plotly.toImage (base64 PNG, URL-encoded SVG). */
function dataUrlBytes(url: string): Buffer {
  const comma = url.indexOf(",");
  const head = url.slice(0, comma), body = url.slice(comma + 1);
  return head.endsWith(";base64") ? Buffer.from(body, "base64") : Buffer.from(decodeURIComponent(body), "utf8");
}

export interface FigureExport {
  /** Files written, relative to the report folder. */
  files: string[];
  /** Plots that could not be exported, with plotly's or Chromium's reason. */
  errors: string[];
}

/**
 * Writes the figures of <outDir>/<name>.ipynb to <outDir>/figures/, removing any earlier ones of that notebook
 * first (a re-run with fewer plots leaves none behind). Never throws for a plot that fails to export.
 */
export function writeFigures(outDir: string, name: string): FigureExport {
  const dir = path.join(outDir, FIGURES);
  fs.mkdirSync(dir, { recursive: true });
  for (const f of fs.readdirSync(dir)) if (new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}-\\d+\\.(png|svg)$`).test(f)) fs.rmSync(path.join(dir, f));
  const figures = notebookFigures(path.join(outDir, `${name}.ipynb`));
  if (figures.length === 0) return { files: [], errors: [] };
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "magic-figures-"));
  try {
    const page = path.join(work, "export.html");
    fs.writeFileSync(page, exportPage(figures, `file://${path.resolve(outDir, PLOTLY_SRC)}`));
    const { stdout } = chromium(["--dump-dom", "--allow-file-access-from-files"], page);
    const match = /<pre id="out">([^<]*)<\/pre>/.exec(stdout);
    if (!match || !match[1]) return { files: [], errors: [`Chromium did not finish exporting ${figures.length} plots of ${name}`] };
    const results = JSON.parse(unescapeText(match[1])) as { png?: string; svg?: string; error?: string }[];
    const files: string[] = [], errors: string[] = [];
    figureFiles(name, figures.length).forEach(([png, svg], i) => {
      const r = results[i];
      if (!r?.png || !r.svg) return void errors.push(`${name} plot ${i + 1}: ${r?.error ?? "no image"}`);
      fs.writeFileSync(path.join(outDir, png), dataUrlBytes(r.png));
      fs.writeFileSync(path.join(outDir, svg), dataUrlBytes(r.svg));
      files.push(png, svg);
    });
    return { files, errors };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}
