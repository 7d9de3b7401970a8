// The experiment CLI (`npm run magic -- <command>`): train a supernet with a sampler (optionally MAGIC-A
// alignment), train or fine-tune one child, evaluate a child from a checkpoint, print a sampler's children,
// run the notebooks' experiments without Jupyter (interference, ground-truth, rank), search the best child of
// a ranking supernet under a parameter budget (search), and fine-tune a child on a GLUE task (glue) or run the
// whole GLUE sweep, pre-training included (glue-all), and compress students under parameter budgets with a
// distilling teacher (compress, compress-all; scripts/compress.ts).
// Runs live under runs/<kind>-<config hash>/ (checkpoint.ckpt + result.json); rerunning the same command
// resumes from the checkpoint and ends with the numbers an uninterrupted run gives.
// Every input is checked before any heavy work (data preparation, training): a bad one is one line and exit 2.
import * as fs from "node:fs";
import * as path from "node:path";
import { Command, Option } from "commander";
import { initBackend } from "../lib/backend";
import { checkEnvironment, checkWritableFile, checkWritableFolder, cliProgram, intOption, numberOption, runCli } from "../lib/cli";
import { UserError } from "../lib/errors";
import { writeJsonAtomic } from "../lib/json-file";
import { runsPath } from "../lib/paths";
import { currentPreset, PRESETS, type Preset } from "../lib/preset";
import { seedFrom } from "../lib/rng";
import { DATA_PRESETS, prepareMlmData } from "../lib/data";
import { makeSpace, parseArch, archId, SPACE_PRESETS } from "../lib/nas/space";
import { Supernet } from "../lib/nas/supernet";
import type { AnchorKind } from "../lib/nas/align";
import type { Arch } from "../lib/nas/types";
import { makeSampler, parseSamplerName, SAMPLER_NAMES } from "../lib/nas/samplers";
import { SEED_SALT, supernetRun } from "../lib/experiments/supernet-run";
import { DEFAULT_TRAIN_CONFIG, TRAIN_PRESETS, type TrainConfig } from "../lib/train/config";
import { CHECKPOINT_FILE, checkpointPath } from "../lib/train/checkpoint";
import { loadWeights, runConfigHash, train, type TrainRun } from "../lib/train/loop";
import { commitInterferenceUnit, interferenceConfig, interferenceUnit, runInterference, saveInterferenceReport, type InterferenceUnit } from "../lib/experiments/interference";
import { keyLine } from "../lib/experiments/interference-views";
import { seedToSeedTau } from "../lib/experiments/ground-truth";
import { groundTruthFor, requireGroundTruthTable, storedTable } from "../lib/experiments/ground-truth-run";
import { commitRankResult, committedRankFile, plannedUnits, rankScheme, rebaseCommittedRankResults, RANK_PRESETS, SCHEMES, type RankResult } from "../lib/experiments/ranking";
import { defaultWorkers, runWithProgress } from "../lib/jobs/batch";
import { supernetRankSpec } from "../lib/jobs/supernet-rank";
import { recomputeRequested } from "../lib/env";
import { checkQueueReachable, queueTarget, type QueueTarget } from "../lib/queue/connection";
import { runOnQueue } from "../lib/queue/producer";
import { QUEUE_SETTINGS } from "../lib/queue/settings";
import { runQueueWorker } from "../lib/queue/worker";
import { GLUE_TASKS, glueFiles, type GlueTask } from "../lib/data/glue";
import { runGlue } from "../lib/experiments/glue";
import { commitSearchResult, defaultMaxParams, SEARCH_METHODS, SEARCH_PRESETS, searchScheme, type SearchMethod } from "../lib/experiments/search";
import { checkBudget } from "../lib/nas/search";
import { commitGlueUnit, glueModels, glueSweepPlan, GLUE_SWEEPS, sweepUnit, unitLabel } from "../lib/experiments/glue-sweep";
import { compressCommand, compressAllCommand, COMPRESS_SCHEMES } from "./compress";

const ALIGN_KINDS: AnchorKind[] = ["best", "random", "largest"];

