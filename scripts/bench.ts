// Backend benchmark: matmul GFLOP/s and ms per training step of scripts/bench-model.ts (a one-block
// transformer) on each tfjs backend, raw OpenBLAS through the addon, and the same model in PyTorch
// (scripts/bench_torch.py); plus ms per step of the project's default supernet (small preset) per backend
// and of its PyTorch twin (scripts/bench_torch_supernet.py: same space, batch, loss, lazy Adam, clipping); plus
// ms per step of a small MobileNetV2-style CNN (scripts/bench-cnn.ts: convs, depthwise convs, BatchNorm + ReLU6,
// Adam) per backend and of its PyTorch twin (scripts/bench_torch_cnn.py, torch.nn.Conv2d), with the ratios.
// PyTorch comes from Debian: apt-get install python3-torch (the rows say so when it is missing).
// Every measurement runs in its own child process (MAGIC_BACKEND set for that child only), so peak RSS
// is per backend and a step that is too slow can be killed. Prints a table, writes reports/bench.json.
//   npm run bench [-- --backends native,wasm --kinds matmul,step,supernet,cnn --no-torch]
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend";
import { addonAvailable } from "../lib/native/index";
import { loadAddon } from "../lib/native/addon";
import { BENCH_MODEL, BenchModel, BenchModelConfig, benchBatch } from "./bench-model";
import { CNN_BENCH_MODEL, CnnBenchModel, cnnBenchBatch } from "./bench-cnn";
import { DATA_PRESETS, prepareMlmData } from "../lib/data";
import { resolveTokenizerSettings } from "../lib/data/tokenizer";
import { makeSpace } from "../lib/nas/space";
import { bertKit } from "../lib/experiments/kit";
import { supernetRun } from "../lib/experiments/supernet-run";
import { train } from "../lib/train/loop";

const CONFIG = {
  matmulSizes: [256, 512, 1024],
  /** Time budget per matmul size and backend; at least `minReps` timed products after one warm-up. */
  matmulBudgetMs: 1500,
  minReps: 3,
  warmupSteps: 2,
  timedSteps: 10,
  /** A backend whose first step takes longer is killed and reported as skipped (the stock cpu backend). */
  maxStepMs: 20_000,
  /** Fewer timed steps (at least 2) when a step is slow. */
  stepBudgetMs: 15_000,
  /** Timed steps of the small-preset supernet (after `warmupSteps`). */
  supernetSteps: 20,
  torchSteps: 20,
  torchThreads: [1, 2],
  /** Timed steps of the PyTorch supernet twin (after its own 3 warm-up steps). */
  torchSupernetSteps: 20,
  /** CNN step jobs: the stock cpu backend takes tens of seconds per step, so its first step may take this long. */
  cnnMaxStepMs: 180_000,
  /** Timed steps of the PyTorch CNN twin (after its own 3 warm-up steps). */
  torchCnnSteps: 10,
  python: "/usr/bin/python3",
  report: path.join(__dirname, "..", "reports", "bench.json"),
};

