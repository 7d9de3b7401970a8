// Measures what sizes the CNN small preset (README, "CNN compute estimate"): seconds per training step of a
// standalone child and of the supernet (uniform; MAGIC-AT with its alignment forward), and the seconds to score
// one child (BN recalibration + the scoring batches), through the same kit and training loop the experiments use.
// Both wall-clock (median over steps) and CPU seconds of this process (mean over steps): on a machine shared with
// other jobs the wall clock measures the load, the CPU time what a job costs a core of its own (run it with
// OPENBLAS_NUM_THREADS=1, as the worker pool runs its jobs, so that CPU time is one core's).
// Usage: OPENBLAS_NUM_THREADS=1 nice -n 19 npx tsx scripts/cnn-step-times.ts [preset=small] [steps=200]. One JSON line.
import * as os from "node:os";
import { initBackend } from "../lib/backend";
import { cnnKit } from "../lib/experiments/kit";
import { CNN_GROUND_TRUTH_PRESETS } from "../lib/experiments/ground-truth";
import { parseScheme } from "../lib/experiments/ranking";
import { supernetRun } from "../lib/experiments/supernet-run";
import { randomChild } from "../lib/nas/arch-space";
import { train, type TrainRun } from "../lib/train/loop";
import { PRESETS, type Preset } from "../lib/preset";
import { Rng } from "../lib/rng";
import { IMAGE_DATA_PRESETS, type ImageBatch } from "../lib/data/images";

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const cpuSeconds = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
};

/** Median wall-clock and mean CPU seconds per step of `run` over `steps` steps after 10 warm-up steps. */
async function stepSeconds(run: TrainRun<ImageBatch>, steps: number): Promise<{ wall: number; cpu: number }> {
  const times: number[] = [];
  let cpuStart = 0;
  let last = performance.now();
  await train({
    ...run,
    config: { ...run.config, steps: steps + 10, evalEvery: 0, monitorEvery: 0, checkpointEvery: 0 },
    progress: false,
    onStep: (e) => {
      const now = performance.now();
      if (e.step > 10) times.push((now - last) / 1000);
      if (e.step === 10) cpuStart = cpuSeconds();
      last = now;
    },
  });
  return { wall: median(times), cpu: (cpuSeconds() - cpuStart) / steps };
}

async function main() {
  const preset = (process.argv[2] ?? "small") as Preset;
  if (!PRESETS.includes(preset)) throw new Error(`preset must be one of ${PRESETS.join(", ")}`);
  const steps = Number(process.argv[3] ?? 200);
  const backend = (await initBackend({ quiet: true }))?.name;
  const kit = cnnKit(preset);
  const arch = randomChild(kit.archSpace, new Rng(1));
  const data = { trainBatch: (s: number) => kit.trainBatch(s, 1), validation: [] };
  const child = kit.model(1, arch);
  const childStep = await stepSeconds({ model: child, arch, data, config: { seed: 1, lr: 3e-3 } }, steps);
  const scoring = kit.scoringBatches(CNN_GROUND_TRUTH_PRESETS[preset].evalBatches);
  const t0 = performance.now(), c0 = cpuSeconds();
  for (let i = 0; i < 3; i++) child.evaluate(arch, scoring);
  const scoreSeconds = { wall: (performance.now() - t0) / 3000, cpu: (cpuSeconds() - c0) / 3 };
  child.dispose();
  const uniform = supernetRun({ kit, data, scheme: parseScheme("uniform"), seed: 1, train: { lr: 3e-3 } });
  const supernetStep = await stepSeconds(uniform, steps);
  uniform.model.dispose();
  const anchors = kit.anchorBatches(4, 0);
  const magicAt = supernetRun({ kit, data: { ...data, anchorSelection: anchors }, scheme: parseScheme("magic-at"), seed: 1, train: { lr: 3e-3 } });
  const magicAtStep = await stepSeconds(magicAt, Math.round(steps / 2));
  magicAt.model.dispose();
  kit.disposeBatches([...scoring, ...anchors]);
  console.log(JSON.stringify({
    preset, backend, steps, arch: kit.archSpace.archId(arch), params: kit.archSpace.paramCount(arch), batchSize: IMAGE_DATA_PRESETS[preset].batchSize,
    childStepSeconds: childStep, supernetStepSeconds: supernetStep, magicAtStepSeconds: magicAtStep, scoreChildSeconds: scoreSeconds,
    scoringBatches: CNN_GROUND_TRUTH_PRESETS[preset].evalBatches, loadAverage: os.loadavg(), cpus: os.cpus().length, openblasThreads: process.env.OPENBLAS_NUM_THREADS ?? "default", at: new Date().toISOString(),
  }));
}
main();