interface Common {
  preset: Preset;
  seed: number;
  steps?: number;
  lr?: number;
  evalEvery?: number;
  checkpointEvery?: number;
  monitorEvery?: number;
  stopAfter?: number;
  out?: string;
}

// No commander default: the preAction hook below fills it in from MAGIC_PRESET, so that --help works whatever
// the environment says and a bad value is one error line.
const presetOption = () => new Option("--preset <name>", "experiment scale (default: $MAGIC_PRESET, else small)").choices(PRESETS);

/** Options every training command shares. */
function trainingOptions(cmd: Command): Command {
  return cmd
    .addOption(presetOption())
    .option("--seed <n>", "seed of init, data order, masking and sampler", intOption("--seed", 0), 0)
    .option("--steps <n>", "optimizer steps (default: the preset's)", intOption("--steps", 1))
    .option("--lr <x>", "peak learning rate (default: the preset's)", numberOption("--lr", { positive: true }))
    .option("--eval-every <n>", "validation every N steps", intOption("--eval-every", 0))
    .option("--checkpoint-every <n>", "checkpoint every N steps", intOption("--checkpoint-every", 0))
    .option("--monitor-every <n>", "log gradient interference every N steps (0 = off)", intOption("--monitor-every", 0))
    .option("--stop-after <n>", "stop (resumably) after N completed steps", intOption("--stop-after", 1))
    .option("--out <dir>", "run directory (default: runs/<kind>-<config hash>)");
}

/** --arch checked against the preset's op list, which needs no data (unlike the space's vocabulary size). */
function archOption(preset: Preset, raw: string): Arch {
  try {
    return parseArch(SPACE_PRESETS[preset], raw);
  } catch (e) {
    throw new UserError(`--arch: ${(e as Error).message}`); // parseArch only validates its input
  }
}

/** Throws unless `dir` (the value of `flag`) holds a checkpoint. */
function checkCheckpointDir(flag: string, dir: string): void {
  if (!fs.existsSync(checkpointPath(path.resolve(dir)))) {
    throw new UserError(`${flag} ${dir} holds no ${CHECKPOINT_FILE}; give the directory of a training run`);
  }
}

/** --m: magic-t only, at most the preset's number of sub-layers. */
function checkM(o: { m: number; sampler: string; preset: Preset }): void {
  if (o.m !== 1 && o.sampler !== "magic-t") throw new UserError("--m applies to --sampler magic-t only; drop it or use --sampler magic-t");
  const { layers } = SPACE_PRESETS[o.preset];
  if (o.m > layers) throw new UserError(`--m ${o.m}: the ${o.preset} space has ${layers} sub-layers; use --m 1..${layers}`);
}

function trainConfig(o: Common): Partial<TrainConfig> {
  const c: Partial<TrainConfig> = { ...TRAIN_PRESETS[o.preset], seed: o.seed };
  if (o.steps !== undefined) c.steps = o.steps;
  if (o.lr !== undefined) c.lr = o.lr;
  if (o.evalEvery !== undefined) c.evalEvery = o.evalEvery;
  if (o.checkpointEvery !== undefined) c.checkpointEvery = o.checkpointEvery;
  if (o.monitorEvery !== undefined) c.monitorEvery = o.monitorEvery;
  return c;
}

/** Backend, data (with the space's sequence length) and space of a preset. */
async function setup(preset: Preset, seed: number) {
  await initBackend();
  const data = prepareMlmData(preset, { seed, seqLen: SPACE_PRESETS[preset].seqLen });
  console.log(data.summary);
  const space = makeSpace(preset, data.vocabSize);
  const validation = data.validationBatches();
  return { data, space, validation, hashExtra: { preset, data: data.settings, vocabSize: data.vocabSize } };
}

