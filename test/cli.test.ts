// Bad inputs of the CLIs (scripts/magic.ts, scripts/reproduce.ts): each gives one line naming what is wrong and
// how to fix it, exit code 2, no stack trace, and nothing on stdout (no data prepared, nothing trained); a
// bug still prints its stack. Plus the library pieces: option parsers, environment readers, path checks.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { InvalidArgumentError } from "commander";
import { checkWritableFile, checkWritableFolder, intOption, numberOption } from "../lib/cli";
import { envFlag, envInt } from "../lib/env";
import { UserError } from "../lib/errors";
import { requireGroundTruthTable } from "../lib/experiments/ground-truth-run";
import { projectPath } from "../lib/paths";

const ROOT = projectPath();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "magic-cli-"));
const aFile = path.join(tmp, "a-file");
fs.writeFileSync(aFile, "");
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

interface Run {
  status: number;
  stdout: string;
  stderr: string;
}

/** Runs a script with the MAGIC_* variables of this process removed and `env` added (asynchronously, so a test's runs overlap). */
function run(script: string, args: string[], env: Record<string, string> = {}): Promise<Run> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("MAGIC_")));
  return new Promise((resolve) => {
    execFile(process.execPath, ["--import", "tsx", script, ...args], { cwd: ROOT, env: { ...clean, ...env } }, (error, stdout, stderr) =>
      resolve({ status: error ? Number(error.code) : 0, stdout, stderr }),
    );
  });
}

const magic = (args: string[], env?: Record<string, string>) => run("scripts/magic.ts", args, env);

/** Each run must fail with exactly `error: <line>`, exit code 2 and nothing on stdout (nothing ran). */
async function assertUserErrors(cases: [Promise<Run>, string][]): Promise<void> {
  const results = await Promise.all(cases.map(([r]) => r));
  results.forEach((r, i) => {
    assert.equal(r.stderr, `error: ${cases[i][1]}\n`);
    assert.equal(r.status, 2);
    assert.equal(r.stdout, "", "nothing ran");
  });
}

test("--help works whatever MAGIC_PRESET and MAGIC_BACKEND say", async () => {
  const bad = { MAGIC_PRESET: "huge", MAGIC_BACKEND: "gpu" };
  const runs = await Promise.all([magic(["--help"], bad), magic(["rank", "--help"], bad), run("scripts/reproduce.ts", ["--help"], bad)]);
  for (const [i, r] of runs.entries()) {
    assert.equal(r.stderr, "");
    assert.equal(r.status, 0);
    assert.match(r.stdout, i < 2 ? /^Usage: magic/ : /^Usage: reproduce/);
  }
});

test("a bad MAGIC_* variable is one line for every command", async () => {
  const sample = ["sample", "--sampler", "uniform", "--steps", "2"];
  const preset = "MAGIC_PRESET='huge' is not valid; use one of: tiny, small, paper (or unset it for small)";
  await assertUserErrors([
    [magic(sample, { MAGIC_PRESET: "huge" }), preset],
    [magic(sample, { MAGIC_BACKEND: "gpu" }), "MAGIC_BACKEND='gpu' is not valid; use one of: auto, tensorflow, native, wasm, cpu (or unset it for auto)"],
    [magic(sample, { MAGIC_RECOMPUTE: "yes" }), "MAGIC_RECOMPUTE='yes' is not valid; use one of: 0, 1 (or unset it for 0)"],
    [run("scripts/reproduce.ts", [], { MAGIC_SEED: "x" }), "MAGIC_SEED='x' is not valid; use an integer >= 0 (or unset it for 0)"],
    [run("scripts/reproduce.ts", [], { MAGIC_PRESET: "huge" }), preset],
  ]);
});

