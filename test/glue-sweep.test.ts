// The GLUE sweep: the position table a pre-trained encoder is extended by (shapes, the learned rows kept,
// another hidden size still refused), a tiny unit end to end (pre-train -> fine-tune -> commit -> load the
// committed unit -> verify by recompute), a resumed unit equal to an uninterrupted one, the plan and the
// budget, and the views on hand-made numbers. Runs and tables go to temp folders (test/helpers/tiny-tables.ts).
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { useTinyTables } from "./helpers/tiny-tables";
import { DATA_PRESETS } from "../lib/data";
import { loadOrTrainTokenizer } from "../lib/data/tokenizer";
import { defaultOps, makeSpace, paramCount } from "../lib/nas/space";
import { Supernet } from "../lib/nas/supernet";
import type { SearchSpace } from "../lib/nas/types";
import { loadWeights } from "../lib/train/loop";
import { CheckpointError, checkpointPath, writeCheckpoint } from "../lib/train/checkpoint";
import { prepareGlueRun, positionTableAdapter, repeatPositions } from "../lib/experiments/glue";
import type { GroundTruthTable } from "../lib/experiments/ground-truth";
import { groundTruthChildren, GROUND_TRUTH_PRESETS, recordGroundTruthRow, runGroundTruthJob } from "../lib/experiments/ground-truth";
import { backendInfo } from "../lib/backend";
import type { RankResult } from "../lib/experiments/ranking";
import {
  baselineModels,
  checkModels,
  commitGlueUnit,
  committedGlueFile,
  GLUE_SWEEPS,
  glueSweep,
  glueSweepPlan,
  glueUnit,
  pretrainUnit,
  unitLabel,
  verifyGlueUnit,
  type GlueUnit,
} from "../lib/experiments/glue-sweep";
import {
  cheapestUnit, comparisonRows, compareModels, fineTunedTau, fineTunedTauRows, glueAverageBySeed, glueAverageCells, glueTableRows, glueTaskCells,
  keyResultText, searchCurveFigure, searchRows, verdictText, type FineTunedTau,
} from "../lib/experiments/glue-views";
import type { SearchResult } from "../lib/experiments/search";
import { projectPath, runsPath } from "../lib/paths";
import { UserError } from "../lib/errors";
import "./helpers/checkout-state";

const tables = useTinyTables("magic-gluesweep-");
const config = GLUE_SWEEPS.tiny;

/** Writes `model`'s variables as a checkpoint in a new folder under the scratch folder. */
function saveModel(model: Supernet, name: string): string {
  const dir = path.join(tables.scratch, name);
  const tensors = [...model.namedVariables()].map(([n, v]) => ({ name: `var/${n}`, shape: [...v.shape], data: v.dataSync() as Float32Array }));
  writeCheckpoint(checkpointPath(dir), { configHash: "test", step: 1, meta: null, tensors });
  return dir;
}

const tinySpace = (changes: Partial<SearchSpace>): SearchSpace => ({ ...makeSpace("tiny", 1024), ...changes });