/** Trains `run` in `out` (default runs/<kind>-<hash>) and writes result.json next to the checkpoint. */
async function runAndReport(kind: string, run: TrainRun, o: Common, meta: Record<string, unknown>): Promise<void> {
  const hash = runConfigHash(run);
  const out = path.resolve(o.out ?? runsPath(`${kind}-${hash}`));
  if (fs.existsSync(checkpointPath(out))) console.log(`checkpoint found in ${out}: resuming`);
  const result = await train({ ...run, checkpointDir: out, stopAfter: o.stopAfter, progress: kind });
  const last = result.history.at(-1);
  const lastVal = [...result.history].reverse().find((e) => e.valLoss !== undefined);
  writeJsonAtomic(path.join(out, "result.json"), { kind, ...meta, preset: o.preset, seed: o.seed, ...result }, 1);
  console.log(
    `${kind}: step ${result.step}${result.done ? " (done)" : " (stopped; rerun to resume)"}; ` +
      `train loss ${last?.loss.toFixed(4) ?? "-"}; val loss ${lastVal?.valLoss?.toFixed(4) ?? "-"}; ` +
      `${result.secondsPerStep.toFixed(3)} s/step; ${out}`,
  );
}

/** Throws unless the runs folder (runs/, or $MAGIC_RUNS_DIR) can be written. */
const checkRunsFolder = () => checkWritableFolder("MAGIC_RUNS_DIR", runsPath());

/** Throws unless a training command's run directory (--out, else one under the runs folder) can be written. */
const checkRunFolder = (o: Common) => (o.out ? checkWritableFolder("--out", o.out) : checkRunsFolder());

/** --shard i/n (default 0/1: every unit) as [i, n]; a unit k of a plan is this shard's when k % n === i. */
function parseShard(value = "0/1"): [number, number] {
  const match = /^(\d+)\/(\d+)$/.exec(value);
  if (!match || Number(match[1]) >= Number(match[2])) throw new UserError(`--shard ${value}: use i/n with 0 <= i < n, e.g. 0/2`);
  return [Number(match[1]), Number(match[2])];
}

const shardOption = () => new Option("--shard <i/n>", "run only units i, i+n, i+2n, ... (start one process per core, e.g. --shard 0/2 and --shard 1/2)");

/** --queue [url]: the flag alone reads REDIS_URL (keeps a password out of the command line). */
const queueOption = (what: string) => new Option("--queue [url]", `${what} on the workers of the Redis queue at this URL (redis://HOST:PORT; alone: $REDIS_URL)`);

/** The queue of a --queue value, checked to answer before any work; undefined without --queue. */
async function reachableQueue(value: string | true | undefined): Promise<QueueTarget | undefined> {
  if (value === undefined) return undefined;
  const target = queueTarget(value);
  await checkQueueReachable(target);
  return target;
}

const program = cliProgram("magic")
  .description("MAGIC-lab experiments: supernet training with SPOS / FairNAS / MAGIC-T (+ MAGIC-A), child training")
  .hook("preAction", (_program, command) => {
    checkEnvironment();
    if (command.options.some((o) => o.long === "--preset") && command.getOptionValue("preset") === undefined) {
      command.setOptionValueWithSource("preset", currentPreset(), "env");
    }
  });

trainingOptions(
  program
    .command("train-supernet")
    .description("train a weight-sharing supernet")
    .addOption(new Option("--sampler <name>", "child sampler").choices(SAMPLER_NAMES).makeOptionMandatory())
    .option("--m <n>", "magic-t: sub-layers changed per step", intOption("--m", 1), 1)
    .addOption(new Option("--align <anchor>", "MAGIC-A: align children to this anchor").choices(ALIGN_KINDS))
    .option("--lambda <x>", "MAGIC-A alignment weight", numberOption("--lambda")),
).action(async (o: Common & { sampler: string; m: number; align?: AnchorKind; lambda?: number }) => {
  checkM(o);
  if (o.lambda !== undefined && !o.align) throw new UserError(`--lambda needs --align (one of: ${ALIGN_KINDS.join(", ")})`);
  checkRunFolder(o);
  const { data, space, validation, hashExtra } = await setup(o.preset, o.seed);
  // MAGIC-A picks its anchor on validation batches after the ones `validation` reports on (our choice: 8).
  const anchorSelection = o.align ? data.validationBatches(8, validation.length) : undefined;
  const run = supernetRun({
    space,
    data: { trainBatch: (s) => data.trainBatch(s), validation, anchorSelection },
    scheme: { sampler: parseSamplerName(o.sampler), m: o.m, align: o.align && { kind: o.align, lambda: o.lambda ?? DEFAULT_TRAIN_CONFIG.lambda } },
    seed: o.seed,
    train: trainConfig(o),
    hashExtra,
  });
  const kind = `supernet-${o.sampler}${o.sampler === "magic-t" && o.m !== 1 ? `-m${o.m}` : ""}${o.align ? `-align-${o.align}` : ""}-${o.preset}-s${o.seed}`;
  await runAndReport(kind, run, o, { sampler: o.sampler, m: o.m, align: o.align ?? null, space });
});