test("bad option values are one line naming the option and what it takes", async () => {
  const invalid = (flag: string, value: string, why: string) => `option '${flag}' argument '${value}' is invalid. ${why}`;
  const sample = ["sample", "--sampler", "uniform", "--steps", "2"];
  const schemes = "uniform, fairnas, magic-t, magic-a, magic-at, magic-t-balanced, magic-at-balanced, uniform-matched, magic-t-m2, magic-t-mL, magic-a-lambda0.1, magic-a-lambda2, magic-a-random, magic-a-largest";
  await assertUserErrors([
    [magic(["sample", "--sampler", "uniform", "--steps", "1e3"]), invalid("--steps <n>", "1e3", "--steps must be an integer >= 1.")],
    [magic(["sample", "--sampler", "spos", "--steps", "2"]), invalid("--sampler <name>", "spos", "Allowed choices are uniform, fairnas, magic-t, magic-t-balanced.")],
    [magic([...sample, "--m", "2"]), "--m applies to --sampler magic-t only; drop it or use --sampler magic-t"],
    [magic(["sample", "--sampler", "magic-t", "--steps", "2", "--m", "5", "--preset", "tiny"]), "--m 5: the tiny space has 4 sub-layers; use --m 1..4"],
    [magic([...sample, "--sede", "1"]), "unknown option '--sede' (Did you mean --seed?)"],
    [magic(["train-supernet", "--sampler", "uniform", "--lr", "0"]), invalid("--lr <x>", "0", "--lr must be a number > 0.")],
    [magic(["train-supernet", "--sampler", "uniform", "--lambda", "1"]), "--lambda needs --align (one of: best, random, largest)"],
    [magic(["rank", "--scheme", "spos", "--out", "x.json"]), invalid("--scheme <name>", "spos", `Allowed choices are ${schemes}.`)],
    [run("scripts/reproduce.ts", ["--timeout", "0"]), invalid("--timeout <seconds>", "0", "--timeout must be a number > 0.")],
  ]);
});

test("--arch, --from and --checkpoint are checked before any data is prepared", async () => {
  const ops = "allowed 0..9 (0=att2, 1=att4, 2=att8, 3=ffn32, 4=ffn64, 5=ffn128, 6=conv3, 7=conv5, 8=conv7, 9=id)";
  const noCheckpoint = (flag: string) => `${flag} ${tmp} holds no checkpoint.ckpt; give the directory of a training run`;
  await assertUserErrors([
    [magic(["train-child", "--arch", "att2-foo-id-id", "--preset", "tiny"]), `--arch: arch layer 1: unknown op "foo"; ${ops}`],
    [magic(["train-child", "--arch", "[1,2]", "--preset", "tiny"]), "--arch: arch has 2 layers, space tiny-L4-D32-T32 has 4: [1,2]"],
    [magic(["eval-child", "--arch", "[1,", "--checkpoint", tmp, "--preset", "tiny"]), "--arch: arch [1, is not valid JSON (Unexpected end of JSON input)"],
    [magic(["eval-child", "--arch", "[1,2,3,4]", "--checkpoint", tmp, "--preset", "tiny"]), noCheckpoint("--checkpoint")],
    [magic(["train-child", "--arch", "[1,2,3,4]", "--from", tmp, "--preset", "tiny"]), noCheckpoint("--from")],
  ]);
});

test("output paths are checked before any work", async () => {
  const inFile = path.join(aFile, "x.json");
  const runs = path.join(aFile, "runs");
  const underFile = (value: string) => `${value}: ${aFile} is a file, not a folder; choose another path`;
  await assertUserErrors([
    [magic(["rank", "--scheme", "uniform", "--out", tmp, "--preset", "tiny"]), `--out ${tmp} is a folder; give a file name, e.g. ${path.join(tmp, "result.json")}`],
    [magic(["interference", "--out", inFile, "--preset", "tiny"]), underFile(`--out ${inFile}`)],
    [magic(["train-supernet", "--sampler", "uniform", "--out", aFile]), underFile(`--out ${aFile}`)],
    [magic(["train-supernet", "--sampler", "uniform"], { MAGIC_RUNS_DIR: runs }), underFile(`MAGIC_RUNS_DIR ${runs}`)],
    [run("scripts/reproduce.ts", ["--notebooks", inFile]), `--notebooks ${inFile} is not a folder; give the folder of the .ipynb files`],
  ]);
});

