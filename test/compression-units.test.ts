// The compression experiment's units (lib/experiments/compression.ts) and views: the presets' budgets and
// hand-designed students within them, every searched student of the tiny preset within its budget, the
// teacher's choice, a tiny student end to end with KD (pre-train, fine-tune, commit, load, verify by
// recompute) against its no-KD control, and the views on hand-made numbers. Runs and tables go to temp
// folders (test/helpers/tiny-tables.ts).
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { useTinyTables } from "./helpers/tiny-tables";
import { DATA_PRESETS } from "../lib/data";
import { PRESETS } from "../lib/preset";
import { flops, makeSpace, sharedParamCount } from "../lib/nas/space";
import { projectPath } from "../lib/paths";
import { budgetParams, childParamRange } from "../lib/nas/budgets";
import { UserError } from "../lib/errors";
import { baselineModels, commitGlueUnit, glueUnit, GLUE_SWEEPS, type GlueUnit } from "../lib/experiments/glue-sweep";
import {
  budgetOf, chooseTeacher, commitCompressionUnit, commitLatencyUnit, compressionContext, compressionPlan, compressionStudents, COMPRESSION_PRESETS,
  committedCompressionFile, handStudents, latencyUnit, searchMaxParams, studentGlueUnit, studentPretrainUnit, verifyCompressionUnit, type StudentGlueUnit,
} from "../lib/experiments/compression";
import {
  budgetTables, budgetVerdicts, compressionKeyResult, compressionSources, compressionVerdictText, paretoFigure, paretoFront, paretoPoints, studentRows, verdictRows,
} from "../lib/experiments/compression-views";
import { GROUND_TRUTH_PRESETS } from "../lib/experiments/ground-truth";
import { GLUE_PRESETS } from "../lib/experiments/glue";
import "./helpers/checkout-state";

const tables = useTinyTables("magic-compression-");
const c = COMPRESSION_PRESETS.tiny;

test("every preset: >= 4 budgets from <= 20 % to 100 % of the largest child in sub-layer parameters, each hand-designed student BERT-style within its budget", () => {
  for (const preset of PRESETS) {
    const p = COMPRESSION_PRESETS[preset];
    const space = makeSpace(preset, DATA_PRESETS[preset].tokenizer.vocabSize!);
    const students = handStudents(p, space);
    assert.ok(students.length >= 4, preset);
    assert.equal(p.counting, "sublayers");
    assert.ok(Math.min(...p.budgetFractions) <= 0.2 && Math.max(...p.budgetFractions) === 1, preset);
    const largest = childParamRange(space, "sublayers").largest.params;
    for (const s of students) {
      assert.equal(s.budget.maxParams, Math.floor(s.budget.fraction * largest));
      assert.ok(budgetParams(space, s.arch) <= s.budget.maxParams, `${preset} ${s.name}`);
      const names = s.arch.map((i) => space.ops[i].name);
      const pairs = names.filter((n) => n !== "id").length / 2;
      names.forEach((n, l) => assert.match(n, l >= 2 * pairs ? /^id$/ : l % 2 === 0 ? /^att/ : /^ffn/, `${preset} ${s.name} layer ${l}`));
    }
    assert.equal(new Set(students.map((s) => s.name)).size, students.length);
  }
  assert.ok(COMPRESSION_PRESETS.small.seeds.length >= 3 && COMPRESSION_PRESETS.tiny.seeds.length === 1);
  assert.ok(COMPRESSION_PRESETS.small.budgetFractions[0] <= 0.15);
  const small = makeSpace("small", DATA_PRESETS.small.tokenizer.vocabSize!);
  const smallBudgets = handStudents(COMPRESSION_PRESETS.small, small).map((s) => s.budget);
  assert.deepEqual(smallBudgets.map((b) => b.maxParams), [39859, 100864, 159436, 265728]);
  assert.equal(searchMaxParams(small, smallBudgets[1]), GLUE_SWEEPS.small.maxParams, "the 38 % budget's searches are notebook 05's");
  assert.equal(COMPRESSION_PRESETS.small.noKd.fraction, smallBudgets[1].fraction);
  const space = makeSpace("tiny", 1024);
  const tooBig = { ...c, handDesigned: [{ pairs: 2, att: "att8", ffn: "ffn128" }, ...c.handDesigned.slice(1)] };
  assert.throws(() => handStudents(tooBig, space), (e: unknown) => e instanceof UserError && /att8-ffn128-att8-ffn128 has 25408 parameters \(sublayers\), over its budget 6732/.test(e.message));
  const smallest = childParamRange(space, "sublayers").smallest.params;
  assert.equal(smallest, 0, "identities only");
  assert.equal(budgetOf(space, 0, "sublayers").maxParams, 0);
  assert.throws(() => budgetOf(space, 35999, "total"), (e: unknown) => e instanceof UserError && /use a budget of at least 36000/.test(e.message));
});

