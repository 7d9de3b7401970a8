// The compression commands of the CLI (scripts/magic.ts registers them): `compress` (one student, JSON) and
// `compress-all` (every unit of COMPRESSION_PRESETS, like glue-all). Every input is checked before any heavy
// work: the budget against the smallest child, the scheme, the output file, the teacher's committed units.
import * as path from "node:path";
import { initBackend } from "../lib/backend";
import { checkWritableFile, checkWritableFolder } from "../lib/cli";
import { UserError } from "../lib/errors";
import { writeJsonAtomic } from "../lib/json-file";
import { runsPath } from "../lib/paths";
import type { Preset } from "../lib/preset";
import { DATA_PRESETS, prepareMlmData } from "../lib/data";
import { glueAverage } from "../lib/metrics";
import { archId, flops, largestArch, makeSpace, paramCount } from "../lib/nas/space";
import { budgetParams, type ParamCounting } from "../lib/nas/budgets";
import { latencyTable } from "../lib/nas/latency";
import { groundTruthFor, requireGroundTruthTable } from "../lib/experiments/ground-truth-run";
import { commitSearchResult } from "../lib/experiments/search";
import {
  budgetOf, chooseTeacher, compressionBudgets, commitCompressionUnit, commitLatencyUnit, compressionContext, compressionLabel, compressionPlan, compressionStudents,
  compressionUnit, COMPRESSION_PRESETS, handStudents, latencyUnit, searchedStudent, studentGlueUnit, type StudentGlueUnit,
} from "../lib/experiments/compression";

/** --scheme's choices: every preset's search schemes, and 'hand'. */
export const COMPRESS_SCHEMES = [...new Set(Object.values(COMPRESSION_PRESETS).flatMap((c) => c.schemes)), "hand"];

const checkRunsFolder = () => checkWritableFolder("MAGIC_RUNS_DIR", runsPath());

export interface CompressOptions {
  scheme: string;
  /** Budget, counted as `counting`. */
  maxParams: number;
  counting: ParamCounting;
  preset: Preset;
  /** Fine-tuning seed. */
  seed: number;
  out: string;
}

/** `compress`: one student under --max-params, KD pre-trained and fine-tuned on every task of the preset, as JSON. */
export async function compressCommand(o: CompressOptions): Promise<void> {
  const c = COMPRESSION_PRESETS[o.preset];
  if (o.scheme !== "hand" && !c.schemes.includes(o.scheme)) throw new UserError(`--scheme ${o.scheme}: the ${o.preset} preset searches with ${c.schemes.join(", ")}; or use 'hand'`);
  // The tokenizer's configured size: the space of the data prepared below, known before preparing it.
  const space = makeSpace(o.preset, DATA_PRESETS[o.preset].tokenizer.vocabSize!);
  // A preset budget keeps its fraction (and so the students and units of compress-all); any other is checked here.
  const budget = compressionBudgets(c, space).find((b) => b.maxParams === o.maxParams && b.counting === o.counting) ?? budgetOf(space, o.maxParams, o.counting);
  const hand = o.scheme === "hand" ? handStudents(c, space).find((s) => s.budget.maxParams === o.maxParams && s.budget.counting === o.counting) : undefined;
  if (o.scheme === "hand" && !hand) {
    throw new UserError(`--scheme hand: the ${o.preset} hand-designed students are at --max-params ${handStudents(c, space).map((s) => s.budget.maxParams).join(", ")} ` +
      `(--counting ${c.counting}); use one of these or a search scheme`);
  }
  checkWritableFile("--out", o.out);
  checkRunsFolder();
  const teacher = chooseTeacher(c);
  if (!hand) requireGroundTruthTable(o.preset);
  await initBackend();
  const data = prepareMlmData(o.preset);
  const ctx = compressionContext(c, data, teacher);
  const student = hand ?? (await searchedStudent(c, o.scheme, budget, data, await groundTruthFor(o.preset, data))).student;
  const units: StudentGlueUnit[] = [];
  for (const task of c.tasks) {
    const spec = { kind: "finetune" as const, student, kd: true, task, seed: o.seed };
    units.push(await studentGlueUnit(ctx, spec, { progress: compressionLabel(spec) }));
  }
  const [largest, own] = latencyTable(ctx.space, [largestArch(ctx.space), student.arch], c.latency.args);
  const result = {
    budget: { maxParams: budget.maxParams, counting: budget.counting, fraction: budget.fraction },
    student: {
      name: student.name, scheme: o.scheme, arch: student.arch, archId: archId(ctx.space, student.arch),
      params: budgetParams(ctx.space, student.arch, budget.counting), totalParams: paramCount(ctx.space, student.arch), flops: flops(ctx.space, student.arch),
      latencyMs: own.medianMs, largestChildLatencyMs: largest.medianMs, latency: { batchSize: own.batchSize, seqLen: own.seqLen, backend: own.backend },
      pretrain: units[0].pretrain,
    },
    teacher: {
      name: teacher.model.name, arch: teacher.model.arch, archId: archId(ctx.space, teacher.model.arch), params: budgetParams(ctx.space, teacher.model.arch, budget.counting),
      glueAverage: teacher.glueAverage, kd: c.kd, fineTuningSeed: c.teacherSeed,
    },
    seed: o.seed,
    glue: Object.fromEntries(units.map((u) => [u.task, u.metrics])),
    glueAverage: glueAverage(units.map((u) => u.score)),
    units: units.map((u) => ({ task: u.task, configHash: u.configHash, source: u.source })),
  };
  writeJsonAtomic(path.resolve(o.out), result, 1);
  console.log(`${student.name} (${result.student.archId}, ${result.student.params} sub-layer parameters <= ${budget.maxParams}, ${own.medianMs.toFixed(2)} ms vs ` +
    `${largest.medianMs.toFixed(2)} ms for the largest child): GLUE average ${result.glueAverage.toFixed(4)} over ${c.tasks.join(", ")}, teacher ${teacher.model.name}; ${o.out}`);
}