test("rank never builds a missing ground-truth table: it names the command that does", async () => {
  const table = projectPath("data", "ground-truth", "paper.json");
  assert.ok(!fs.existsSync(table), "this test needs the paper table to be absent");
  const message = `no ground-truth table for preset paper (${table}); build it with \`npm run magic -- ground-truth --preset paper\``;
  await assertUserErrors([[magic(["rank", "--scheme", "uniform", "--preset", "paper", "--out", path.join(tmp, "r.json")]), message]]);
  assert.throws(() => requireGroundTruthTable("paper", { recompute: false }), new UserError(message));
  requireGroundTruthTable("paper", { build: true });
  requireGroundTruthTable("tiny", { recompute: false }); // committed
  requireGroundTruthTable("small", { recompute: false });
});

test("search: an unknown scheme, a budget below the smallest child and a folder as --out are one line before any work", async () => {
  const search = (extra: string[]) => magic(["search", "--preset", "tiny", ...extra]);
  const out = ["--out", path.join(tmp, "s.json")];
  const smallest = 36000; // the tiny space: 1024 x 32 token + 32 x 32 position embeddings, LN, MLM head; identity at every sub-layer
  await assertUserErrors([
    [search(["--scheme", "spos", ...out]), "option '--scheme <name>' argument 'spos' is invalid. Allowed choices are uniform, fairnas, magic-t, magic-a, magic-at, magic-t-balanced, magic-at-balanced, uniform-matched, magic-t-m2, magic-t-mL, magic-a-lambda0.1, magic-a-lambda2, magic-a-random, magic-a-largest."],
    [search(["--scheme", "uniform", "--max-params", "35999", ...out]),
      `--max-params 35999 is below the smallest child of space tiny-L4-D32-T32 (${smallest} parameters: the smallest op at each of its 4 sub-layers plus ${smallest} shared); use --max-params >= ${smallest}`],
    [search(["--scheme", "uniform", "--out", tmp]), `--out ${tmp} is a folder; give a file name, e.g. ${path.join(tmp, "result.json")}`],
    [search(["--scheme", "uniform", "--method", "grid", ...out]), "option '--method <name>' argument 'grid' is invalid. Allowed choices are evolution, random."],
  ]);
});

test("top level: a UserError is one line and exit 2; any other error is a bug with its stack and exit 1", () => {
  const fail = (error: string) =>
    spawnSync(process.execPath, ["--import", "tsx", "-e", `require("./lib/cli").runCli(async () => { throw ${error}; })`], { cwd: ROOT, encoding: "utf8" });
  const user = fail('new (require("./lib/errors").UserError)("--x is bad; use y")');
  assert.equal(user.status, 2);
  assert.equal(user.stderr, "error: --x is bad; use y\n");
  const bug = fail('new Error("boom")');
  assert.equal(bug.status, 1);
  assert.match(bug.stderr, /Error: boom\n\s+at /);
});

test("option parsers and environment readers accept exactly the documented forms", () => {
  const seed = intOption("--seed", 0);
  assert.equal(seed("12"), 12);
  for (const bad of ["", " ", "-1", "1.5", "1e3", "0x10", "abc", "99999999999999999999"]) assert.throws(() => seed(bad), InvalidArgumentError);
  const lr = numberOption("--lr", { positive: true });
  assert.equal(lr("1e-3"), 1e-3);
  for (const bad of ["", "0", "-1", "Infinity", "NaN", "x"]) assert.throws(() => lr(bad), InvalidArgumentError);
  assert.equal(numberOption("--lambda")("0"), 0);
  assert.equal(envInt("MAGIC_SEED", 0, {}), 0);
  assert.equal(envInt("MAGIC_SEED", 0, { MAGIC_SEED: " 7 " }), 7);
  assert.throws(() => envInt("MAGIC_SEED", 0, { MAGIC_SEED: "-1" }), UserError);
  assert.equal(envFlag("MAGIC_RECOMPUTE", { MAGIC_RECOMPUTE: "1" }), true);
  assert.equal(envFlag("MAGIC_RECOMPUTE", { MAGIC_RECOMPUTE: "" }), false);
  assert.throws(() => envFlag("MAGIC_RECOMPUTE", { MAGIC_RECOMPUTE: "true" }), UserError);
});

