// Notebooks 01-07 at the tiny preset through real Jupyter, as CI's smoke test of the experiments, with
// temporary runs and reports folders: every run computes (no cache from an earlier one) and the checkout's
// own results stay as they were. The notebooks share the runs folder, as in the main job (04 reuses 02-03).
// Each one's ad hoc analysis cell, figures and page (plots and formulas, in Chromium) are checked too.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, test, type TestContext } from "node:test";
import { checkHtml } from "../scripts/check-html";
import { ROOT, buildDist, jupyterMissing, runNotebook } from "../scripts/reproduce";
import { checkoutState, useTemporaryOutputDirs } from "./helpers/checkout-state";
import { assertStatsMatchCsv, type RankedRun } from "./helpers/rank-check";

const missing = jupyterMissing();
const skip = missing && !process.env.CI ? `Jupyter is not usable here: ${missing}` : false;
const checkoutBefore = checkoutState();
useTemporaryOutputDirs();
const out = fs.mkdtempSync(path.join(os.tmpdir(), "magic-exp-nb-"));
before(() => {
  if (!skip) buildDist();
});
after(() => fs.rmSync(out, { recursive: true, force: true }));

interface Output {
  output_type: string;
  name?: string;
  data?: Record<string, unknown>;
}

/**
 * Runs `name` at tiny and checks what every experiment notebook must show: no error, its ad hoc "Your analysis"
 * cell's tables (built from lib/frames.ts), a PNG and an SVG per plot, and in Chromium (offline) every plot
 * drawn and at least `formulas` formulas typeset by MathJax.
 */
async function run(name: string, formulas: number, t: TestContext, timeoutSeconds = 600): Promise<{ outputs: Output[]; plots: { data: { name?: string }[] }[]; keyResult: string }> {
  const result = await runNotebook(name, { notebooksDir: path.join(ROOT, "notebooks"), outDir: out, preset: "tiny", timeoutSeconds: timeoutSeconds });
  assert.equal(result.status, "ok", result.error);
  const nb = JSON.parse(fs.readFileSync(path.join(out, `${name}.ipynb`), "utf8")) as { cells: { id?: string; outputs?: Output[] }[] };
  const outputs = nb.cells.flatMap((c) => c.outputs ?? []);
  assert.deepEqual(outputs.filter((o) => o.output_type === "error" || o.name === "stderr"), [], `${name}: no errors or stderr text`);
  const plots = outputs.flatMap((o) => (o.data?.["application/vnd.plotly.v1+json"] ? [o.data["application/vnd.plotly.v1+json"] as { data: { name?: string }[] }] : []));

  const adHoc = nb.cells[nb.cells.length - 1];
  assert.equal(adHoc.id, "your-analysis-code", `${name} ends with its ad hoc analysis cell`);
  const tables = (adHoc.outputs ?? []).map((o) => String(o.data?.["text/html"] ?? "")).filter((h) => /<table[^]*<td>/.test(h));
  assert.ok(tables.length >= 2, `${name}: the ad hoc cell shows ${tables.length} non-empty tables`);
  assert.match(tables.join(""), /<th>q05<\/th>[^]*<th>median<\/th>[^]*<th>q95<\/th>/, "quantiles from summarize");

  if (process.env.MAGIC_SKIP_BROWSER !== "1") { // the figures are drawn in Chromium too
    assert.equal(result.figureErrors, undefined);
    assert.equal(result.figures?.length, 2 * plots.length, `${name}: a PNG and an SVG per plot`);
    for (const f of result.figures ?? []) assert.ok(fs.statSync(path.join(out, f)).size > 1000, `${f} is not empty`);
    const page = checkHtml(path.join(out, `${name}.html`));
    assert.deepEqual(page.problems, [], `${name}.html in Chromium`);
    assert.equal(page.rendered, plots.length, `${name}: every plot drawn`);
    assert.ok(page.formulas >= formulas, `${name}: ${page.formulas} formulas typeset, expected at least ${formulas}`);
  } else {
    t.diagnostic(`MAGIC_SKIP_BROWSER=1: ${name}'s figures and page are not checked in Chromium`);
  }
  return { outputs, plots, keyResult: result.keyResult ?? "" };
}

test("01-interference: both observations over seeds with clustered CIs, within-k and partial correlations, per-scheme interference, a verified unit", { skip, timeout: 600_000 }, async (t) => {
  const { plots, keyResult } = await run("01-interference", 5, t);
  assert.match(keyResult, /Spearman\(k, grad cos\) -?\d\.\d\d \[-?\d\.\d\d, -?\d\.\d\d\]; partial Spearman\(output sim, grad cos \| k, where\)/);
  assert.ok(plots.length >= 8, `${plots.length} plots`);
  const schemes = ["uniform", "fairnas", "magic-t", "magic-a", "magic-at"];
  assert.deepEqual(plots[plots.length - 1].data.map((t) => t.name), schemes, "the live monitor, one curve per scheme");
  const report = JSON.parse(fs.readFileSync(path.join(out, "01-interference.json"), "utf8"));
  const c = report.checkpoints[0];
  assert.ok(c.seeds.length >= 2 && c.pairs.length > 0 && c.withinK.length > 0 && c.partial.output.clusteredCi.length === 2, "raw per-pair values and the controlled analysis written");
  assert.deepEqual(report.schemes.rows.map((r: { scheme: string }) => r.scheme), schemes);
  assert.equal(report.schemes.units.length, schemes.length * c.seeds.length);
});

