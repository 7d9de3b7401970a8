// Opens HTML reports in headless Chromium, offline, and checks that every plot rendered (plotly drew its
// SVG), that MathJax typeset the formulas without errors, that the page logged nothing to the console (errors,
// failed loads), that nothing is fetched from the network and that every file it loads or links exists. Usage: tsx scripts/check-html.ts [--screenshots <dir>] [files...] (default reports/*.html).
import { spawnSync } from "child_process";
import { Command } from "commander";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

export const CHROMIUM = process.env.MAGIC_CHROMIUM ?? "/usr/bin/chromium";

/** Headless, with a throw-away profile's background services off. */
export const HEADLESS_FLAGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
];

const FLAGS = [
  ...HEADLESS_FLAGS,
  "--enable-logging=stderr", "--v=0",
  // WebGL plots (scattergl) in software: Chromium otherwise logs a deprecation warning for each
  "--enable-unsafe-swiftshader",
  // lets timers, plotly's async rendering and MathJax's typesetting finish before the DOM is dumped
  "--virtual-time-budget=10000",
];

export interface HtmlCheck {
  file: string;
  plots: number;
  rendered: number;
  /** Formulas MathJax typeset (its SVG output elements in the rendered page). */
  formulas: number;
  /** Local files the page loads or links (src, href) that do not exist. */
  missing: string[];
  console: string[];
  network: string[];
  problems: string[];
}

/** Runs headless Chromium on `file` (offline flags, a throw-away profile) and returns what it printed. */
export function chromium(args: string[], file: string): { stdout: string; stderr: string } {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "magic-chromium-"));
  try {
    const r = spawnSync(CHROMIUM, [...FLAGS, `--user-data-dir=${profile}`, ...args, `file://${path.resolve(file)}`], {
      encoding: "utf8",
      maxBuffer: 64 << 20,
      timeout: 120_000,
    });
    if (r.error) throw new Error(`${CHROMIUM}: ${r.error.message}`);
    return { stdout: r.stdout, stderr: r.stderr };
  } finally {
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

/** Checks one page; `screenshot` also saves a PNG of it. */
export function checkHtml(file: string, screenshot?: string): HtmlCheck {
  const source = fs.readFileSync(file, "utf8");
  const { stdout: dom, stderr } = chromium(["--dump-dom"], file);
  if (screenshot) chromium([`--screenshot=${screenshot}`, "--window-size=1200,3000"], file);
  const plots = (source.match(/<div id="[^"]+" class="magic-plot"/g) ?? []).length;
  const rendered = (dom.match(/class="plot-container plotly"/g) ?? []).length;
  // Software WebGL's notices about its own speed ("GPU stall due to ReadPixels") are not the page's problems.
  const consoleLines = stderr.split("\n").filter((l) => /:CONSOLE[(:]/.test(l) && !/GL Driver Message \(OpenGL, Performance,/.test(l));
  const formulas = (dom.match(/<span class="MathJax_SVG"|<div class="MathJax_SVG_Display"/g) ?? []).length;
  const mathErrors = (dom.match(/class="MathJax_SVG"[^>]*data-mathml="[^"]*merror/g) ?? []).length;
  const network = source.match(/<(?:script|link|img)[^>]*\b(?:src|href)=["']?(?:https?:|file:|\/\/)[^"'\s>]+/g) ?? [];
  const missing = localReferences(source).filter((ref) => !fs.existsSync(path.resolve(path.dirname(file), ref)));
  const problems = [
    ...(rendered < plots ? [`${plots - rendered} of ${plots} plots did not render`] : []),
    ...(mathErrors ? [`${mathErrors} formulas have TeX errors`] : []),
    ...missing.map((m) => `refers to a missing file: ${m}`),
    ...consoleLines.map((l) => `console: ${l.replace(/^\[[^\]]*\]\s*/, "")}`),
    ...network.map((n) => `loads from outside the page: ${n}`),
  ];
  return { file, plots, rendered, formulas, missing, console: consoleLines, network, problems };
}

/** Relative file paths a page loads (script src) or links (a / link href), without query or fragment. */
export function localReferences(html: string): string[] {
  const refs = [...html.matchAll(/<(?:script|link|a|img)\b[^>]*\b(?:src|href)="([^"]+)"/g)].map((m) => m[1].replace(/&amp;/g, "&"));
  return [...new Set(refs.filter((r) => !/^([a-z][a-z0-9+.-]*:|\/\/|#)/i.test(r)).map((r) => decodeURIComponent(r.replace(/[?#].*$/, ""))))];
}

function main(): number {
  const program = new Command()
    .name("check-html")
    .option("--screenshots <dir>", "also save a PNG of each page here")
    .argument("[files...]")
    .parse();
  const { screenshots } = program.opts<{ screenshots?: string }>();
  const reports = path.resolve(__dirname, "..", "reports");
  const files = program.args.length
    ? program.args
    : fs.readdirSync(reports).filter((f) => f.endsWith(".html")).map((f) => path.join(reports, f));
  if (screenshots) fs.mkdirSync(screenshots, { recursive: true });
  let bad = 0;
  for (const file of files) {
    const shot = screenshots ? path.join(screenshots, `${path.basename(file, ".html")}.png`) : undefined;
    const r = checkHtml(file, shot);
    bad += r.problems.length ? 1 : 0;
    console.log(`${r.problems.length ? "FAIL" : "ok  "} ${path.basename(file)}: ${r.rendered}/${r.plots} plots rendered, ${r.formulas} formulas` +
      `${r.problems.map((p) => `\n     ${p}`).join("")}`);
  }
  return bad ? 1 : 0;
}

if (require.main === module) process.exitCode = main();