interface MatmulRow { backend: string; n: number; gflops: number }
interface StepRow {
  backend: string;
  model: string;
  loss: string;
  ms: number | null;
  note?: string;
  peakRssMb?: number;
  /** A killed job: its first step took longer than this. */
  atLeastMs?: number;
}
interface Job {
  kind: "matmul" | "step" | "supernet" | "cnn";
  backend: string;
  label: string;
  env: NodeJS.ProcessEnv;
  loss: BenchModelConfig["loss"];
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Times `run` until the budget is spent (at least minReps times, after one warm-up); returns median ms. */
function timeMs(run: () => void, budgetMs: number): number {
  run();
  const times: number[] = [];
  const start = performance.now();
  while (times.length < CONFIG.minReps || (performance.now() - start < budgetMs && times.length < 50)) {
    const t = performance.now();
    run();
    times.push(performance.now() - t);
  }
  return median(times);
}

function benchMatmul(backend: string): MatmulRow[] {
  return CONFIG.matmulSizes.map((n) => {
    const a = tf.randomNormal([n, n], 0, 1, "float32", 1);
    const b = tf.randomNormal([n, n], 0, 1, "float32", 2);
    const ms = timeMs(() => {
      const c = tf.matMul(a, b);
      c.dataSync();
      c.dispose();
    }, CONFIG.matmulBudgetMs);
    tf.dispose([a, b]);
    return { backend, n, gflops: (2 * n ** 3) / ms / 1e6 };
  });
}

/** sgemm through the addon on plain arrays: the ceiling for the native backend's matmul. */
function benchRawBlas(): MatmulRow[] {
  const addon = loadAddon();
  return CONFIG.matmulSizes.map((n) => {
    const a = Float32Array.from({ length: n * n }, (_, i) => Math.sin(i));
    const b = Float32Array.from({ length: n * n }, (_, i) => Math.cos(i));
    const c = new Float32Array(n * n);
    const zero = new Int32Array(1);
    const ms = timeMs(() => addon.gemm(a, b, c, zero, zero, n, n, n, false, false, null, false), CONFIG.matmulBudgetMs);
    return { backend: "openblas-raw", n, gflops: (2 * n ** 3) / ms / 1e6 };
  });
}

/**
 * Child side of a step or cnn job: prints `ready`, `first <ms>` (so that the parent can kill a step that is too
 * slow), then times steps of `step` after warm-up; returns the median ms and the peak RSS.
 */
function timeSteps(step: () => void): { ms: number; peakRssMb: number } {
  let peak = process.memoryUsage().rss;
  const timedStep = () => {
    const t = performance.now();
    step();
    peak = Math.max(peak, process.memoryUsage().rss);
    return performance.now() - t;
  };
  console.log(JSON.stringify({ ready: true }));
  const first = timedStep();
  console.log(JSON.stringify({ first }));
  const timed = Math.max(2, Math.min(CONFIG.timedSteps, Math.floor(CONFIG.stepBudgetMs / first)));
  for (let i = 0; i < CONFIG.warmupSteps && first * (i + 1) < CONFIG.stepBudgetMs / 2; i++) timedStep();
  const ms = median(Array.from({ length: timed }, timedStep));
  return { ms, peakRssMb: peak / 2 ** 20 };
}

function benchStep(job: Job): StepRow {
  const cfg = { ...BENCH_MODEL, loss: job.loss };
  const model = new BenchModel(cfg);
  const batch = benchBatch(cfg);
  const timing = timeSteps(() => model.step(batch));
  model.dispose();
  tf.dispose(Object.values(batch));
  return { backend: job.label, model: cfg.id, loss: job.loss, ...timing };
}

/** Child side of a cnn job: CNN_BENCH_MODEL's forward + backward + Adam step (scripts/bench-cnn.ts). */
function benchCnn(job: Job): StepRow {
  const model = new CnnBenchModel(CNN_BENCH_MODEL);
  const batch = cnnBenchBatch(CNN_BENCH_MODEL);
  const timing = timeSteps(() => model.step(batch));
  model.dispose();
  tf.dispose(Object.values(batch));
  return { backend: job.label, model: CNN_BENCH_MODEL.id, loss: "fused", ...timing };
}

/**
 * Child side of a supernet job: the project's default supernet (small preset, uniform sampling) through the
 * one training loop; median ms per step after warm-up, evaluation off.
 */
async function benchSupernet(job: Job): Promise<StepRow> {
  const data = prepareMlmData("small");
  const run = supernetRun({
    kit: bertKit("small", data),
    data: { trainBatch: (s) => data.trainBatch(s), validation: [] },
    scheme: { sampler: "uniform" },
    seed: 0,
    train: { steps: CONFIG.warmupSteps + CONFIG.supernetSteps, evalEvery: 0 },
  });
  let peak = process.memoryUsage().rss;
  const times: number[] = [];
  let last = performance.now();
  await train({
    ...run,
    progress: false,
    onStep: (e) => {
      const now = performance.now();
      if (e.step > CONFIG.warmupSteps) times.push(now - last);
      last = now;
      peak = Math.max(peak, process.memoryUsage().rss);
    },
  });
  run.model.dispose();
  return { backend: job.label, model: run.model.space.id, loss: "tfjs", ms: median(times), peakRssMb: peak / 2 ** 20 };
}

async function child(job: Job): Promise<void> {
  const info = await initBackend({ quiet: true });
  if (info.name !== job.backend) throw new Error(`asked for ${job.backend}, got ${info.name}`);
  if (job.kind === "step" || job.kind === "cnn") {
    console.log(JSON.stringify({ step: job.kind === "cnn" ? benchCnn(job) : benchStep(job) }));
    return;
  }
  if (job.kind === "supernet") {
    console.log(JSON.stringify({ step: await benchSupernet(job) }));
    return;
  }
  const rows = [...benchMatmul(job.label), ...(job.backend === "native" ? benchRawBlas() : [])];
  console.log(JSON.stringify({ matmul: rows }));
}

/** Runs a job in a child; a step (cnn) job is killed when its first step outlasts maxStepMs (cnnMaxStepMs). */
function runJob(job: Job): Promise<{ matmul?: MatmulRow[]; step?: StepRow; error?: string }> {
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, ["--import", "tsx", __filename, "--child", JSON.stringify(job)], {
      env: { ...process.env, ...job.env, MAGIC_BACKEND: job.backend },
    });
    let out = "";
    let err = "";
    let killedAfterMs: number | null = null;
    let timer: NodeJS.Timeout | undefined;
    const timed = job.kind === "step" || job.kind === "cnn";
    const maxStepMs = job.kind === "cnn" ? CONFIG.cnnMaxStepMs : CONFIG.maxStepMs;
    const model = job.kind === "cnn" ? CNN_BENCH_MODEL.id : BENCH_MODEL.id;
    proc.stderr.on("data", (d) => (err += d));
    proc.stdout.on("data", (d) => {
      out += d;
      if (timed && !timer && out.includes('{"ready":true}')) {
        timer = setTimeout(() => {
          if (out.includes('{"first"')) return;
          killedAfterMs = maxStepMs;
          proc.kill();
        }, maxStepMs);
      }
    });
    proc.on("close", (code) => {
      clearTimeout(timer);
      if (killedAfterMs !== null) {
        const note = `skipped: first step still running after ${killedAfterMs / 1000} s (killed)`;
        return resolve({ step: { backend: job.label, model, loss: job.loss, ms: null, note, atLeastMs: killedAfterMs } });
      }
      const last = out.trim().split("\n").pop() ?? "";
      if (code !== 0 || !last.startsWith("{")) return resolve({ error: `${job.label} ${job.kind} failed: ${err.trim().split("\n").slice(-3).join(" | ")}` });
      resolve(JSON.parse(last));
    });
  });
}