trainingOptions(
  program
    .command("train-child")
    .description("train one child from scratch, or fine-tune it from a supernet checkpoint (--from)")
    .requiredOption("--arch <arch>", "child as a JSON array of op indices/names or an arch id (att4-ffn128-...)")
    .option("--from <dir>", "inherit weights from this (supernet) run directory: fine-tuning"),
).action(async (o: Common & { arch: string; from?: string }) => {
  const arch = archOption(o.preset, o.arch);
  if (o.from) checkCheckpointDir("--from", o.from);
  checkRunFolder(o);
  const { data, space, validation, hashExtra } = await setup(o.preset, o.seed);
  const model = new Supernet({ space, seed: o.seed, only: arch });
  const source = o.from ? loadWeights(path.resolve(o.from), model) : null;
  const kind = `child-${archId(space, arch)}${source ? `-ft${source.configHash.slice(0, 6)}` : ""}-${o.preset}-s${o.seed}`;
  const run: TrainRun = {
    model,
    data: { trainBatch: (s) => data.trainBatch(s), validation },
    arch,
    config: trainConfig(o),
    hashExtra: { ...hashExtra, from: source },
  };
  await runAndReport(kind, run, o, { arch, archId: archId(space, arch), from: source, space });
});

program
  .command("eval-child")
  .description("validation MLM loss and accuracy of a child with the weights of a checkpoint")
  .requiredOption("--arch <arch>", "child as a JSON array or an arch id")
  .requiredOption("--checkpoint <dir>", "run directory holding checkpoint.ckpt (supernet or child)")
  .addOption(presetOption())
  .action(async (o: { arch: string; checkpoint: string; preset: Preset }) => {
    const arch = archOption(o.preset, o.arch);
    checkCheckpointDir("--checkpoint", o.checkpoint);
    const { space, validation } = await setup(o.preset, 0);
    const model = new Supernet({ space, only: arch });
    const { step, configHash } = loadWeights(path.resolve(o.checkpoint), model);
    const { loss, accuracy } = model.evaluate(arch, validation);
    console.log(JSON.stringify({ arch, archId: archId(space, arch), loss, accuracy, checkpoint: o.checkpoint, step, configHash }));
  });

program
  .command("sample")
  .description("print the children a sampler trains, one JSON array per line (same seeds as train-supernet)")
  .addOption(new Option("--sampler <name>", "child sampler").choices(SAMPLER_NAMES).makeOptionMandatory())
  .requiredOption("--steps <n>", "number of children", intOption("--steps", 1))
  .option("--seed <n>", "run seed", intOption("--seed", 0), 0)
  .option("--m <n>", "magic-t: sub-layers changed per step", intOption("--m", 1), 1)
  .addOption(presetOption())
  .action((o: { sampler: string; steps: number; seed: number; m: number; preset: Preset }) => {
    checkM(o);
    const { layers, ops } = SPACE_PRESETS[o.preset];
    const sampler = makeSampler(o.sampler, { layers, numOps: ops.length, seed: seedFrom(o.seed, SEED_SALT.sampler), m: o.m });
    const lines: string[] = [];
    for (let i = 0; i < o.steps; i++) lines.push(JSON.stringify(sampler.next()));
    process.stdout.write(`${lines.join("\n")}\n`);
  });

