// Notebooks 01-04 at the tiny preset through real Jupyter, as CI's smoke test of the experiments, with
// temporary runs and reports folders: every run computes (no cache from an earlier one) and the checkout's
// own results stay as they were. The notebooks share the runs folder, as in the main job (04 reuses 02-03).
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, test } from "node:test";
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

async function run(name: string): Promise<{ outputs: Output[]; plots: { data: { name?: string }[] }[]; keyResult: string }> {
  const result = await runNotebook(name, { notebooksDir: path.join(ROOT, "notebooks"), outDir: out, preset: "tiny", timeoutSeconds: 600 });
  assert.equal(result.status, "ok", result.error);
  const nb = JSON.parse(fs.readFileSync(path.join(out, `${name}.ipynb`), "utf8")) as { cells: { outputs?: Output[] }[] };
  const outputs = nb.cells.flatMap((c) => c.outputs ?? []);
  assert.deepEqual(outputs.filter((o) => o.output_type === "error" || o.name === "stderr"), [], `${name}: no errors or stderr text`);
  const plots = outputs.flatMap((o) => (o.data?.["application/vnd.plotly.v1+json"] ? [o.data["application/vnd.plotly.v1+json"] as { data: { name?: string }[] }] : []));
  return { outputs, plots, keyResult: result.keyResult ?? "" };
}

test("01-interference: both observations over seeds with clustered CIs, within-k and partial correlations, per-scheme interference, a verified unit", { skip, timeout: 600_000 }, async () => {
  const { plots, keyResult } = await run("01-interference");
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
  test(`${name} runs at the tiny preset from the committed ground truth; its tau and rho follow from its CSV`, { skip, timeout: 600_000 }, async () => {
    const { plots, keyResult } = await run(name);
    assert.match(keyResult, /^tau: uniform -?\d\.\d\d/);
    assert.ok(plots.length >= 2, `${plots.length} plots`);
    // Every table of runs in the raw JSON (results and ablations), checked against the per-child CSV.
    const tables = Object.values(JSON.parse(fs.readFileSync(path.join(out, `${name}.json`), "utf8")) as unknown[][]);
    const runs = tables.flat().filter((r): r is RankedRun => typeof (r as RankedRun).kendallTau === "number");
    assert.ok(runs.length >= 4, `${runs.length} runs in ${name}.json`);
    assertStatsMatchCsv(runs, fs.readFileSync(path.join(out, `${name}.csv`), "utf8"), name);
  });
}

test("the checkout's reports/, runs/ and data/ are as they were before these notebook runs", () => {
  assert.deepEqual(checkoutState(), checkoutBefore);
});