/** A PyTorch measurement (best of torchThreads), or why there is none. */
type TorchResult = { model: string; ms: number; threads: number; peakRssMb: number } | string;

const TORCH_HINT = "Debian's PyTorch: apt-get install python3-torch";

/**
 * Runs a PyTorch twin (`script` THREADS ...args, printing {"ms", "threads", "maxrss_mb"} last) once per thread
 * count of torchThreads; the fastest, or why it did not run.
 */
function bestTorch(what: string, model: string, script: string, args: (threads: number) => string[]): TorchResult {
  let best: { ms: number; threads: number; maxrss_mb: number } | null = null;
  for (const threads of CONFIG.torchThreads) {
    const r = spawnSync(CONFIG.python, [path.join(__dirname, script), String(threads), ...args(threads)], { encoding: "utf8" });
    if (r.status !== 0) return `${what} unavailable: ${(r.stderr || String(r.error)).trim().split("\n").pop()} (${TORCH_HINT})`;
    const out = JSON.parse(r.stdout.trim().split("\n").pop()!) as { ms: number; threads: number; maxrss_mb: number };
    if (!best || out.ms < best.ms) best = out;
  }
  return { model, ms: best!.ms, threads: best!.threads, peakRssMb: best!.maxrss_mb };
}

function runTorch(): TorchResult {
  const m = BENCH_MODEL;
  const args = [m.batch, m.seqLen, m.hidden, m.heads, m.ffnInner, m.vocab, CONFIG.torchSteps].map(String);
  return bestTorch("pytorch", m.id, "bench_torch.py", () => args);
}