program
  .command("interference")
  .description("experiment 01: gradient interference between children (vs k, vs input/output similarity, per scheme) on the ranking runs' supernets (JSON)")
  .addOption(presetOption())
  .requiredOption("--out <file>", "where to write the JSON report")
  .option("--commit", "measure every (scheme, seed) unit (recomputed, not loaded) and write it to data/interference/<preset>/<scheme>-seed<n>.json")
  .action(async (o: { preset: Preset; out: string; commit?: boolean }) => {
    checkWritableFile("--out", o.out);
    checkRunsFolder();
    requireGroundTruthTable(o.preset);
    await initBackend();
    const data = prepareMlmData(o.preset);
    const gt = await groundTruthFor(o.preset, data);
    const config = interferenceConfig(o.preset);
    const units: InterferenceUnit[] = [];
    for (const seed of config.seeds) for (const scheme of config.schemes) { // seed-major: an interrupted --commit leaves whole seeds
      const unit = await interferenceUnit(config, scheme, seed, data, gt, { useCommitted: !o.commit });
      units.push(unit);
      const where = o.commit ? `committed ${commitInterferenceUnit(unit)}` : unit.source;
      console.log(`${scheme} seed ${seed}: ${unit.pairs.length} pairs, supernet ${unit.supernet.origin}, measured in ${unit.measureSeconds.toFixed(0)} s (${where})`);
    }
    const report = await runInterference(config, data, gt, { units });
    saveInterferenceReport(report, path.resolve(o.out));
    console.log(keyLine(report));
  });

program
  .command("ground-truth")
  .description("train the ground-truth children from scratch (resumable, one worker per core) and write data/ground-truth/<preset>.json")
  .addOption(presetOption())
  .option("--workers <n>", "worker processes (default: one per core)", intOption("--workers", 1))
  .addOption(queueOption("train the missing jobs"))
  .option("--out <file>", "also write the table to this file")
  .action(async (o: { preset: Preset; workers?: number; queue?: string | true; out?: string }) => {
    if (o.workers !== undefined && o.queue !== undefined) throw new UserError("--workers and --queue do not mix: with --queue the workers are `npm run magic -- worker` processes");
    if (o.out) checkWritableFile("--out", o.out);
    checkRunsFolder();
    const queue = await reachableQueue(o.queue);
    await initBackend(); // the build folder is keyed by the backend the workers use (the same MAGIC_BACKEND)
    const data = prepareMlmData(o.preset);
    const table = await groundTruthFor(o.preset, data, { build: true, target: { workers: o.workers, queue } });
    if (o.out) writeJsonAtomic(path.resolve(o.out), storedTable(table), 1);
    const ceiling = seedToSeedTau(table);
    console.log(`data/ground-truth/${o.preset}.json: ${table.rows.length} jobs (config hash ${table.configHash}, ${table.createdAt}); ` +
      `seed-to-seed tau ${ceiling.tau.toFixed(3)} over ${ceiling.children} children. MAGIC_RECOMPUTE=1 rebuilds it (resumable).`);
  });

program
  .command("rank")
  .description("experiments 02-04: train one scheme's supernet and rank the ground-truth children with it (JSON)")
  .addOption(new Option("--scheme <name>", "supernet training scheme").choices(Object.keys(SCHEMES)).makeOptionMandatory())
  .addOption(presetOption())
  .option("--seed <n>", "seed of init, data order, masking, sampler and anchor pool", intOption("--seed", 0), 1)
  .requiredOption("--out <file>", "where to write the JSON result")
  .option("--commit", "also write the result as the committed table data/ranking/<preset>/<scheme>-seed<n>.json (recomputed, not loaded)")
  .action(async (o: { scheme: string; preset: Preset; seed: number; out: string; commit?: boolean }) => {
    checkWritableFile("--out", o.out);
    checkRunsFolder();
    requireGroundTruthTable(o.preset);
    await initBackend();
    const data = prepareMlmData(o.preset);
    const gt = await groundTruthFor(o.preset, data);
    const result = await rankScheme(RANK_PRESETS[o.preset], o.scheme, o.seed, data, gt, { useCommitted: !o.commit });
    writeJsonAtomic(path.resolve(o.out), result, 1);
    if (o.commit) console.log(`committed ${commitRankResult(result)}`);
    console.log(`${o.scheme} seed ${o.seed}: Kendall tau ${result.kendallTau.toFixed(3)}, Spearman ${result.spearman.toFixed(3)}, P@k ${JSON.stringify(result.precisionAtK)}`);
  });

