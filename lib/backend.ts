// Backend selection: the fastest tfjs backend that really loads on this machine, chosen once per process.
// Order: tensorflow (tfjs-node-gpu, then tfjs-node) > native (our OpenBLAS addon) > wasm > cpu.
// `tf.setBackend` resolves to false and silently stays on `cpu` when a backend fails, so every choice is
// verified with `tf.getBackend()` and the reasons the better ones did not load are kept and printed once.
import * as tf from "@tensorflow/tfjs";
import * as os from "node:os";
import { envChoice } from "./env";
import { UserError } from "./errors";

export const BACKEND_CHOICES = ["auto", "tensorflow", "native", "wasm", "cpu"] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];

export interface BackendInfo {
  /** The tfjs backend name in use (`tf.getBackend()`). */
  name: string;
  /** What was asked for (`MAGIC_BACKEND`, default `auto`). */
  requested: BackendChoice;
  /** Each better backend that was tried and did not load, with the reason. */
  skipped: { name: string; reason: string }[];
  /** One line for people: which backend runs and why. */
  summary: string;
  /**
   * Where its float32 sums run, for bit-equality across machines: the backend name, plus on `native` its
   * CPU-dependent kernels (`nativePlatform`) and on `tensorflow` the CPU. JS (`cpu`) and wasm arithmetic is the same
   * on every CPU. Results record it; a committed number recomputed on the same platform must come out bit-equal.
   */
  platform: string;
}

/** Reads `MAGIC_BACKEND` (default `auto`); a bad value is a UserError listing the valid ones. */
export function requestedBackend(env: NodeJS.ProcessEnv = process.env): BackendChoice {
  return envChoice("MAGIC_BACKEND", BACKEND_CHOICES, "auto", env);
}

type Loader = () => Promise<void>;

function message(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  return text.split("\n")[0].slice(0, 300);
}

/** Loads a Node package that registers a tfjs backend; the package is optional and may be absent. */
function requireBackendPackage(pkg: string, backend: string): Loader {
  return async () => {
    require(pkg); // registers the backend as a side effect
    if (!tf.findBackendFactory(backend)) throw new Error(`${pkg} loaded but registered no '${backend}' backend`);
  };
}

const LOADERS: Record<Exclude<BackendChoice, "auto">, Loader[]> = {
  tensorflow: [
    requireBackendPackage("@tensorflow/tfjs-node-gpu", "tensorflow"),
    requireBackendPackage("tfjs-node-optional", "tensorflow"),
  ],
  native: [
    async () => {
      const { loadNativeBackend } = await import("./native/index");
      loadNativeBackend();
    },
  ],
  wasm: [
    async () => {
      await import("./wasm-kernels");
    },
  ],
  cpu: [async () => undefined],
};

/**
 * Loads backend `name` if needed and switches tfjs to it. Returns null on success, else why it is unavailable
 * (`tf.setBackend` resolves to false and silently stays on the old backend on failure, hence the check).
 */
export async function switchBackend(name: string): Promise<string | null> {
  const loaders = tf.findBackendFactory(name) ? [async () => undefined] : LOADERS[name as keyof typeof LOADERS];
  if (!loaders) return `backend '${name}' is not known; use one of: ${BACKEND_CHOICES.slice(1).join(", ")}`;
  const reasons: string[] = [];
  for (const load of loaders) {
    try {
      await load();
      const ok = await tf.setBackend(name);
      await tf.ready();
      if (ok && tf.getBackend() === name) return null;
      reasons.push(`tf.setBackend('${name}') failed; tfjs stayed on '${tf.getBackend()}'`);
    } catch (e) {
      reasons.push(message(e));
    }
  }
  return reasons.join("; ");
}

let chosen: BackendInfo | null = null;

/**
 * Selects the backend once per process and returns what was chosen. Later calls return the same answer.
 * With `MAGIC_BACKEND` set to a specific backend, failure to load it is an error, not a silent fallback.
 */
export async function initBackend(options: { quiet?: boolean } = {}): Promise<BackendInfo> {
  if (chosen) return chosen;
  const requested = requestedBackend();
  // Production mode: no debug checks, and no "install tfjs-node" banner from the cpu backend on first use
  // (this library says itself which backend runs and why).
  tf.enableProdMode();
  const order: Exclude<BackendChoice, "auto">[] =
    requested === "auto" ? ["tensorflow", "native", "wasm", "cpu"] : [requested];
  const skipped: { name: string; reason: string }[] = [];
  for (const name of order) {
    const reason = await switchBackend(name);
    if (reason === null) {
      const why = skipped.length ? `; not used: ${skipped.map((s) => `${s.name} (${s.reason})`).join(", ")}` : "";
      const how = requested === "auto" ? "best available" : "MAGIC_BACKEND";
      chosen = { name, requested, skipped, summary: `tfjs backend: ${name} (${how})${why}`, platform: await platformOf(name) };
      if (!options.quiet) console.log(chosen.summary);
      return chosen;
    }
    skipped.push({ name, reason });
  }
  // Only a backend named in MAGIC_BACKEND can fail (auto ends on cpu, which always loads): the user's choice.
  throw new UserError(
    `MAGIC_BACKEND=${requested}: the backend did not load (${skipped.map((s) => s.reason).join("; ")}); ` +
      "unset MAGIC_BACKEND to use the best available one",
  );
}

async function platformOf(name: string): Promise<string> {
  if (name === "native") return `native: ${(await import("./native/index")).nativePlatform()}`;
  if (name === "tensorflow") return `tensorflow on ${os.cpus()[0]?.model ?? "an unknown CPU"}`;
  return name;
}

/** The backend chosen so far, or null before `initBackend`. */
export function backendInfo(): BackendInfo | null {
  return chosen;
}

/** The chosen backend's platform (`BackendInfo.platform`), for the provenance of results; an error before `initBackend`. */
export function backendPlatform(): string {
  if (!chosen) throw new Error("no tfjs backend chosen yet: call initBackend() before naming a result's platform");
  return chosen.platform;
}

/**
 * The chosen backend's name, for run-folder keys and the provenance of results. An error before `initBackend`:
 * a folder keyed "unknown" would let a run resume on another backend's checkpoints.
 */
export function backendName(): string {
  if (!chosen) throw new Error("no tfjs backend chosen yet: call initBackend() before naming a run folder or a result's backend");
  return chosen.name;
}