test("writable-path checks: a new file or folder under a writable one is fine, under a file it is not", () => {
  checkWritableFile("--out", path.join(tmp, "new", "deeper", "r.json"));
  checkWritableFolder("--out", path.join(tmp, "new-run"));
  assert.throws(() => checkWritableFolder("--out", path.join(aFile, "run")), UserError);
  assert.throws(() => checkWritableFile("--out", tmp), UserError);
  assert.ok(!fs.existsSync(path.join(tmp, "new")), "checks create nothing");
});

test("glue: an unknown task, a bad --arch, a --from without a checkpoint and a folder as --out are one line before any work", async () => {
  const glue = (extra: string[]) => magic(["glue", "--preset", "tiny", ...extra]);
  const out = ["--out", path.join(tmp, "g.json")];
  await assertUserErrors([
    [glue(["--task", "mnli", "--arch", "[1,2,3,4]", ...out]), "option '--task <name>' argument 'mnli' is invalid. Allowed choices are sst2, mrpc, stsb, qqp, rte, cola, qnli."],
    [glue(["--task", "sst2", "--arch", "[1,2]", ...out]), "--arch: arch has 2 layers, space tiny-L4-D32-T32 has 4: [1,2]"],
    [glue(["--task", "rte", "--arch", "[1,2,3,4]", "--from", tmp, ...out]), `--from ${tmp} holds no checkpoint.ckpt; give the directory of a training run`],
    [glue(["--task", "cola", "--arch", "[1,2,3,4]", "--out", tmp]), `--out ${tmp} is a folder; give a file name, e.g. ${path.join(tmp, "result.json")}`],
  ]);
});

test("glue-all: a bad --shard and a missing ground-truth table are one line before any work", async () => {
  const tables = path.join(tmp, "no-tables");
  await assertUserErrors([
    [magic(["glue-all", "--preset", "tiny", "--shard", "2/2"]), "--shard 2/2: use i/n with 0 <= i < n, e.g. 0/2"],
    [magic(["glue-all", "--preset", "tiny"], { MAGIC_TABLES_DIR: tables }),
      `no ground-truth table for preset tiny (${path.join(tables, "ground-truth", "tiny.json")}); build it with \`npm run magic -- ground-truth --preset tiny\``],
  ]);
});

test("compress and compress-all: a budget below the smallest child, a hand-designed student at no preset budget, a missing teacher, a bad --shard are one line before any work", async () => {
  const compress = (extra: string[], env?: Record<string, string>) => magic(["compress", "--preset", "tiny", "--out", path.join(tmp, "c.json"), ...extra], env);
  const noTables = path.join(tmp, "no-compression-tables");
  const noTeacher = `no teacher: ${path.join(noTables, "glue-results", "tiny")} holds no GLUE-sweep model with units of rte at seed 0; ` +
    "build them with `npm run magic -- glue-all --preset tiny --commit`";
  await assertUserErrors([
    [compress(["--scheme", "spos", "--max-params", "5000"]), "option '--scheme <name>' argument 'spos' is invalid. Allowed choices are magic-at, uniform, hand."],
    [compress(["--scheme", "magic-at", "--max-params", "35999", "--counting", "total"]),
      "parameter budget 35999 (total) is below the smallest child of space tiny-L4-D32-T32, 36000 parameters (total); use a budget of at least 36000"],
    [compress(["--scheme", "uniform", "--max-params", "-1"]), "option '--max-params <n>' argument '-1' is invalid. --max-params must be an integer >= 0."],
    [compress(["--scheme", "hand", "--max-params", "5000"]),
      "--scheme hand: the tiny hand-designed students are at --max-params 6732, 11782, 16832, 33664 (--counting sublayers); use one of these or a search scheme"],
    [compress(["--scheme", "hand", "--max-params", "6732"], { MAGIC_TABLES_DIR: noTables }), noTeacher],
    [magic(["compress-all", "--preset", "tiny", "--shard", "1/1"]), "--shard 1/1: use i/n with 0 <= i < n, e.g. 0/2"],
    [magic(["compress-all", "--preset", "tiny"], { MAGIC_TABLES_DIR: noTables }),
      `no ground-truth table for preset tiny (${path.join(noTables, "ground-truth", "tiny.json")}); build it with \`npm run magic -- ground-truth --preset tiny\``],
  ]);
});