program
  .command("rank-all")
  .description("experiments 02-04: compute every (scheme, seed) the notebooks use and commit it to data/ranking/<preset>/ (resumable: committed units are skipped)")
  .addOption(presetOption())
  .addOption(shardOption())
  .addOption(queueOption("train the uncommitted units"))
  .action(async (o: { preset: Preset; shard?: string; queue?: string | true }) => {
    if (o.shard !== undefined && o.queue !== undefined) throw new UserError("--shard and --queue do not mix: the queue spreads the units over its workers");
    const [index, count] = parseShard(o.shard);
    checkRunsFolder();
    requireGroundTruthTable(o.preset);
    const queue = await reachableQueue(o.queue);
    await initBackend();
    const data = prepareMlmData(o.preset);
    const gt = await groundTruthFor(o.preset, data);
    const config = RANK_PRESETS[o.preset];
    const units = plannedUnits(config).filter((_, i) => i % count === index);
    const report = (i: number, result: RankResult) => {
      const where = result.source === "committed" ? "already committed" : `committed ${commitRankResult(result)}`;
      console.log(`[${i + 1}/${units.length}] ${result.scheme} seed ${result.seed}: tau ${result.kendallTau.toFixed(3)} (${where})`);
    };
    // On the queue: the committed units load here (rankScheme checks they match), the others run on the workers.
    const onQueue = queue ? units.filter((u) => recomputeRequested() || !fs.existsSync(committedRankFile(o.preset, u.scheme, u.seed))) : [];
    for (const [i, { scheme, seed }] of units.entries()) if (!onQueue.includes(units[i])) report(i, await rankScheme(config, scheme, seed, data, gt));
    if (queue) {
      const specs = onQueue.map((u) => supernetRankSpec(config, u.scheme, u.seed, gt));
      await runWithProgress(runOnQueue(queue), specs, `ranking units (${specs.length}, queue ${queue.shown})`, (i, result) => report(units.indexOf(onQueue[i]), result as RankResult));
    }
  });

program
  .command("rank-rebase")
  .description("rescore the committed ranking results (data/ranking/<preset>/) against the current ground-truth table, without training: their supernet scores do not depend on it")
  .addOption(presetOption())
  .action(async (o: { preset: Preset }) => {
    requireGroundTruthTable(o.preset);
    await initBackend();
    const data = prepareMlmData(o.preset);
    const gt = await groundTruthFor(o.preset, data);
    const files = rebaseCommittedRankResults(RANK_PRESETS[o.preset], data, gt);
    console.log(files.length ? `rescored against ground truth ${gt.configHash}:\n${files.join("\n")}` : `every committed result is already scored against ground truth ${gt.configHash}`);
  });

program
  .command("search")
  .description("notebook 05: the best child of a ranking run's supernet under a parameter budget, by supernet-estimated loss (regularized evolution, or random search as its baseline; JSON)")
  .addOption(new Option("--scheme <name>", "the ranking scheme whose trained supernet scores the children").choices(Object.keys(SCHEMES)).makeOptionMandatory())
  .addOption(presetOption())
  .option("--seed <n>", "seed of the ranking run (its supernet) and of the search", intOption("--seed", 0), 1)
  .option("--max-params <n>", "parameter budget (default: the median size of the preset's children, rounded up to 1000)", intOption("--max-params", 1))
  .addOption(new Option("--method <name>", "search method").choices(SEARCH_METHODS).default("evolution"))
  .requiredOption("--out <file>", "where to write the JSON result")
  .option("--commit", "also write the result as the committed table data/search/<preset>/<scheme>-seed<n>-p<budget>[-random].json (recomputed, not loaded)")
  .action(async (o: { scheme: string; preset: Preset; seed: number; maxParams?: number; method: SearchMethod; out: string; commit?: boolean }) => {
    checkWritableFile("--out", o.out);
    // The tokenizer's configured size: the space of the data prepared below, known before preparing it.
    const space = makeSpace(o.preset, DATA_PRESETS[o.preset].tokenizer.vocabSize!);
    const config = SEARCH_PRESETS[o.preset];
    const maxParams = o.maxParams ?? defaultMaxParams(config, space);
    checkBudget(space, maxParams, "--max-params");
    checkRunsFolder();
    requireGroundTruthTable(o.preset);
    await initBackend();
    const data = prepareMlmData(o.preset);
    const gt = await groundTruthFor(o.preset, data);
    const result = await searchScheme(config, o.scheme, o.seed, maxParams, data, gt, { method: o.method, useCommitted: !o.commit });
    writeJsonAtomic(path.resolve(o.out), result, 1);
    if (o.commit) console.log(`committed ${commitSearchResult(result)}`);
    console.log(`${o.scheme} seed ${o.seed} ${o.method}, <= ${maxParams} parameters: best ${result.best.id} (${result.best.params} parameters), ` +
      `estimated loss ${result.best.estimatedLoss.toFixed(4)}; ${result.evaluations} evaluations (${result.uniqueEvaluations} distinct) in ${result.seconds.toFixed(1)} s (${result.source})`);
  });

