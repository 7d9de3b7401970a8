// What the HTML reports load from their folder instead of a CDN: plotly.js and MathJax, stored once in
// <reports>/assets/ for every page (an inlined plotly.js made each page ~5 MB). MathJax is Debian's
// libjs-mathjax (installed by scripts/setup.sh); only the part that TeX input with SVG output needs is copied.
import * as fs from "fs";
import * as path from "path";

/** Debian's MathJax 2 (package libjs-mathjax); MAGIC_MATHJAX points elsewhere. */
export const MATHJAX_SOURCE = process.env.MAGIC_MATHJAX ?? "/usr/share/javascript/mathjax";

/** The assets folder, relative to the pages (pages and assets sit in the same report folder). */
export const ASSETS = "assets";
/** The URLs the pages load, relative to the page. */
export const PLOTLY_SRC = `${ASSETS}/plotly.min.js`;
/** TeX input, SVG output: glyphs are drawn as paths, so no web fonts are needed. */
export const MATHJAX_SRC = `${ASSETS}/mathjax/MathJax.js?config=TeX-AMS_SVG-full`;

/** The parts of MathJax that TeX-AMS_SVG-full loads (its combined config, then extensions and TeX glyphs on demand). */
const MATHJAX_PARTS = ["MathJax.js", "config/TeX-AMS_SVG-full.js", "extensions", "jax/input/TeX", "jax/element",
  "jax/output/SVG/config.js", "jax/output/SVG/jax.js", "jax/output/SVG/autoload", "jax/output/SVG/fonts/TeX"];

/** Why the reports cannot get MathJax, or null when they can. */
export function mathjaxMissing(): string | null {
  const missing = MATHJAX_PARTS.filter((p) => !fs.existsSync(path.join(MATHJAX_SOURCE, p)));
  return missing.length
    ? `MathJax is missing from ${MATHJAX_SOURCE} (${missing[0]}${missing.length > 1 ? ` and ${missing.length - 1} more` : ""}): ` +
      "install Debian's libjs-mathjax (bash scripts/setup.sh), or set MAGIC_MATHJAX to a MathJax 2 folder"
    : null;
}

/** Copies plotly.js and MathJax into <outDir>/assets, replacing what an earlier run left there. */
export function writeReportAssets(outDir: string): void {
  const missing = mathjaxMissing();
  if (missing) throw new Error(missing);
  const assets = path.join(outDir, ASSETS);
  fs.mkdirSync(assets, { recursive: true });
  fs.copyFileSync(require.resolve("plotly.js-dist-min/plotly.min.js"), path.join(outDir, PLOTLY_SRC));
  const mathjax = path.join(assets, "mathjax");
  fs.rmSync(mathjax, { recursive: true, force: true });
  for (const part of MATHJAX_PARTS) {
    fs.cpSync(path.join(MATHJAX_SOURCE, part), path.join(mathjax, part), { recursive: true, dereference: true });
  }
}
