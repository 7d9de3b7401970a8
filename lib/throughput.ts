// Matmul throughput per tfjs backend, for the environment notebook: how fast this machine is on each
// backend that loads, so later run times can be read against it.
import * as tf from "@tensorflow/tfjs";
import { Preset } from "./preset";
import { switchBackend } from "./backend";

export { switchBackend };

/** Matrix sizes and repetitions per preset: `tiny` finishes in seconds even on the cpu backend. */
export const MATMUL_SETTINGS: Record<Preset, { sizes: number[]; reps: number }> = {
  tiny: { sizes: [64, 128], reps: 3 },
  small: { sizes: [128, 256, 512], reps: 5 },
  paper: { sizes: [128, 256, 512, 1024], reps: 10 },
};

/** Backends worth measuring, best first; `tensorflow` only if initBackend already registered it. */
export const MEASURED_BACKENDS = ["tensorflow", "native", "wasm", "cpu"] as const;

export interface MatmulResult {
  backend: string;
  n: number;
  reps: number;
  /** Median seconds per n x n by n x n product, including the read back. */
  seconds: number;
  gflops: number;
}

/** Times `reps` products of two n x n matrices on `backend` (after one warm-up), then restores the previous backend. */
export async function measureMatmul(backend: string, n: number, reps: number): Promise<MatmulResult> {
  const previous = tf.getBackend();
  const reason = await switchBackend(backend);
  if (reason) throw new Error(`measureMatmul: ${reason}`);
  const a = tf.randomUniform([n, n]);
  const b = tf.randomUniform([n, n]);
  try {
    const once = () => {
      const c = tf.matMul(a, b);
      c.dataSync(); // forces the computation; tfjs is lazy on some backends
      c.dispose();
    };
    once();
    const times: number[] = [];
    for (let i = 0; i < reps; i++) {
      const start = process.hrtime.bigint();
      once();
      times.push(Number(process.hrtime.bigint() - start) / 1e9);
    }
    // The median, not the mean: one product slowed by other processes on a shared machine should not count.
    const seconds = times.sort((x, y) => x - y)[Math.floor(reps / 2)];
    return { backend, n, reps, seconds, gflops: (2 * n ** 3) / seconds / 1e9 };
  } finally {
    a.dispose();
    b.dispose();
    if (previous && previous !== backend) await switchBackend(previous);
  }
}

/** Versions of the runtime and the main packages, read from their package.json files. */
export function packageVersions(): Record<string, string> {
  const version = (pkg: string) => {
    try {
      return (require(`${pkg}/package.json`) as { version: string }).version;
    } catch {
      return "not installed";
    }
  };
  return {
    node: process.version,
    "@tensorflow/tfjs": tf.version.tfjs,
    "@tensorflow/tfjs-backend-wasm": version("@tensorflow/tfjs-backend-wasm"),
    tslab: version("tslab"),
    "plotly.js-dist-min": version("plotly.js-dist-min"),
    "danfojs-node": version("danfojs-node"),
    typescript: version("typescript"),
  };
}