program
  .command("worker")
  .description("take jobs (ground-truth children, ranking supernets) from a Redis queue and run them until SIGINT/SIGTERM (README, \"Many machines\")")
  .addOption(new Option("--queue [url]", "the Redis queue (redis://HOST:PORT; alone: $REDIS_URL)").makeOptionMandatory())
  .option("--concurrency <n>", "jobs at a time, each in a process of its own (default: one per core)", intOption("--concurrency", 1))
  .option("--stall-seconds <s>", `a job whose worker stops renewing its lock for this long is retried elsewhere (default ${QUEUE_SETTINGS.stallSeconds})`, intOption("--stall-seconds", 1))
  .action(async (o: { queue: string | true; concurrency?: number; stallSeconds?: number }) => {
    checkRunsFolder();
    const queue = (await reachableQueue(o.queue))!;
    const settings = o.stallSeconds === undefined ? {} : { stallSeconds: o.stallSeconds };
    await runQueueWorker(queue, { concurrency: o.concurrency ?? defaultWorkers(), settings });
  });

program
  .command("glue")
  .description("fine-tune one child on one GLUE task (from --from's pre-trained weights, else from scratch) and score the whole dev split (JSON)")
  .addOption(new Option("--task <name>", "GLUE task").choices(GLUE_TASKS).makeOptionMandatory())
  .requiredOption("--arch <arch>", "child as a JSON array of op indices/names or an arch id (att4-ffn128-...)")
  .addOption(presetOption())
  .option("--seed <n>", "seed of the head's init, the data order and (from scratch) the encoder's init", intOption("--seed", 0), 0)
  .option("--from <dir>", "start the encoder from this (MLM) run directory's checkpoint; without it: from scratch")
  .option("--steps <n>", "optimizer steps (default: the preset's epochs over the train split)", intOption("--steps", 1))
  .option("--stop-after <n>", "stop (resumably) after N completed steps", intOption("--stop-after", 1))
  .requiredOption("--out <file>", "where to write the JSON result (task, metrics, dev predictions)")
  .action(async (o: { task: GlueTask; arch: string; preset: Preset; seed: number; from?: string; steps?: number; stopAfter?: number; out: string }) => {
    const arch = archOption(o.preset, o.arch);
    if (o.from) checkCheckpointDir("--from", o.from);
    glueFiles(o.task);
    checkWritableFile("--out", o.out);
    checkRunsFolder();
    await initBackend();
    console.log(o.from ? `fine-tuning from ${o.from}` : "no --from: fine-tuning from scratch (the encoder starts from a random init, not pre-trained)");
    const result = await runGlue({
      task: o.task,
      arch,
      preset: o.preset,
      seed: o.seed,
      from: o.from,
      steps: o.steps,
      stopAfter: o.stopAfter,
      checkpointDir: (hash) => runsPath(`glue-${o.task}-${o.preset}-s${o.seed}-${hash}`),
      progress: `glue ${o.task}`,
    });
    writeJsonAtomic(path.resolve(o.out), result, 1);
    const metrics = Object.entries(result.metrics).map(([k, v]) => `${k} ${v.toFixed(4)}`).join(", ");
    console.log(`${o.task} (${result.archId}, ${result.from ? "pre-trained" : "from scratch"}): step ${result.steps}${result.done ? "" : " (stopped; rerun to resume)"}; ` +
      `dev ${metrics}; ${result.secondsPerStep.toFixed(3)} s/step; ${result.seconds.toFixed(1)} s; ${o.out}`);
  });

