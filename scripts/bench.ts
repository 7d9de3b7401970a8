// Backend benchmark: matmul GFLOP/s and ms per training step of scripts/bench-model.ts (a one-block
// transformer) on each tfjs backend, raw OpenBLAS through the addon, and the same model in PyTorch
// (scripts/bench_torch.py); plus ms per step of the project's default supernet (small preset) per backend
// and of its PyTorch twin (scripts/bench_torch_supernet.py: same space, batch, loss, lazy Adam, clipping).
// Every measurement runs in its own child process (MAGIC_BACKEND set for that child only), so peak RSS
// is per backend and a step that is too slow can be killed. Prints a table, writes reports/bench.json.
//   npm run bench [-- --backends native,wasm --no-torch]
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend";
import { addonAvailable } from "../lib/native/index";
import { loadAddon } from "../lib/native/addon";
import { BENCH_MODEL, BenchModel, BenchModelConfig, benchBatch } from "./bench-model";
import { DATA_PRESETS, prepareMlmData } from "../lib/data";
import { resolveTokenizerSettings } from "../lib/data/tokenizer";
import { makeSpace } from "../lib/nas/space";
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
  python: "/usr/bin/python3",
  report: path.join(__dirname, "..", "reports", "bench.json"),
};

interface MatmulRow { backend: string; n: number; gflops: number }
interface StepRow { backend: string; model: string; loss: string; ms: number | null; note?: string; peakRssMb?: number }
interface Job {
  kind: "matmul" | "step" | "supernet";
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

/** Child side of a step job: prints `ready`, `first <ms>` and the result, one JSON line each. */
function benchStep(job: Job): StepRow {
  const cfg = { ...BENCH_MODEL, loss: job.loss };
  const model = new BenchModel(cfg);
  const batch = benchBatch(cfg);
  let peak = process.memoryUsage().rss;
  const step = () => {
    const t = performance.now();
    model.step(batch);
    peak = Math.max(peak, process.memoryUsage().rss);
    return performance.now() - t;
  };
  console.log(JSON.stringify({ ready: true }));
  const first = step();
  console.log(JSON.stringify({ first }));
  const timed = Math.max(2, Math.min(CONFIG.timedSteps, Math.floor(CONFIG.stepBudgetMs / first)));
  for (let i = 0; i < CONFIG.warmupSteps && first * (i + 1) < CONFIG.stepBudgetMs / 2; i++) step();
  const ms = median(Array.from({ length: timed }, step));
  model.dispose();
  tf.dispose(Object.values(batch));
  return { backend: job.label, model: cfg.id, loss: job.loss, ms, peakRssMb: peak / 2 ** 20 };
}

/**
 * Child side of a supernet job: the project's default supernet (small preset, uniform sampling) through the
 * one training loop; median ms per step after warm-up, evaluation off.
 */
async function benchSupernet(job: Job): Promise<StepRow> {
  const data = prepareMlmData("small");
  const space = makeSpace("small", data.vocabSize);
  const run = supernetRun({
    space,
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
  return { backend: job.label, model: space.id, loss: "tfjs", ms: median(times), peakRssMb: peak / 2 ** 20 };
}

async function child(job: Job): Promise<void> {
  const info = await initBackend({ quiet: true });
  if (info.name !== job.backend) throw new Error(`asked for ${job.backend}, got ${info.name}`);
  if (job.kind === "step") {
    console.log(JSON.stringify({ step: benchStep(job) }));
    return;
  }
  if (job.kind === "supernet") {
    console.log(JSON.stringify({ step: await benchSupernet(job) }));
    return;
  }
  const rows = [...benchMatmul(job.label), ...(job.backend === "native" ? benchRawBlas() : [])];
  console.log(JSON.stringify({ matmul: rows }));
}

/** Runs a job in a child; a step job is killed when its first step outlasts maxStepMs. */
function runJob(job: Job): Promise<{ matmul?: MatmulRow[]; step?: StepRow; error?: string }> {
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, ["--import", "tsx", __filename, "--child", JSON.stringify(job)], {
      env: { ...process.env, ...job.env, MAGIC_BACKEND: job.backend },
    });
    let out = "";
    let err = "";
    let killedAfterMs: number | null = null;
    let timer: NodeJS.Timeout | undefined;
    proc.stderr.on("data", (d) => (err += d));
    proc.stdout.on("data", (d) => {
      out += d;
      if (job.kind === "step" && !timer && out.includes('{"ready":true}')) {
        timer = setTimeout(() => {
          if (out.includes('{"first"')) return;
          killedAfterMs = CONFIG.maxStepMs;
          proc.kill();
        }, CONFIG.maxStepMs);
      }
    });
    proc.on("close", (code) => {
      clearTimeout(timer);
      if (killedAfterMs !== null) {
        const note = `skipped: first step still running after ${killedAfterMs / 1000} s (killed)`;
        return resolve({ step: { backend: job.label, model: BENCH_MODEL.id, loss: job.loss, ms: null, note } });
      }
      const last = out.trim().split("\n").pop() ?? "";
      if (code !== 0 || !last.startsWith("{")) return resolve({ error: `${job.label} ${job.kind} failed: ${err.trim().split("\n").slice(-3).join(" | ")}` });
      resolve(JSON.parse(last));
    });
  });
}

