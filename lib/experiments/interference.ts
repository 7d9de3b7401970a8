// Experiment 01: interference between children (the paper's Section 3), our reconstruction.
// 1. Train a supernet with uniform (SPOS) sampling; stop at a few checkpoints (early, middle, end).
// 2. At each checkpoint, for every shared layer l and k = 1..L-1, measure P pairs of children that share
//    the op at l and differ in exactly k other layers (lib/interference.ts).
// 3. Live monitor: the same budget with other samplers (magic-t, fairnas), logging every M steps the cosine
//    between the gradients the current and the previous child send to their shared ops.
// Every stage is resumable: training checkpoints and per-checkpoint analyses are files under `runDir`.
import * as path from "node:path";
import { backendInfo } from "../backend";
import { codeDigest } from "../code-digest";
import { type Preset } from "../preset";
import { runsPath } from "../paths";
import { readJsonIfExists, writeJsonAtomic } from "../json-file";
import { Rng, seedFrom } from "../rng";
import { prepareMlmData, type MlmData } from "../data";
import { makeSpace } from "../nas/space";
import { Supernet } from "../nas/supernet";
import type { SamplerName } from "../nas/samplers";
import { supernetRun } from "./supernet-run";
import { runConfigHash, train, type HistoryEntry } from "../train/loop";
import type { TrainConfig } from "../train/config";
import type { MlmBatch } from "../nas/types";
import { progress } from "../progress";
import { measurePair, samplePairs, summarizePairs, type InterferenceSummary, type PairResult } from "../interference";

export interface InterferenceConfig {
  preset: Preset;
  /** Seed of the supernet init, data order, sampler and pair sampling. */
  seed: number;
  /** Supernet training steps (the preset's budget). */
  steps: number;
  /** Steps at which the pairs are measured (each ≤ steps). */
  analyseAt: number[];
  /** P: pairs per (shared layer, k) cell. */
  pairsPerCell: number;
  /** Validation batches the pairs cycle through (pair i uses batch i mod n; A and B share it). */
  analysisBatches: number;
  /** Samplers of the live-monitor comparison; `uniform` is the analysed run itself. */
  monitorSamplers: SamplerName[];
  /** M: log the live interference every M steps. */
  monitorEvery: number;
  /** Bootstrap resamples for every CI. */
  resamples: number;
  /** Overrides of the training config (lr, warmup, ...). */
  train: Partial<TrainConfig>;
  /** Where checkpoints and cached analyses go. */
  runDir: string;
}

/** Per-preset defaults (our choices): tiny runs in seconds for CI, small in minutes on 2 cores. */
export const INTERFERENCE_PRESETS: Record<Preset, Omit<InterferenceConfig, "runDir" | "seed">> = {
  tiny: { preset: "tiny", steps: 40, analyseAt: [10, 40], pairsPerCell: 2, analysisBatches: 2, monitorSamplers: ["uniform", "magic-t"], monitorEvery: 2, resamples: 200, train: { evalEvery: 20, lr: 1e-3 } },
  small: { preset: "small", steps: 1200, analyseAt: [100, 600, 1200], pairsPerCell: 4, analysisBatches: 8, monitorSamplers: ["uniform", "fairnas", "magic-t"], monitorEvery: 10, resamples: 1000, train: { evalEvery: 200, lr: 1e-3 } },
  paper: { preset: "paper", steps: 100000, analyseAt: [10000, 50000, 100000], pairsPerCell: 8, analysisBatches: 6, monitorSamplers: ["uniform", "fairnas", "magic-t"], monitorEvery: 100, resamples: 1000, train: { evalEvery: 5000 } },
};

export function interferenceConfig(preset: Preset, overrides: Partial<InterferenceConfig> = {}): InterferenceConfig {
  const config: InterferenceConfig = { ...INTERFERENCE_PRESETS[preset], seed: 0, runDir: runsPath("interference"), ...overrides };
  const bad = config.analyseAt.filter((s) => !Number.isInteger(s) || s < 1 || s > config.steps);
  if (bad.length) throw new Error(`interference: analyseAt steps must be integers in [1, ${config.steps}], got ${bad.join(", ")}`);
  return config;
}

export interface CheckpointAnalysis extends InterferenceSummary {
  step: number;
  /** Validation loss of the supernet's probe children at this step, if evaluated. */
  valLoss?: number;
  pairs: PairResult[];
}

export interface MonitorCurve {
  sampler: SamplerName;
  points: { step: number; cosine: number }[];
  /** Mean cosine over the second half of training (the curve settles after warmup). */
  lateMean: number;
}

export interface InterferenceReport {
  config: InterferenceConfig;
  space: string;
  checkpoints: CheckpointAnalysis[];
  monitor: MonitorCurve[];
}

/**
 * Trains (or resumes) the `sampler` supernet up to `stopAfter` steps; returns the model at that step and its
 * folder, keyed by the training loop's own hash (config, sampler, initial weights, data), so a changed config
 * or code never meets an old checkpoint.
 */