/** The space of the "supernet" job: makeSpace("small", V) with the vocabulary size DATA_PRESETS.small asks for. */
function smallSupernetSpace() {
  return makeSpace("small", resolveTokenizerSettings(DATA_PRESETS.small.tokenizer).vocabSize);
}

/**
 * The PyTorch twin of the "supernet" job: the same space (makeSpace("small", V) with V and the batch size of
 * DATA_PRESETS.small, as prepareMlmData("small") gives benchSupernet), best of torchThreads.
 */
function runTorchSupernet(): TorchResult {
  const data = DATA_PRESETS.small;
  const space = smallSupernetSpace();
  const spec = {
    layers: space.layers,
    hidden: space.hidden,
    seqLen: space.seqLen,
    vocab: space.vocabSize,
    batch: data.batchSize,
    ops: space.ops,
    maskFrac: data.masking.selectProb,
    seed: 0,
  };
  return bestTorch("pytorch supernet", space.id, "bench_torch_supernet.py", () => [String(CONFIG.torchSupernetSteps), JSON.stringify(spec)]);
}

/** The PyTorch twin of the "cnn" jobs: CNN_BENCH_MODEL built with torch.nn.Conv2d, best of torchThreads. */
function runTorchCnn(): TorchResult {
  return bestTorch("pytorch cnn", CNN_BENCH_MODEL.id, "bench_torch_cnn.py", () => [String(CONFIG.torchCnnSteps), JSON.stringify(CNN_BENCH_MODEL)]);
}

function jobs(backends: string[]): Job[] {
  const list: Job[] = [];
  for (const backend of backends) {
    if (backend === "native" && !addonAvailable()) {
      console.log("native: addon not built (node native/build.js), skipped");
      continue;
    }
    const job = { backend, label: backend, env: {}, loss: "tfjs" as const };
    list.push({ ...job, kind: "matmul" }, { ...job, kind: "step" });
    if (backend !== "cpu") list.push({ ...job, kind: "supernet" }); // cpu: minutes per step
    // tfjs-backend-wasm has no Conv2DBackpropFilter kernel: no CNN training step there.
    if (backend !== "wasm") list.push({ ...job, kind: "cnn", loss: "fused" });
    if (backend !== "native") continue;
    // The fused sparse cross-entropy of lib/native/losses (PyTorch's F.cross_entropy is fused too).
    list.push({ ...job, kind: "step", label: "native-fusedCE", loss: "fused" });
    // OpenBLAS starts one thread per core; on a busy 2-core machine one thread can be faster.
    const one = { ...job, label: "native-blas1t", env: { OPENBLAS_NUM_THREADS: "1" } };
    list.push({ ...one, kind: "matmul" }, { ...one, kind: "step", loss: "fused" }, { ...one, kind: "cnn", loss: "fused" });
  }
  return list;
}

/** PyTorch twins of the step rows: the result, the model id its rows carry, and how its line is labelled. */
interface TorchRows {
  supernet: TorchResult;
  cnn: TorchResult;
  block: TorchResult;
}

function printTorch(what: string, r: TorchResult): void {
  if (typeof r === "string") return console.log(`${what}: ${r}`);
  console.log(`${`pytorch-${r.threads}t`.padEnd(16)}${r.ms.toFixed(1).padStart(9)}${r.peakRssMb.toFixed(0).padStart(8)}  torch ${r.model}, best of ${CONFIG.torchThreads.join("/")} threads`);
}