test("a shorter position table is extended by repeating its learned rows; nothing else is adapted", () => {
  const table = { name: "var/emb/pos", shape: [3, 2], data: Float32Array.from([1, 2, 3, 4, 5, 6]) };
  const out = repeatPositions(table, 7);
  assert.deepEqual(out.shape, [7, 2]);
  assert.deepEqual([...out.data], [1, 2, 3, 4, 5, 6, 1, 2, 3, 4, 5, 6, 1, 2]);
  assert.throws(() => repeatPositions(table, 2), /cannot extend a \[3,2\] table to 2 rows/);

  const arch = [0, 3, 0, 3];
  const short = new Supernet({ space: tinySpace({ id: "tiny-T16", seqLen: 16 }), seed: 1, only: arch });
  const dir = saveModel(short, "short");
  const long = new Supernet({ space: tinySpace({}), seed: 2, only: arch });
  assert.throws(() => loadWeights(dir, long), /variable emb\/pos has shape \[16,32\], the model \[32,32\]/, "strict without the policy");
  loadWeights(dir, long, { adapt: positionTableAdapter("repeat") });
  const [from, to] = [short.namedVariables(), long.namedVariables()];
  const pos = to.get("emb/pos")!.arraySync() as number[][], learned = from.get("emb/pos")!.arraySync() as number[][];
  assert.deepEqual(to.get("emb/pos")!.shape, [32, 32]);
  assert.deepEqual(pos.slice(0, 16), learned, "the first T rows are the learned ones");
  assert.deepEqual(pos.slice(16), learned, "the rest repeat them");
  for (const [name, v] of from) if (name !== "emb/pos") assert.deepEqual(to.get(name)!.dataSync(), v.dataSync(), name);
  short.dispose();
  long.dispose();

  // Another hidden size is still an error, with the GLUE run's explanation.
  const narrow = new Supernet({ space: tinySpace({ id: "tiny-D16", hidden: 16, ops: defaultOps(16) }), seed: 1, only: arch });
  const narrowDir = saveModel(narrow, "narrow");
  narrow.dispose();
  assert.throws(
    () => prepareGlueRun({ task: "rte", arch, preset: "tiny", seed: 0, from: narrowDir, warn: () => undefined }),
    (e: unknown) => e instanceof CheckpointError && /emb\/token has shape \[1024,16\], the model \[1024,32\].*hidden size 32; a shorter position table is extended \(positionTable: repeat\)/.test(e.message),
  );
});

test("a tiny unit end to end: pre-train, fine-tune, commit, load the committed unit, verify by recompute", async () => {
  const space = makeSpace("tiny", tables.data.vocabSize);
  const model = baselineModels(config, space)[0];
  const spec = { kind: "model" as const, model, task: "rte" as const, seed: 0 };
  const pre = await pretrainUnit(config, model, tables.data);
  assert.ok(pre && pre.origin === "trained" && pre.source === "computed");
  assert.equal(pre.row.steps, 20);
  assert.ok(pre.row.valLoss > 0 && Number.isFinite(pre.row.valLoss));
  const unit = (await glueUnit(config, spec, tables.data, null))!;
  assert.equal(unit.source, "computed");
  assert.equal(unit.pretrain.origin, "run", "the fine-tuning loads the pre-training's checkpoint");
  assert.equal(unit.pretrain.configHash, pre.configHash);
  assert.equal(unit.pretrain.valLoss, pre.row.valLoss);
  assert.equal(unit.predictions.length, unit.devExamples);
  assert.equal(unit.metrics.accuracy, unit.predictions.filter((p) => p.prediction === p.label).length / unit.devExamples);
  assert.equal(unit.score, unit.metrics.accuracy);
  assert.equal((await glueUnit(config, spec, tables.data, null))!.source, "cache");

  const file = commitGlueUnit(unit);
  assert.equal(file, path.join(tables.scratch, "tables", "glue-results", "tiny", "deep-narrow-rte-seed0.json"));
  assert.equal(committedGlueFile("tiny", spec), file);
  commitGlueUnit(pre);
  fs.rmSync(path.join(tables.scratch, "runs"), { recursive: true, force: true }); // only the tables can serve them now
  const loaded = (await glueUnit(config, spec, tables.data, null))!;
  assert.equal(loaded.source, "committed");
  assert.deepEqual(loaded.predictions, unit.predictions);
  assert.equal((await pretrainUnit(config, model, tables.data))!.source, "committed");
  assert.equal(fs.existsSync(path.join(tables.scratch, "runs", "glue")), false, "nothing was trained");

  const check = await verifyGlueUnit(config, loaded, tables.data);
  assert.deepEqual([check.maxAbsDiff, check.tolerance, check.ok], [0, 0, true]);
  const tampered = structuredClone(loaded);
  tampered.predictions[3].prediction = 1 - tampered.predictions[3].prediction;
  assert.equal((await verifyGlueUnit(config, tampered, tables.data)).ok, false, "a changed prediction fails the check");

  fs.writeFileSync(file, JSON.stringify({ ...unit, configHash: "0000" }));
  await assert.rejects(glueUnit(config, spec, tables.data, null), /was computed for config hash 0000.*MAGIC_RECOMPUTE=1 npm run magic -- glue-all --preset tiny --commit/);
});

