import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, test } from "node:test";
import { initBackend } from "../lib/backend";
import { keyResult, recordBackend, recordProvenance } from "../lib/report";
import { writeBundle } from "../scripts/bundle";
import { listNotebooks } from "../scripts/reproduce";
import { NotebookRun, rawDataFiles, renderIndex } from "../scripts/report-index";

const dirs: string[] = [];
const tmp = () => {
  dirs.push(fs.mkdtempSync(path.join(os.tmpdir(), "magic-report-")));
  return dirs[dirs.length - 1];
};
after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
/** Runs `fn` with console.log captured; returns the lines it printed. */
const quietly = (fn: () => void): string[] => {
  const log = console.log;
  const lines: string[] = [];
  console.log = (...args: unknown[]) => void lines.push(args.join(" "));
  try {
    fn();
  } finally {
    console.log = log;
  }
  return lines;
};

test("keyResult without MAGIC_REPORT_META only displays", () => {
  // A meta file named in the process environment but not in the env keyResult is given must stay unwritten.
  const file = path.join(tmp(), "nb.meta.json");
  process.env.MAGIC_REPORT_META = file;
  try {
    assert.deepEqual(quietly(() => keyResult("nothing recorded", {})), ["Key result: nothing recorded"]);
  } finally {
    delete process.env.MAGIC_REPORT_META;
  }
  assert.equal(fs.existsSync(file), false, "no meta file written");
});

test("keyResult and recordBackend merge into the MAGIC_REPORT_META file", async () => {
  const file = path.join(tmp(), "nb.meta.json");
  const env = { MAGIC_REPORT_META: file };
  assert.throws(() => recordBackend(env), /initBackend/);
  quietly(() => keyResult("first", env));
  assert.deepEqual(JSON.parse(fs.readFileSync(file, "utf8")), { keyResult: "first" });

  process.env.MAGIC_BACKEND = "cpu";
  await initBackend({ quiet: true });
  recordBackend(env);
  quietly(() => keyResult("accuracy 0.9", env));
  const meta = JSON.parse(fs.readFileSync(file, "utf8"));
  assert.equal(meta.keyResult, "accuracy 0.9");
  assert.equal(meta.backend, "cpu");
  assert.match(meta.backendSummary, /tfjs backend: cpu \(MAGIC_BACKEND\)/);
});

test("recordProvenance appends one line per call to the MAGIC_REPORT_META file", () => {
  const file = path.join(tmp(), "nb.meta.json");
  const env = { MAGIC_REPORT_META: file };
  quietly(() => keyResult("tau 0.2", env));
  recordProvenance("loaded `data/x.json`", env);
  recordProvenance("recomputed unit 1: largest difference 0", env);
  const meta = JSON.parse(fs.readFileSync(file, "utf8"));
  assert.equal(meta.keyResult, "tau 0.2");
  assert.deepEqual(meta.provenance, ["loaded `data/x.json`", "recomputed unit 1: largest difference 0"]);
});

test("listNotebooks sorts by name and filters by comma-separated substrings", () => {
  const dir = tmp();
  for (const f of ["10-b.ipynb", "00-a.ipynb", "20-c.ipynb", "notes.md"]) fs.writeFileSync(path.join(dir, f), "{}");
  assert.deepEqual(listNotebooks(dir), ["00-a", "10-b", "20-c"]);
  assert.deepEqual(listNotebooks(dir, "20, 00"), ["00-a", "20-c"]);
  assert.deepEqual(listNotebooks(dir, "zz"), []);
});

test("renderIndex lists every notebook with status, time, backend, key result, and not-run ones", () => {
  const dir = tmp();
  const ok: NotebookRun = {
    name: "00-a", status: "ok", seconds: 12.34, preset: "tiny", finishedAt: "", backend: "wasm", keyResult: "3 < 4 GFLOP/s",
    provenance: ["loaded `data/a.json` <all>", "recomputed one unit"],
  };
  const failed: NotebookRun = {
    name: "10-b", status: "failed", seconds: 1, preset: "tiny", finishedAt: "", cell: 3, prompt: 2, error: "\nError: boom\n  at x",
  };
  for (const run of [ok, failed]) fs.writeFileSync(path.join(dir, `${run.name}.meta.json`), JSON.stringify(run));
  const html = renderIndex(dir, ["00-a", "10-b", "20-c"]);
  assert.match(html, /<tr class="ok"><td><a href="00-a.html">00-a<\/a>.*<td>ok<\/td><td>12.3 s<\/td><td>tiny<\/td>.*>wasm<\/td><td>3 &#60; 4 GFLOP\/s/);
  assert.match(html, /<tr class="failed">.*<td>failed<\/td>.*<summary>cell 3 \(In \[2\]\): Error: boom<\/summary>/);
  assert.match(html, /<tr class="notrun"><td>20-c<\/td><td>not run<\/td>/);
  assert.match(html, /<td>loaded <code>data\/a.json<\/code> &#60;all&#62;<br>recomputed one unit<\/td><td>/);
  assert.match(html, /<tr class="failed">.*<td>no committed tables used<\/td><td>/s);
});

test("renderIndex links each notebook's figures (PNG, SVG) and raw results, and shows plots that failed to export", () => {
  const dir = tmp();
  const run: NotebookRun = {
    name: "01-a", status: "ok", seconds: 1, preset: "tiny", finishedAt: "",
    figures: ["figures/01-a-1.png", "figures/01-a-1.svg", "figures/01-a-2.png", "figures/01-a-2.svg"], figureErrors: ["01-a plot 3: no <webgl>"],
  };
  fs.writeFileSync(path.join(dir, "01-a.meta.json"), JSON.stringify(run));
  for (const f of ["01-a.json", "01-a.csv", "01-a-extra.json", "01-ab.json", "01-a.ipynb", "10-b.json"]) fs.writeFileSync(path.join(dir, f), "{}");
  assert.deepEqual(rawDataFiles(dir, "01-a"), ["01-a-extra.json", "01-a.csv", "01-a.json"], "its own JSON/CSV, not its meta file nor another notebook's");
  const html = renderIndex(dir, ["01-a"]);
  assert.match(html, /<td>1 \(<a href="figures\/01-a-1.png">png<\/a>, <a href="figures\/01-a-1.svg">svg<\/a>\) 2 \(<a href="figures\/01-a-2.png">png<\/a>, <a href="figures\/01-a-2.svg">svg<\/a>\) <div class="error">01-a plot 3: no &#60;webgl&#62;<\/div><\/td>/);
  assert.match(html, /<td><a href="01-a-extra.json">01-a-extra.json<\/a> <a href="01-a.csv">01-a.csv<\/a> <a href="01-a.json">01-a.json<\/a><\/td><\/tr>/);
});

test("writeBundle refuses a folder with no report in it, naming the command that makes one", () => {
  assert.throws(() => writeBundle(tmp(), ["00-a"]), /no report in .*: run the notebooks first \(npm run reproduce\)/);
});