test("tiny: every searched student (magic-at and uniform supernets, each budget) is within its budget", async () => {
  const space = makeSpace("tiny", tables.data.vocabSize);
  const { students, searches } = await compressionStudents(c, tables.data, tables.gt);
  assert.equal(students.length, c.budgetFractions.length * (1 + c.schemes.length));
  assert.equal(searches.length, c.budgetFractions.length * c.schemes.length);
  for (const s of students) assert.ok(budgetParams(space, s.arch) <= s.budget.maxParams, `${s.name}: ${budgetParams(space, s.arch)} > ${s.budget.maxParams}`);
  for (const search of searches) {
    const student = students.find((s) => s.kind === search.scheme && s.budget.maxParams + sharedParamCount(space) === search.maxParams)!;
    assert.deepEqual(student.arch, search.best.arch);
    assert.ok(search.history.every((h) => h.params - sharedParamCount(space) <= student.budget.maxParams), "every scored child within the budget");
  }
  const otherShard = await compressionStudents(c, tables.data, tables.gt, undefined, [1, 2]);
  assert.deepEqual(otherShard.students, students, "a shard that searches in another order finds the same students in the same order");
  assert.deepEqual(otherShard.searches.map((s) => [s.scheme, s.maxParams]), searches.map((s) => [s.scheme, s.maxParams]));
  const plan = compressionPlan(c, students);
  assert.equal(plan.length, students.length * (1 + c.tasks.length * c.seeds.length) + 1 + c.tasks.length * c.seeds.length);
  assert.equal(plan.filter((u) => !u.kd).every((u) => u.student.kind === "magic-at" && u.student.budget.fraction === 0.5), true);
});

/** A committed-looking fine-tuning unit of the sweep with only what chooseTeacher reads. */
function fakeSweepUnit(model: string, accuracy: number): GlueUnit {
  return { kind: "model", model, arch: [0, 3, 0, 3], task: "rte", seed: 0, metrics: { accuracy }, configHash: "fake" } as GlueUnit;
}

test("the teacher: the committed sweep model with the best GLUE average; none is an error naming glue-all", () => {
  assert.throws(() => chooseTeacher(c), (e: unknown) => e instanceof UserError && /no teacher: .* holds no GLUE-sweep model with units of rte at seed 0; build them with `npm run magic -- glue-all --preset tiny --commit`/.test(e.message));
  const dir = path.join(tables.scratch, "tables", "glue-results", "tiny");
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, "a-rte-seed0.json"), JSON.stringify(fakeSweepUnit("a", 0.5)));
  fs.writeFileSync(path.join(dir, "b-rte-seed0.json"), JSON.stringify(fakeSweepUnit("b", 0.7)));
  fs.writeFileSync(path.join(dir, "c-sst2-seed0.json"), JSON.stringify({ ...fakeSweepUnit("c", 0.9), task: "sst2" }));
  const choice = chooseTeacher(c);
  assert.equal(choice.model.name, "b");
  assert.deepEqual(choice.candidates, [{ name: "a", glueAverage: 0.5 }, { name: "b", glueAverage: 0.7 }], "c has no rte unit");
  assert.equal(chooseTeacher({ ...c, teacher: "a" }).model.name, "a");
  assert.throws(() => chooseTeacher({ ...c, teacher: "c" }), /teacher 'c' has no units of rte at seed 0 in .*; there are: a, b/);
  assert.throws(() => compressionContext(c, tables.data), /b-rte-seed0\.json was computed for config hash fake.*glue-all --preset tiny --commit/);
  fs.rmSync(dir, { recursive: true, force: true });
});