function printTables(matmul: MatmulRow[], step: StepRow[], torch: TorchRows): void {
  console.log("\nmatmul [n x n] @ [n x n], GFLOP/s");
  console.log(["backend".padEnd(16), ...CONFIG.matmulSizes.map((n) => String(n).padStart(8))].join(""));
  for (const label of new Set(matmul.map((r) => r.backend))) {
    const cells = CONFIG.matmulSizes.map((n) => matmul.find((r) => r.backend === label && r.n === n)?.gflops.toFixed(1) ?? "-");
    console.log([label.padEnd(16), ...cells.map((c) => c.padStart(8))].join(""));
  }
  console.log(`\ntraining step: median ms, peak RSS MB, loss`);
  const supernetModel = smallSupernetSpace().id;
  const nativeCnn = step.find((s) => s.model === CNN_BENCH_MODEL.id && s.backend === "native")?.ms ?? null;
  for (const s of step) {
    // Supernet and CNN rows: the ratio to the PyTorch twin of the same step; CNN rows of other backends: their
    // time over the native backend's (what the native kernels gain).
    const twin = s.model === supernetModel ? torch.supernet : s.model === CNN_BENCH_MODEL.id ? torch.cnn : null;
    let ratio = twin && typeof twin !== "string" && s.ms !== null ? `  ${(s.ms / twin.ms).toFixed(2)}x pytorch` : "";
    if (s.model === CNN_BENCH_MODEL.id && s.backend !== "native" && nativeCnn) {
      if (s.ms !== null) ratio += `, ${(s.ms / nativeCnn).toFixed(1)}x native`;
      else if (s.atLeastMs) ratio += `  > ${(s.atLeastMs / nativeCnn).toFixed(0)}x native`;
    }
    console.log(`${s.backend.padEnd(16)}${(s.ms?.toFixed(1) ?? "-").padStart(9)}${(s.peakRssMb?.toFixed(0) ?? "-").padStart(8)}  ${s.loss.padEnd(6)}${s.model}  ${s.note ?? ""}${ratio}`);
  }
  printTorch("pytorch supernet", torch.supernet);
  printTorch("pytorch cnn", torch.cnn);
  printTorch("pytorch", torch.block);
}

const KINDS: Job["kind"][] = ["matmul", "step", "supernet", "cnn"];

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv[0] === "--child") return child(JSON.parse(argv[1]) as Job);
  const backends = argv.includes("--backends") ? argv[argv.indexOf("--backends") + 1].split(",") : ["cpu", "wasm", "native"];
  const kinds = argv.includes("--kinds") ? argv[argv.indexOf("--kinds") + 1].split(",") : KINDS;
  const unknown = kinds.filter((k) => !KINDS.includes(k as Job["kind"]));
  if (unknown.length) throw new Error(`--kinds: unknown ${unknown.join(", ")}; choose from ${KINDS.join(",")}`);
  const matmul: MatmulRow[] = [];
  const step: StepRow[] = [];
  for (const job of jobs(backends).filter((j) => kinds.includes(j.kind))) {
    console.log(`running ${job.label} ${job.kind} ...`);
    const r = await runJob(job);
    if (r.error) console.log(r.error);
    matmul.push(...(r.matmul ?? []));
    if (r.step) step.push(r.step);
  }
  const torchFor = (kind: string, run: () => TorchResult): TorchResult =>
    argv.includes("--no-torch") ? "skipped (--no-torch)" : !kinds.includes(kind) ? `skipped (--kinds ${kinds.join(",")})` : run();
  const torch: TorchRows = { block: torchFor("step", runTorch), supernet: torchFor("supernet", runTorchSupernet), cnn: torchFor("cnn", runTorchCnn) };
  printTables(matmul, step, torch);
  const loadavg = os.loadavg();
  console.log(`\nload average at the end: ${loadavg.map((x) => x.toFixed(2)).join(" ")} (${os.cpus().length} cores; other processes slow every row)`);
  fs.mkdirSync(path.dirname(CONFIG.report), { recursive: true });
  const orNull = (r: TorchResult) => (typeof r === "string" ? null : r);
  const report = {
    matmul, step, pytorch: orNull(torch.block), pytorchSupernet: orNull(torch.supernet), pytorchCnn: orNull(torch.cnn),
    meta: { date: new Date().toISOString(), loadavg, cores: os.cpus().length },
  };
  fs.writeFileSync(CONFIG.report, JSON.stringify(report, null, 2) + "\n");
  console.log(`wrote ${path.relative(process.cwd(), CONFIG.report)}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