test("a unit stopped during pre-training and during fine-tuning resumes to the uninterrupted numbers", async () => {
  const space = makeSpace("tiny", tables.data.vocabSize);
  const spec = { kind: "model" as const, model: baselineModels(config, space)[1], task: "mrpc" as const, seed: 0 };
  const once = (await glueUnit(config, spec, tables.data, null, { runRoot: path.join(tables.scratch, "once"), useCommitted: false }))!;
  const runRoot = path.join(tables.scratch, "resumed");
  assert.equal(await glueUnit(config, spec, tables.data, null, { runRoot, useCommitted: false, stopAfter: 7 }), null, "stopped in pre-training");
  assert.equal(await glueUnit(config, spec, tables.data, null, { runRoot, useCommitted: false, stopAfter: 25 }), null, "pre-trained, stopped in fine-tuning");
  const resumed = (await glueUnit(config, spec, tables.data, null, { runRoot, useCommitted: false }))!;
  assert.equal(resumed.source, "computed");
  assert.deepEqual(resumed.metrics, once.metrics);
  assert.deepEqual(resumed.predictions, once.predictions);
  assert.equal(resumed.pretrain.valLoss, once.pretrain.valLoss);
  assert.equal(resumed.configHash, once.configHash);
});

test("a ground-truth child is fine-tuned from its ground-truth build's checkpoint only when the build matches the committed table", async () => {
  const child = groundTruthChildren(tables.gt)[0];
  const job = { arch: child.arch, seed: 0, key: `${child.id}-seed0` };
  const runDir = runsPath("ground-truth", `tiny-${tables.gt.configHash}-earliercode-${backendInfo()!.name}`);
  const row = (await runGroundTruthJob(GROUND_TRUTH_PRESETS.tiny, tables.data, job, tables.gt.configHash, { runDir }))!;
  const committed = tables.gt.rows.find((r) => r.id === child.id && r.seed === 0)!;
  assert.equal(row.valLoss, committed.valLoss, "the ground-truth job code still gives the committed loss");
  const spec = { kind: "ground-truth" as const, model: { name: child.id, arch: child.arch }, task: "rte" as const, seed: 0 };
  const reused = (await glueUnit(config, spec, tables.data, tables.gt, { useCommitted: false }))!;
  assert.equal(reused.pretrain.origin, "ground-truth build");
  assert.equal(reused.pretrain.valLoss, committed.valLoss);
  recordGroundTruthRow(runDir, job, { ...row, valLoss: row.valLoss + 1 });
  const retrained = (await glueUnit(config, spec, tables.data, tables.gt, { useCommitted: false, runRoot: path.join(tables.scratch, "other") }))!;
  assert.equal(retrained.pretrain.origin, "trained", "a build that disagrees with the committed table is not used");
  assert.deepEqual(retrained.predictions, reused.predictions);
});

test("the whole sweep of a reduced plan: every unit once, split by kind, ready for the views", async () => {
  const reduced = { ...config, tasks: ["rte" as const], groundTruth: { children: 1, tasks: ["rte" as const], seed: 0 } };
  const models = baselineModels(reduced, makeSpace("tiny", tables.data.vocabSize));
  const sweep = await glueSweep(reduced, models, tables.data, tables.gt, { runRoot: path.join(tables.scratch, "sweep"), useCommitted: false });
  assert.deepEqual(sweep.pretrain.map((u) => u.model), ["deep-narrow", "shallow-wide"]);
  assert.deepEqual(sweep.units.map((u) => `${u.kind}/${u.model}/${u.task}`), ["model/deep-narrow/rte", "model/shallow-wide/rte", `ground-truth/${groundTruthChildren(tables.gt)[0].id}/rte`]);
  assert.deepEqual(glueTaskCells(sweep.units).map((c) => [c.model, c.mean]), sweep.units.slice(0, 2).map((u) => [u.model, u.metrics.accuracy]));
});