test("a tiny student end to end with KD: pre-train and fine-tune from the teacher, commit, load, verify by recompute; KD changes the numbers", async () => {
  const space = makeSpace("tiny", tables.data.vocabSize);
  const teacherModel = baselineModels(GLUE_SWEEPS.tiny, space)[0];
  const teacherUnit = (await glueUnit(GLUE_SWEEPS.tiny, { kind: "model", model: teacherModel, task: "rte", seed: 0 }, tables.data, null))!;
  commitGlueUnit(teacherUnit);
  const ctx = compressionContext(c, tables.data);
  assert.equal(ctx.teacher.model.name, teacherModel.name);
  const student = handStudents(c, space)[0];
  const spec = { kind: "finetune" as const, student, kd: true, task: "rte" as const, seed: 0 };
  const teacherRuns = path.join(tables.scratch, "runs", "glue", "tiny", "model");
  const teacherResultTimes = () => fs.readdirSync(teacherRuns).filter((n) => n.startsWith(`${teacherModel.name}-rte-seed0-`)).map((n) => fs.statSync(path.join(teacherRuns, n, "result.json")).mtimeMs);
  const teacherTrainedAt = teacherResultTimes();
  assert.equal(teacherTrainedAt.length, 1);
  const unit = await studentGlueUnit(ctx, spec);
  assert.deepEqual(teacherResultTimes(), teacherTrainedAt, "the teacher's finished fine-tuning run is loaded, not trained again");
  assert.equal(unit.source, "computed");
  assert.equal(unit.pretrain.origin, "trained");
  assert.deepEqual(unit.kd, c.kd);
  assert.deepEqual(unit.teacher, { name: teacherModel.name, arch: teacherModel.arch, pretrain: teacherUnit.pretrain.configHash, finetune: teacherUnit.configHash });
  assert.equal(unit.budgetParams, budgetParams(space, student.arch));
  assert.ok(unit.budgetParams <= student.budget.maxParams);
  assert.equal(unit.predictions.length, unit.devExamples);
  assert.equal(unit.metrics.accuracy, unit.predictions.filter((p) => p.prediction === p.label).length / unit.devExamples);
  assert.equal((await studentGlueUnit(ctx, spec)).source, "cache");
  const pre = await studentPretrainUnit(ctx, student, true);
  assert.equal(pre.source, "cache");
  assert.equal(pre.row.valLoss, unit.pretrain.valLoss);

  const control = await studentGlueUnit(ctx, { ...spec, kd: false });
  assert.equal(control.model, `${student.name}-nokd`);
  assert.equal(control.teacher, null);
  assert.notEqual(control.configHash, unit.configHash);
  assert.notEqual(control.pretrain.valLoss, unit.pretrain.valLoss, "KD pre-training is another run than plain MLM");

  const file = commitCompressionUnit(unit);
  assert.equal(file, path.join(tables.scratch, "tables", "compression", "tiny", `${student.name}-rte-seed0.json`));
  assert.equal(committedCompressionFile("tiny", spec), file);
  commitCompressionUnit(pre);
  fs.rmSync(path.join(tables.scratch, "runs", "compression"), { recursive: true, force: true }); // only the tables can serve them now
  const loaded = await studentGlueUnit(ctx, spec);
  assert.equal(loaded.source, "committed");
  assert.deepEqual(loaded.predictions, unit.predictions);
  assert.equal((await studentPretrainUnit(ctx, student, true)).source, "committed");
  assert.equal(fs.existsSync(path.join(tables.scratch, "runs", "compression")), false, "nothing was trained");

  const check = await verifyCompressionUnit(ctx, loaded);
  assert.deepEqual([check.maxAbsDiff, check.tolerance, check.ok], [0, 0, true]);
  const tampered = structuredClone(loaded);
  tampered.pretrain.valLoss += 1e-6;
  assert.equal((await verifyCompressionUnit(ctx, tampered)).ok, false, "a changed pre-training loss fails the check");

  fs.writeFileSync(file, JSON.stringify({ ...unit, configHash: "0000" }));
  await assert.rejects(studentGlueUnit(ctx, spec), /was computed for config hash 0000.*MAGIC_RECOMPUTE=1 npm run magic -- compress-all --preset tiny --commit/);

  const latency = latencyUnit(c, space, [student, handStudents(c, space)[3]]);
  assert.equal(latency.source, "computed");
  assert.deepEqual(latency.rows.map((r) => r.student), [student.name, handStudents(c, space)[3].name]);
  assert.equal(latency.maxMs, c.latency.fraction * latency.largest.medianMs);
  for (const r of latency.rows) assert.equal(r.withinBudget, r.medianMs <= latency.maxMs);
  commitLatencyUnit(latency);
  assert.equal(latencyUnit(c, space, [student, handStudents(c, space)[3]]).source, "committed");
});