for (const name of ["02-magic-t", "03-magic-a", "04-magic-at"]) {
  test(`${name} runs at the tiny preset from the committed ground truth; its tau and rho follow from its CSV`, { skip, timeout: 600_000 }, async (t) => {
    const { plots, keyResult } = await run(name, 8, t);
    assert.match(keyResult, /^tau: uniform -?\d\.\d\d/);
    assert.ok(plots.length >= 2, `${plots.length} plots`);
    // Every table of runs in the raw JSON (results and ablations), checked against the per-child CSV.
    const tables = Object.values(JSON.parse(fs.readFileSync(path.join(out, `${name}.json`), "utf8")) as unknown[][]);
    const runs = tables.flat().filter((r): r is RankedRun => typeof (r as RankedRun).kendallTau === "number");
    assert.ok(runs.length >= 4, `${runs.length} runs in ${name}.json`);
    assertStatsMatchCsv(runs, fs.readFileSync(path.join(out, `${name}.csv`), "utf8"), name);
  });
}

test("06-imagenet runs at the tiny preset on the CNN space: ranking from the committed CNN ground truth, interference, FLOPs search, retrain comparison", { skip, timeout: 1_000_000 }, async (t) => {
  const { plots, keyResult } = await run("06-imagenet", 1, t, 900); // the CNN trains slower than tiny BERT: every table is computed here

  assert.match(keyResult, /^tau: uniform -?\d\.\d\d, fairnas -?\d\.\d\d, magic-t .*; retrained vs mobilenetv2-like: searched-uniform [+-]\d+\.\d\d pts \(too few seeds\)/);
  assert.ok(plots.length >= 4, `${plots.length} plots`);
  const raw = JSON.parse(fs.readFileSync(path.join(out, "06-imagenet.json"), "utf8"));
  const runs = (raw.results as RankedRun[]).filter((r) => typeof r.kendallTau === "number");
  assert.equal(runs.length, 10, "5 schemes x 2 seeds");
  assertStatsMatchCsv(runs, fs.readFileSync(path.join(out, "06-imagenet.csv"), "utf8"), "06-imagenet");
  assert.equal(raw.searches.length, 4);
  assert.ok(raw.searches.every((s: { maxFlops?: number; best: { flops: number } }) => s.maxFlops !== undefined && s.best.flops <= s.maxFlops), "FLOPs-budget searches");
  assert.equal(raw.retrained.length, 10, "(4 searched + 1 hand-designed) x 2 seeds");
});

test("05-glue runs at the tiny preset: searches and their curves, every model on every task, claims with verdicts, a fine-tuning verified", { skip, timeout: 600_000 }, async (t) => {
  const { plots, keyResult } = await run("05-glue", 3, t);
  assert.match(keyResult, /^GLUE average: deep-narrow \d\.\d{3}, shallow-wide \d\.\d{3}, searched-uniform .*; claims: \d+ reproduced, \d+ contradicted, \d+ inconclusive of 5$/);
  assert.equal(plots.length, 2, "search curves and GLUE scores");
  const report = JSON.parse(fs.readFileSync(path.join(out, "05-glue.json"), "utf8"));
  assert.deepEqual(report.searches.map((s: { scheme: string; method: string }) => `${s.scheme}/${s.method}`).sort(),
    ["magic-a", "magic-at", "magic-t", "uniform"].flatMap((s) => [`${s}/evolution`, `${s}/random`]).sort());
  assert.equal(report.pretrained.length, 6, "two baselines and four searched models pre-trained");
  const models = report.finetuned.filter((u: { kind: string }) => u.kind === "model");
  assert.equal(models.length, 6 * 7, "every model on every task (one seed at tiny)");
  assert.ok(models.every((u: { predictions: unknown[]; devExamples: number }) => u.predictions.length === u.devExamples), "predictions over the whole dev split");
  assert.equal(report.finetuned.filter((u: { kind: string }) => u.kind === "ground-truth").length, 6 * 2, "the ground-truth children on SST-2 and MRPC");
});

test("07-compression runs at the tiny preset: the teacher, every student within its budget, KD units and the control, Pareto plots, verdicts per budget, a student verified", { skip, timeout: 600_000 }, async (t) => {
  const { plots, keyResult } = await run("07-compression", 1, t);
  assert.match(keyResult, /^claims: \d+ reproduced, \d+ contradicted, \d+ inconclusive of 13; Pareto front \(params\): /);
  assert.equal(plots.length, 2, "GLUE average vs parameters and vs latency");
  const report = JSON.parse(fs.readFileSync(path.join(out, "07-compression.json"), "utf8"));
  assert.equal(report.students.length, 4 * 3, "4 budgets x (hand, magic-at, uniform)");
  assert.equal(report.pretrained.length, 13, "every student's KD pre-training and the no-KD control's");
  assert.equal(report.finetuned.length, 13, "one task and one seed at tiny");
  assert.ok(report.finetuned.every((u: { budgetParams: number; budget: { maxParams: number } }) => u.budgetParams <= u.budget.maxParams), "every student within its budget");
  assert.equal(report.finetuned.filter((u: { kd: unknown }) => u.kd === null).length, 1, "one no-KD control");
  assert.equal(report.latency.rows.length, 12);
});

test("the checkout's reports/, runs/ and data/ are as they were before these notebook runs", () => {
  assert.deepEqual(checkoutState(), checkoutBefore);
});