test("the plan: pre-trainings, then every model x task x seed, then the first ground-truth children; the budget is the largest baseline's", () => {
  const tokenizerVocab = (preset: "tiny" | "small") => loadOrTrainTokenizer(DATA_PRESETS[preset].tokenizer).tokenizer.vocabSize;
  for (const preset of ["tiny", "small"] as const) {
    const c = GLUE_SWEEPS[preset];
    const space = makeSpace(preset, tokenizerVocab(preset));
    const models = baselineModels(c, space);
    assert.ok(models.length >= 2);
    assert.equal(c.maxParams, Math.max(...models.map((m) => paramCount(space, m.arch))), `${preset} maxParams`);
    for (const m of models) assert.match(m.name, /^[a-z-]+$/);
    const gt = JSON.parse(fs.readFileSync(projectPath("data", "ground-truth", `${preset}.json`), "utf8")) as GroundTruthTable;
    const plan = glueSweepPlan(c, models, gt);
    const children = Math.min(c.groundTruth.children, groundTruthChildren(gt).length);
    assert.equal(plan.length, models.length + models.length * c.tasks.length * c.seeds.length + children * c.groundTruth.tasks.length);
    assert.deepEqual(plan.slice(0, models.length).map(unitLabel), models.map((m) => `${m.name}-pretrain`));
    assert.equal(new Set(plan.map((u) => `${u.kind}/${unitLabel(u)}`)).size, plan.length, "distinct units");
    assert.equal(c.tasks.length, 7);
    for (const m of models) for (const task of c.tasks) for (const seed of c.seeds) {
      assert.ok(plan.some((u) => u.kind === "model" && u.model.name === m.name && u.task === task && u.seed === seed), `${m.name} ${task} ${seed}`);
    }
    const gtUnits = plan.filter((u) => u.kind === "ground-truth");
    assert.deepEqual([...new Set(gtUnits.map((u) => u.model.name))], groundTruthChildren(gt).slice(0, children).map((ch) => ch.id));
  }
  assert.ok(GLUE_SWEEPS.small.seeds.length >= 3 && GLUE_SWEEPS.small.groundTruth.children >= 16);
  const space = makeSpace("tiny", 1024);
  const [a] = baselineModels(config, space);
  assert.throws(() => checkModels(config, space, [a, { ...a }]), (e: unknown) => e instanceof UserError && /'deep-narrow' is used twice/.test(e.message));
  assert.throws(() => checkModels(config, space, [{ ...a, name: "Bad Name" }]), /GLUE model name 'Bad Name'/);
  assert.throws(() => checkModels(config, space, [{ name: "big", arch: [5, 5, 5, 5] }]), /big \(ffn128-ffn128-ffn128-ffn128\) has \d+ parameters, over the tiny budget of 48928/);
});

/** A fine-tuning unit with only what the views read. */
function unit(model: string, task: GlueUnit["task"], seed: number, metrics: GlueUnit["metrics"], kind: GlueUnit["kind"] = "model"): GlueUnit {
  return { kind, model, archId: model, task, seed, metrics } as GlueUnit;
}