test("a preset's pre-training and fine-tuning steps are its units' (the small preset's are cut: 300 and 200)", async () => {
  const space = makeSpace("tiny", tables.data.vocabSize);
  commitGlueUnit((await glueUnit(GLUE_SWEEPS.tiny, { kind: "model", model: baselineModels(GLUE_SWEEPS.tiny, space)[0], task: "rte", seed: 0 }, tables.data, null))!);
  const short = { ...c, pretrainSteps: 10, finetuneSteps: 6 };
  const student = handStudents(short, space)[0];
  const unit = await studentGlueUnit(compressionContext(short, tables.data), { kind: "finetune", student, kd: false, task: "rte", seed: 0 });
  assert.deepEqual([unit.pretrain.steps, unit.steps], [10, 6]);
  const full = await studentGlueUnit(compressionContext(c, tables.data), { kind: "finetune", student, kd: false, task: "rte", seed: 0 });
  assert.deepEqual([full.pretrain.steps, full.steps], [GROUND_TRUTH_PRESETS.tiny.steps, GLUE_PRESETS.tiny.maxSteps]);
  assert.notEqual(unit.configHash, full.configHash);
});

test("compress (CLI) at tiny: a hand-designed student with KD as the documented JSON", async () => {
  const space = makeSpace("tiny", tables.data.vocabSize);
  const teacherModel = baselineModels(GLUE_SWEEPS.tiny, space)[0];
  commitGlueUnit((await glueUnit(GLUE_SWEEPS.tiny, { kind: "model", model: teacherModel, task: "rte", seed: 0 }, tables.data, null))!);
  const student = handStudents(c, space)[1];
  const out = path.join(tables.scratch, "student.json");
  const env = { ...process.env, MAGIC_RUNS_DIR: path.join(tables.scratch, "runs"), MAGIC_TABLES_DIR: path.join(tables.scratch, "tables") };
  const args = ["--import", "tsx", "scripts/magic.ts", "compress", "--scheme", "hand", "--max-params", String(student.budget.maxParams), "--preset", "tiny", "--seed", "0", "--out", out];
  const run = spawnSync(process.execPath, args, { cwd: projectPath(), env, encoding: "utf8" });
  assert.equal(run.status, 0, run.stderr);
  const result = JSON.parse(fs.readFileSync(out, "utf8"));
  assert.deepEqual(result.budget, { maxParams: student.budget.maxParams, counting: "sublayers", fraction: student.budget.fraction });
  assert.deepEqual([result.student.arch, result.student.archId, result.student.params], [student.arch, "att4-ffn64-id-id", budgetParams(space, student.arch)]);
  assert.equal(result.student.flops, flops(space, student.arch));
  assert.ok(result.student.latencyMs > 0 && result.student.largestChildLatencyMs > 0);
  assert.deepEqual([result.teacher.name, result.teacher.arch], [teacherModel.name, teacherModel.arch]);
  assert.deepEqual(Object.keys(result.glue), ["rte"]);
  assert.equal(result.glueAverage, result.glue.rte.accuracy, "one task: its score is its accuracy");
  const committedLike = await studentGlueUnit(compressionContext(c, tables.data), { kind: "finetune", student, kd: true, task: "rte", seed: 0 });
  assert.equal(committedLike.source, "cache", "the CLI's unit is the library's");
  assert.deepEqual(committedLike.metrics, result.glue.rte);
});