/** `compress-all`: this shard's units of the plan, then (shard 0) the latency of every student. */
export async function compressAllCommand(o: { preset: Preset; shard: [number, number]; commit?: boolean }): Promise<void> {
  const [index, count] = o.shard;
  const c = COMPRESSION_PRESETS[o.preset];
  checkRunsFolder();
  requireGroundTruthTable(o.preset);
  const teacher = chooseTeacher(c);
  await initBackend();
  const data = prepareMlmData(o.preset);
  const gt = await groundTruthFor(o.preset, data);
  const ctx = compressionContext(c, data, teacher);
  console.log(`teacher: ${teacher.model.name} (GLUE average ${teacher.glueAverage.toFixed(4)}; candidates ${teacher.candidates.map((x) => `${x.name} ${x.glueAverage.toFixed(4)}`).join(", ")})`);
  const { students, searches } = await compressionStudents(c, data, gt, undefined, o.shard);
  // The searches are the students' definition: committed with the units, so that notebook 07 loads them instead of searching.
  for (const search of searches) {
    if (search.source === "committed") continue;
    console.log(`search ${search.scheme} under ${search.maxParams} parameters: ${o.commit ? `committed ${commitSearchResult(search)}` : `${search.source}; not committed (--commit)`}`);
  }
  const units = compressionPlan(c, students).filter((_, i) => i % count === index);
  for (const [i, spec] of units.entries()) {
    const unit = await compressionUnit(ctx, spec, { progress: compressionLabel(spec) });
    const where = unit.source === "committed" ? "already committed" : o.commit ? `committed ${commitCompressionUnit(unit)}` : `${unit.source}; not committed (--commit)`;
    const what = unit.kind === "pretrain"
      ? `${unit.params} sub-layer parameters, validation MLM loss ${unit.row.valLoss.toFixed(4)}`
      : Object.entries(unit.metrics).map(([k, v]) => `${k} ${v.toFixed(4)}`).join(", ");
    console.log(`[${i + 1}/${units.length}] ${compressionLabel(spec)}: ${what} (${where})`);
  }
  if (index !== 0) return;
  const latency = latencyUnit(c, ctx.space, students);
  const where = latency.source === "committed" ? "already committed" : o.commit ? `committed ${commitLatencyUnit(latency)}` : `${latency.source}; not committed (--commit)`;
  console.log(`latency budget ${latency.maxMs.toFixed(2)} ms (${latency.fraction} x the largest child's ${latency.largest.medianMs.toFixed(2)} ms): ` +
    `${latency.rows.filter((r) => r.withinBudget).length} of ${latency.rows.length} students within (${where})`);
}