async function trainTo(config: InterferenceConfig, data: MlmData, sampler: SamplerName, stopAfter: number) {
  const run = supernetRun({
    space: makeSpace(config.preset, data.vocabSize),
    data: { trainBatch: (s) => data.trainBatch(s, config.seed), validation: validationOf(data) },
    scheme: { sampler },
    seed: config.seed,
    train: { ...config.train, steps: config.steps, monitorEvery: config.monitorEvery },
    hashExtra: data.settings,
  });
  const model = run.model;
  const dir = path.join(config.runDir, `${config.preset}-seed${config.seed}`, `${sampler}-${runConfigHash(run)}-${codeDigest()}-${backendInfo()?.name ?? "unknown"}`);
  const result = await train({ ...run, checkpointDir: dir, stopAfter, progress: `${sampler} supernet` });
  return { model, history: result.history, step: result.step, dir };
}

const validationCache = new WeakMap<MlmData, ReturnType<MlmData["validationBatches"]>>();
function validationOf(data: MlmData) {
  let v = validationCache.get(data);
  if (!v) validationCache.set(data, (v = data.validationBatches()));
  return v;
}

/**
 * Measures `pairsPerCell` pairs for every (shared layer, k) cell on `model`, cycling through `batches`;
 * the pair draws are seeded by (seed, step).
 */
export async function measureCells(model: Supernet, batches: MlmBatch[], pairsPerCell: number, seed: number, step: number): Promise<PairResult[]> {
  const { layers } = model.space;
  const rng = new Rng(seedFrom(seed, step, 0x1f));
  const specs = Array.from({ length: layers }, (_, l) => Array.from({ length: layers - 1 }, (_, i) => samplePairs(model.space, l, i + 1, pairsPerCell, rng))).flat(2);
  const bar = progress({ total: specs.length, label: `pairs @ step ${step}` });
  const results: PairResult[] = [];
  for (const [i, spec] of specs.entries()) {
    results.push(measurePair(model, spec, batches[i % batches.length]));
    bar.update(i + 1, { cos: results[i].gradCosine.toFixed(3) });
    await new Promise((r) => setImmediate(r)); // lets a notebook kernel send its output (and see an interrupt)
  }
  bar.stop();
  return results;
}

function monitorCurve(sampler: SamplerName, history: HistoryEntry[]): MonitorCurve {
  const points = history.flatMap((h) => (typeof h.interference === "number" ? [{ step: h.step, cosine: h.interference }] : []));
  const late = points.slice(Math.floor(points.length / 2)).map((p) => p.cosine);
  return { sampler, points, lateMean: late.length ? late.reduce((a, b) => a + b, 0) / late.length : NaN };
}

/** Runs experiment 01 (resumable); `data` may be passed in to share one prepared dataset. */
export async function runInterference(config: InterferenceConfig, data: MlmData = prepareMlmData(config.preset)): Promise<InterferenceReport> {
  const checkpoints: CheckpointAnalysis[] = [];
  let uniformHistory: HistoryEntry[] = [];
  for (const step of [...config.analyseAt].sort((a, b) => a - b)) {
    const { model, history, step: at, dir } = await trainTo(config, data, "uniform", step);
    const file = path.join(dir, `analysis-step${step}-P${config.pairsPerCell}-B${config.analysisBatches}.json`);
    let pairs = readJsonIfExists<PairResult[]>(file);
    uniformHistory = history;
    if (!pairs) {
      if (at !== step) {
        model.dispose();
        throw new Error(`interference: the uniform checkpoint in ${dir} is at step ${at}, past ${step}, whose analysis is missing; delete ${dir} to recompute`);
      }
      pairs = await measureCells(model, validationOf(data).slice(0, config.analysisBatches), config.pairsPerCell, config.seed, step);
      writeJsonAtomic(file, pairs);
    }
    model.dispose();
    const valLoss = [...history].reverse().find((h) => h.step <= step && h.valLoss !== undefined)?.valLoss;
    checkpoints.push({ step, valLoss, ...summarizePairs(pairs, { resamples: config.resamples, seed: config.seed }), pairs });
  }
  const monitor: MonitorCurve[] = [];
  for (const sampler of config.monitorSamplers) {
    let history = uniformHistory;
    if (sampler !== "uniform" || history.length < config.steps) {
      const run = await trainTo(config, data, sampler, config.steps);
      run.model.dispose();
      history = run.history;
    }
    monitor.push(monitorCurve(sampler, history));
  }
  return { config, space: makeSpace(config.preset, data.vocabSize).id, checkpoints, monitor };
}

/** Writes the report (raw per-pair values included) as JSON, atomically. */
export function saveInterferenceReport(report: InterferenceReport, file: string): void {
  writeJsonAtomic(file, report);
}