/** A fine-tuning unit with only what the views read. */
function unit(kind: string, maxParams: number, params: number, task: GlueUnit["task"], seed: number, accuracy: number, kd = true): StudentGlueUnit {
  const student = `${kind}-p${maxParams}`;
  return {
    kind: "model", model: kd ? student : `${student}-nokd`, student, studentKind: kind, budget: { fraction: maxParams / 100, maxParams, counting: "sublayers" },
    budgetParams: params, archId: `${kind}${params}`, task, seed, metrics: { accuracy }, kd: kd ? { lambda: 0.5, temperature: 2, hiddenWeight: 1 } : null,
  } as StudentGlueUnit;
}

test("views on hand-made numbers: Pareto points and front, a table per budget, verdicts searched vs hand, magic-at vs uniform, KD vs none", () => {
  const seeds = [0, 1, 2, 3, 4, 5];
  const units = [
    // Budget 50: magic-at beats hand by 0.1 on all 6 seeds (exact permutation p = 2/64), uniform ties with hand on average.
    ...seeds.map((s) => unit("hand", 50, 40, "rte", s, 0.5 + 0.01 * s)),
    ...seeds.map((s) => unit("magic-at", 50, 48, "rte", s, 0.6 + 0.01 * s)),
    ...seeds.map((s) => unit("uniform", 50, 45, "rte", s, 0.5 + 0.01 * s + (s % 2 ? 0.02 : -0.02))),
    ...seeds.map((s) => unit("magic-at", 50, 48, "rte", s, 0.55 + 0.01 * s, false)),
    // Budget 100: one student per kind, hand best.
    ...seeds.map((s) => unit("hand", 100, 90, "rte", s, 0.7)),
    ...seeds.map((s) => unit("magic-at", 100, 99, "rte", s, 0.65)),
  ];
  const latency = { rows: [{ student: "hand-p50", medianMs: 2 }, { student: "magic-at-p50", medianMs: 3 }, { student: "hand-p100", medianMs: 5 }] } as never;
  const points = paretoPoints(units, ["rte"], latency);
  assert.deepEqual(points.map((p) => [p.model, p.series, p.params, p.latencyMs]), [
    ["hand-p50", "hand", 40, 2], ["magic-at-p50", "magic-at", 48, 3], ["uniform-p50", "uniform", 45, null],
    ["magic-at-p50-nokd", "magic-at (no KD)", 48, 3], ["hand-p100", "hand", 90, 5], ["magic-at-p100", "magic-at", 99, null],
  ]);
  assert.ok(Math.abs(points[0].glue.mean - 0.525) < 1e-12 && points[0].glue.seeds === 6);
  assert.ok(points[0].glue.ci[0] < 0.525 && points[0].glue.ci[1] > 0.525);
  assert.deepEqual(paretoFront(points, "params").map((p) => p.model), ["hand-p50", "magic-at-p50", "hand-p100"]);
  assert.deepEqual(paretoFront(points, "latencyMs").map((p) => p.model), ["hand-p50", "magic-at-p50", "hand-p100"]);
  const figure = paretoFigure(points, "latencyMs", "t");
  assert.deepEqual((figure.data as { name: string; x: number[] }[]).map((d) => [d.name, d.x]), [["hand", [2, 5]], ["magic-at", [3]], ["magic-at (no KD)", [3]]]);

  const tablesPerBudget = budgetTables(units, ["rte"]);
  assert.deepEqual(tablesPerBudget.map((t) => [t.maxParams, t.rows.map((r) => [r.model, r.params])]), [
    [50, [["hand-p50", 40], ["magic-at-p50", 48], ["uniform-p50", 45], ["magic-at-p50-nokd", 48]]],
    [100, [["hand-p100", 90], ["magic-at-p100", 99]]],
  ]);
  assert.match(String(tablesPerBudget[1].rows[0]["GLUE average"]), /^0\.700 /);

  const verdicts = budgetVerdicts(units, ["magic-at", "uniform"]);
  assert.deepEqual(verdicts[0].comparisons.map((v) => [v.claim, v.verdict]), [
    ["magic-at-p50 > hand-p50", "reproduced"],
    ["uniform-p50 > hand-p50", "inconclusive"],
    ["magic-at-p50 > uniform-p50", "reproduced"],
    ["magic-at-p50 > magic-at-p50-nokd", "reproduced"],
  ]);
  assert.equal(verdicts[0].comparisons[0].pValue, 2 / 64);
  assert.ok(Math.abs(verdicts[0].comparisons[0].meanDiff - 0.1) < 1e-12);
  assert.deepEqual(verdicts[1].comparisons.map((v) => [v.claim, v.verdict]), [["magic-at-p100 > hand-p100", "contradicted"]]);
  assert.deepEqual(verdictRows(verdicts).map((r) => [r.budget, r.claim, r.wins]), [
    ["50 (50 %)", "magic-at-p50 > hand-p50", "6/6"], ["50 (50 %)", "uniform-p50 > hand-p50", "3/6"], ["50 (50 %)", "magic-at-p50 > uniform-p50", "6/6"],
    ["50 (50 %)", "magic-at-p50 > magic-at-p50-nokd", "6/6"], ["100 (100 %)", "magic-at-p100 > hand-p100", "0/6"],
  ]);
  assert.match(compressionVerdictText(verdicts), /^- budget 50 \(50 %\): \*\*magic-at-p50 > hand-p50\*\*: \*\*reproduced\*\* \(mean difference 0\.1000, 95 % interval \[0\.1000, 0\.1000\], p 0\.031, 6\/6/);
  assert.equal(compressionKeyResult(points, verdicts), "claims: 3 reproduced, 1 contradicted, 1 inconclusive of 5; Pareto front (params): hand-p50 0.525, magic-at-p50 0.625, hand-p100 0.700");

  const provenance = compressionSources([{ source: "committed" }, { source: "committed" }, { source: "cache" }, { source: "computed" }] as never, { source: "committed" } as never, "tiny");
  assert.equal(provenance, "4 compression units (pre-trainings and fine-tunings): 2 loaded from `data/compression/tiny/`, 1 from runs under `runs/compression/`, 1 trained now. " +
    "1 latency measurement: 1 loaded from `data/compression/tiny/latency.json`, 0 from runs under `runs/compression/`, 0 measured now.");

  const space = makeSpace("tiny", 1024);
  const [hand] = handStudents(c, space);
  assert.deepEqual(studentRows(space, [hand]), [{ budget: "6732 (20 %)", student: "hand-p6732", kind: "hand", arch: "att2-ffn32-id-id", params: 6464, "share of budget": "0.96" }]);
});