program
  .command("glue-all")
  .description("issue 12: pre-train every model of the GLUE sweep (GLUE_SWEEPS' baselines and the child each SEARCH_PRESETS scheme's supernet finds " +
    "under their budget), fine-tune it on every task with every seed, and fine-tune the first ground-truth children " +
    "(resumable; committed units are loaded, not recomputed; missing searches run first)")
  .addOption(presetOption())
  .addOption(shardOption())
  .option("--commit", "write every unit computed here or found finished under runs/ to data/glue-results/<preset>/")
  .action(async (o: { preset: Preset; shard?: string; commit?: boolean }) => {
    const [index, count] = parseShard(o.shard);
    checkRunsFolder();
    requireGroundTruthTable(o.preset);
    await initBackend();
    const data = prepareMlmData(o.preset);
    const gt = await groundTruthFor(o.preset, data);
    const config = GLUE_SWEEPS[o.preset];
    const { models } = await glueModels(config, SEARCH_PRESETS[o.preset], data, gt);
    const units = glueSweepPlan(config, models, gt).filter((_, i) => i % count === index);
    for (const [i, spec] of units.entries()) {
      const unit = (await sweepUnit(config, spec, data, gt, { progress: unitLabel(spec) }))!;
      const where = unit.source === "committed" ? "already committed" : o.commit ? `committed ${commitGlueUnit(unit)}` : `${unit.source}; not committed (--commit)`;
      const what = unit.kind === "pretrain"
        ? `${unit.params} parameters, validation MLM loss ${unit.row.valLoss.toFixed(4)} (${unit.origin})`
        : `${Object.entries(unit.metrics).map(([k, v]) => `${k} ${v.toFixed(4)}`).join(", ")}; encoder from ${unit.pretrain.origin}`;
      console.log(`[${i + 1}/${units.length}] ${unitLabel(spec)}: ${what} (${where})`);
    }
  });

program
  .command("compress")
  .description("issue 14: a student under a parameter budget (searched by a scheme's supernet, or hand-designed), pre-trained and fine-tuned " +
    "on the preset's tasks with knowledge distillation from the GLUE sweep's best model; its size, latency and GLUE scores (JSON)")
  .addOption(new Option("--scheme <name>", "how the student is found: a ranking scheme's supernet searches it, or 'hand' (the preset's hand-designed student of that budget)").choices(COMPRESS_SCHEMES).makeOptionMandatory())
  .requiredOption("--max-params <n>", "parameter budget, counted as --counting says", intOption("--max-params", 0))
  .addOption(new Option("--counting <how>", "'sublayers': the sub-layers only (embeddings and MLM head, the same in every child, not counted); 'total': everything (lib/nas/budgets.ts)")
    .choices(["sublayers", "total"]).default("sublayers"))
  .addOption(presetOption())
  .option("--seed <n>", "fine-tuning seed (head init, data order); the search uses the preset's ranking seed", intOption("--seed", 0), 0)
  .requiredOption("--out <file>", "where to write the JSON result")
  .action(compressCommand);

program
  .command("compress-all")
  .description("issue 14: every student of COMPRESSION_PRESETS (per budget the hand-designed one and one per scheme; missing searches run first), " +
    "its KD pre-training and KD fine-tunings, the no-KD control, and the latency of all (resumable; committed units are loaded)")
  .addOption(presetOption())
  .addOption(shardOption())
  .option("--commit", "write every unit computed here or found finished under runs/ to data/compression/<preset>/")
  .action((o: { preset: Preset; shard?: string; commit?: boolean }) => compressAllCommand({ ...o, shard: parseShard(o.shard) }));

runCli(async () => {
  await program.parseAsync(process.argv);
});