test("views on hand-made numbers: t intervals over seeds, GLUE average per seed, paired verdicts, tau against fine-tuned scores", () => {
  const units = [
    ...[0.8, 0.82, 0.84].map((acc, seed) => unit("a", "sst2", seed, { accuracy: acc })),
    ...[[0.9, 0.7], [0.8, 0.6], [0.85, 0.65]].map(([f1, acc], seed) => unit("a", "mrpc", seed, { f1, accuracy: acc })),
    ...[0.7, 0.72, 0.74].map((acc, seed) => unit("b", "sst2", seed, { accuracy: acc })),
    ...[[0.8, 0.6], [0.7, 0.5], [0.75, 0.55]].map(([f1, acc], seed) => unit("b", "mrpc", seed, { f1, accuracy: acc })),
    unit("c1", "sst2", 0, { accuracy: 0.99 }, "ground-truth"), // not a model of the tables
  ];
  const cells = glueTaskCells(units);
  assert.deepEqual(cells.map((c) => `${c.model}/${c.task}/${c.seeds}`), ["a/sst2/3", "a/mrpc/3", "b/sst2/3", "b/mrpc/3"]);
  // a on SST-2: mean 0.82, sd 0.02, t(0.975, 2) = 4.3027: half-width 4.3027 x 0.02 / sqrt(3) = 0.049683
  assert.ok(Math.abs(cells[0].mean - 0.82) < 1e-12);
  assert.ok(Math.abs(cells[0].ci[1] - 0.82 - 0.0496827542) < 1e-9 && Math.abs(0.82 - cells[0].ci[0] - 0.0496827542) < 1e-9);
  assert.ok(Math.abs(cells[1].mean - 0.75) < 1e-12, "MRPC's score is the mean of F1 and accuracy: (0.8 + 0.7 + 0.75) / 3");

  const bySeed = glueAverageBySeed(units, ["sst2", "mrpc"]);
  const expected = [["a", 0, (0.8 + 0.8) / 2], ["a", 1, (0.82 + 0.7) / 2], ["a", 2, (0.84 + 0.75) / 2], ["b", 0, (0.7 + 0.7) / 2], ["b", 1, (0.72 + 0.6) / 2], ["b", 2, (0.74 + 0.65) / 2]];
  bySeed.forEach((r, i) => {
    assert.deepEqual([r.model, r.seed], expected[i].slice(0, 2));
    assert.ok(Math.abs(r.average - (expected[i][2] as number)) < 1e-12, `${r.model} seed ${r.seed}`);
  });
  const averages = glueAverageCells(units, ["sst2", "mrpc"]);
  assert.ok(Math.abs(averages[0].mean - (0.8 + 0.76 + 0.795) / 3) < 1e-12);
  assert.throws(() => glueAverageBySeed(units, ["sst2", "rte"]), /a seed 0 has no rte result/);

  // a beats b by 0.1 on every one of the 6 (task, seed) pairs: exact permutation p = 2 / 2^6 = 0.03125
  const ab = compareModels(units, "a", "b");
  assert.equal(ab.pairs, 6);
  assert.ok(Math.abs(ab.meanDiff - 0.1) < 1e-12);
  assert.equal(ab.pValue, 2 / 64);
  assert.equal(ab.wins, 6);
  assert.equal(ab.verdict, "reproduced");
  assert.equal(compareModels(units, "b", "a").verdict, "contradicted");
  const mixed = [...units.filter((u) => u.model === "a"), ...units.filter((u) => u.model === "a").map((u) => unit("d", u.task, u.seed, { accuracy: u.seed === 1 ? 0.9 : 0.5 }))];
  assert.equal(compareModels(mixed, "a", "d").verdict, "inconclusive");

  // Supernet losses 1 < 2 < 3 < 4; fine-tuned accuracies 0.9, 0.8, 0.6, 0.7: one discordant pair of 6, tau = 4/6.
  const rank = {
    scheme: "s", seed: 1,
    children: ["c1", "c2", "c3", "c4", "c5"].map((id, i) => ({ id, arch: [], supernet: i + 1, groundTruth: [1, 2, 4, 3, 5][i], params: 0, flops: 0 })),
  } as unknown as RankResult;
  const fineTuned = [0.9, 0.8, 0.6, 0.7].map((accuracy, i) => unit(`c${i + 1}`, "sst2", 0, { accuracy }, "ground-truth"));
  const tau = fineTunedTau(rank, [...fineTuned, unit("c1", "mrpc", 0, { f1: 0, accuracy: 0 }, "ground-truth")], "sst2", { resamples: 200 });
  assert.equal(tau.children, 4, "c5 has no fine-tuned score");
  assert.ok(Math.abs(tau.tau - 4 / 6) < 1e-12);
  assert.equal(tau.mlmGroundTruthTau, 1, "the MLM ground truth orders c3/c4 as the fine-tuned scores do");
  assert.ok(tau.ci[0] <= tau.tau && tau.tau <= tau.ci[1]);
  assert.throws(() => fineTunedTau(rank, fineTuned, "mrpc"), /shares 0 children with the fine-tuned mrpc scores/);
});