/** A PyTorch measurement (best of torchThreads), or why there is none. */
type TorchResult = { model: string; ms: number; threads: number; peakRssMb: number } | string;

function runTorch(): TorchResult {
  const m = BENCH_MODEL;
  let best: { ms: number; threads: number; maxrss_mb: number } | null = null;
  for (const threads of CONFIG.torchThreads) {
    const args = [threads, m.batch, m.seqLen, m.hidden, m.heads, m.ffnInner, m.vocab, CONFIG.torchSteps].map(String);
    const r = spawnSync(CONFIG.python, [path.join(__dirname, "bench_torch.py"), ...args], { encoding: "utf8" });
    if (r.status !== 0) return `pytorch unavailable: ${(r.stderr || String(r.error)).trim().split("\n").pop()}`;
    const out = JSON.parse(r.stdout.trim().split("\n").pop()!) as { ms: number; threads: number; maxrss_mb: number };
    if (!best || out.ms < best.ms) best = out;
  }
  return { model: m.id, ms: best!.ms, threads: best!.threads, peakRssMb: best!.maxrss_mb };
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
  let best: { ms: number; threads: number; maxrss_mb: number } | null = null;
  for (const threads of CONFIG.torchThreads) {
    const args = [String(threads), String(CONFIG.torchSupernetSteps), JSON.stringify(spec)];
    const r = spawnSync(CONFIG.python, [path.join(__dirname, "bench_torch_supernet.py"), ...args], { encoding: "utf8" });
    if (r.status !== 0) return `pytorch supernet unavailable: ${(r.stderr || String(r.error)).trim().split("\n").pop()}`;
    const out = JSON.parse(r.stdout.trim().split("\n").pop()!) as { ms: number; threads: number; maxrss_mb: number };
    if (!best || out.ms < best.ms) best = out;
  }
  return { model: space.id, ms: best!.ms, threads: best!.threads, peakRssMb: best!.maxrss_mb };
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
    if (backend !== "native") continue;
    // The fused sparse cross-entropy of lib/native/losses (PyTorch's F.cross_entropy is fused too).
    list.push({ ...job, kind: "step", label: "native-fusedCE", loss: "fused" });
    // OpenBLAS starts one thread per core; on a busy 2-core machine one thread can be faster.
    const one = { ...job, label: "native-blas1t", env: { OPENBLAS_NUM_THREADS: "1" } };
    list.push({ ...one, kind: "matmul" }, { ...one, kind: "step", loss: "fused" });
  }
  return list;
}