test("notebook 05's tables and text on hand-made numbers: cells as mean [interval], claims with verdicts, undefined taus named, the cheapest unit", () => {
  const units = [
    ...[0.8, 0.82, 0.84].map((acc, seed) => ({ ...unit("a", "sst2", seed, { accuracy: acc }), steps: 100 + seed })),
    ...[0.7, 0.72, 0.74].map((acc, seed) => ({ ...unit("b", "sst2", seed, { accuracy: acc }), steps: 50 + seed })),
  ];
  const rows = glueTableRows(units, ["sst2"]);
  assert.deepEqual(rows.map((r) => [r.model, (r as Record<string, unknown>).sst2, r["GLUE average"], r.seeds]), [
    ["a", "0.820 [0.770, 0.870]", "0.820 [0.770, 0.870]", 3], // t half-width 0.0497 (test above)
    ["b", "0.720 [0.670, 0.770]", "0.720 [0.670, 0.770]", 3],
  ]);
  const ab = compareModels(units, "a", "b");
  assert.deepEqual(comparisonRows([ab]).map((r) => [r.claim, r.wins, r.verdict]), [["a > b", "3/3", ab.verdict]]);
  assert.equal(cheapestUnit(units).model, "b");
  assert.equal(cheapestUnit(units).seed, 0);
  assert.equal(keyResultText(units, ["sst2"], [ab]), `GLUE average: a 0.820, b 0.720; claims: ${ab.verdict === "reproduced" ? 1 : 0} reproduced, 0 contradicted, ${ab.verdict === "inconclusive" ? 1 : 0} inconclusive of 1`);

  const tau = (seed: number, value: number): FineTunedTau => ({ scheme: "s", seed, task: "sst2", children: 4, tau: value, ci: [value - 0.1, value + 0.1], mlmGroundTruthTau: 0.5 });
  const [defined] = fineTunedTauRows([tau(1, 0.2), tau(2, 0.4), tau(3, NaN)]);
  assert.equal(defined.seeds, "2 of 3 with a defined tau");
  assert.match(defined["tau vs fine-tuned"], /^0\.300 \[/);
  const [undefinedRow] = fineTunedTauRows([tau(1, NaN)]);
  assert.equal(undefinedRow["tau vs fine-tuned"], "undefined (every child scores the same)");
  assert.match(verdictText([ab], [tau(1, 0.2)]), /\*\*a > b\*\* on GLUE: \*\*\w+\*\* \(mean difference 0\.1000[^]*s on sst2: tau 0\.200/);

  const search = (method: "evolution" | "random"): SearchResult => ({
    scheme: "magic-at", seed: 1, method, maxParams: 10, feasibleFraction: 0.5, evaluations: 2, uniqueEvaluations: 2, seconds: 1,
    best: { arch: [0], id: "att4", estimatedLoss: 5, params: 9, flops: 1 },
    history: [{ evaluation: 0, id: "x", estimatedLoss: 6, params: 9, bestSoFar: 6 }, { evaluation: 1, id: "att4", estimatedLoss: 5, params: 9, bestSoFar: 5 }],
  } as SearchResult);
  assert.deepEqual(searchRows([search("evolution")]).map((r) => [r["best child"], r.evaluations, r.source]), [["att4", "2 (2 distinct)", "computed"]]);
  const figure = searchCurveFigure([search("evolution"), search("random")], "t");
  assert.deepEqual((figure.data as { y: number[]; line: { dash: string } }[]).map((d) => [d.y, d.line.dash]), [[[6, 5], "solid"], [[6, 5], "dot"]]);
});