function printTables(matmul: MatmulRow[], step: StepRow[], torch: TorchResult, torchSupernet: TorchResult): void {
  console.log("\nmatmul [n x n] @ [n x n], GFLOP/s");
  console.log(["backend".padEnd(16), ...CONFIG.matmulSizes.map((n) => String(n).padStart(8))].join(""));
  for (const label of new Set(matmul.map((r) => r.backend))) {
    const cells = CONFIG.matmulSizes.map((n) => matmul.find((r) => r.backend === label && r.n === n)?.gflops.toFixed(1) ?? "-");
    console.log([label.padEnd(16), ...cells.map((c) => c.padStart(8))].join(""));
  }
  console.log(`\ntraining step: median ms, peak RSS MB, loss`);
  const supernetModel = smallSupernetSpace().id;
  for (const s of step) {
    // Supernet rows: the ratio to the PyTorch twin of the same step.
    const ratio = typeof torchSupernet !== "string" && s.model === supernetModel && s.ms !== null ? `  ${(s.ms / torchSupernet.ms).toFixed(2)}x pytorch` : "";
    console.log(`${s.backend.padEnd(16)}${(s.ms?.toFixed(1) ?? "-").padStart(9)}${(s.peakRssMb?.toFixed(0) ?? "-").padStart(8)}  ${s.loss.padEnd(6)}${s.model}  ${s.note ?? ""}${ratio}`);
  }
  if (typeof torchSupernet === "string") console.log(`pytorch supernet: ${torchSupernet}`);
  else {
    const label = `pytorch-${torchSupernet.threads}t`.padEnd(16);
    console.log(`${label}${torchSupernet.ms.toFixed(1).padStart(9)}${torchSupernet.peakRssMb.toFixed(0).padStart(8)}  torch ${torchSupernet.model}, best of ${CONFIG.torchThreads.join("/")} threads`);
  }
  if (typeof torch === "string") console.log(`pytorch: ${torch}`);
  else {
    const label = `pytorch-${torch.threads}t`.padEnd(16);
    console.log(`${label}${torch.ms.toFixed(1).padStart(9)}${torch.peakRssMb.toFixed(0).padStart(8)}  fused ${torch.model}, best of ${CONFIG.torchThreads.join("/")} threads`);
  }
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv[0] === "--child") return child(JSON.parse(argv[1]) as Job);
  const backends = argv.includes("--backends") ? argv[argv.indexOf("--backends") + 1].split(",") : ["cpu", "wasm", "native"];
  const matmul: MatmulRow[] = [];
  const step: StepRow[] = [];
  for (const job of jobs(backends)) {
    console.log(`running ${job.label} ${job.kind} ...`);
    const r = await runJob(job);
    if (r.error) console.log(r.error);
    matmul.push(...(r.matmul ?? []));
    if (r.step) step.push(r.step);
  }
  const noTorch = argv.includes("--no-torch");
  const torch = noTorch ? "skipped (--no-torch)" : runTorch();
  const torchSupernet = noTorch ? "skipped (--no-torch)" : runTorchSupernet();
  printTables(matmul, step, torch, torchSupernet);
  const loadavg = os.loadavg();
  console.log(`\nload average at the end: ${loadavg.map((x) => x.toFixed(2)).join(" ")} (${os.cpus().length} cores; other processes slow every row)`);
  fs.mkdirSync(path.dirname(CONFIG.report), { recursive: true });
  const pytorch = typeof torch === "string" ? null : torch;
  const pytorchSupernet = typeof torchSupernet === "string" ? null : torchSupernet;
  const report = { matmul, step, pytorch, pytorchSupernet, meta: { date: new Date().toISOString(), loadavg, cores: os.cpus().length } };
  fs.writeFileSync(CONFIG.report, JSON.stringify(report, null, 2) + "\n");
  console.log(`wrote ${path.relative(process.cwd(), CONFIG.report)}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
