// The benchmark model: one post-LN transformer block with an MLM head, in plain tfjs ops so that it runs
// on every backend (cpu, wasm, native). scripts/bench_torch.py computes the same function with PyTorch's
// fused layer norm and cross-entropy. MatMuls stay 2-D ([B*T, D] @ [D, E]) except attention's batched
// ones: a broadcast [B, T, D] @ [D, E] breaks tfjs gradients.
import * as tf from "@tensorflow/tfjs";
import { maskedSoftmaxCrossEntropy } from "../lib/native/losses";

export interface BenchModelConfig {
  /** Names the configuration in reports/bench.json. */
  id: string;
  batch: number;
  seqLen: number;
  hidden: number;
  heads: number;
  ffnInner: number;
  vocab: number;
  /** Fraction of positions that carry the MLM loss (BERT's 15 %). */
  maskRate: number;
  learningRate: number;
  /**
   * "tfjs": tf.losses.softmaxCrossEntropy on one-hot labels (what plain tfjs code does); "fused":
   * lib/native/losses (one kernel each way on the native backend, plain tfjs ops elsewhere).
   */
  loss: "tfjs" | "fused";
}

export const BENCH_MODEL: BenchModelConfig = {
  id: "block1-B32-T64-D128-H4-F512-V2000",
  batch: 32,
  seqLen: 64,
  hidden: 128,
  heads: 4,
  ffnInner: 512,
  vocab: 2000,
  maskRate: 0.15,
  learningRate: 1e-3,
  loss: "tfjs",
};

export interface BenchBatch {
  ids: tf.Tensor1D; // [B*T] int32
  labelIds: tf.Tensor1D; // [B*T] int32
  labels: tf.Tensor2D; // [B*T, V] one-hot float32 (for the "tfjs" loss)
  weights: tf.Tensor1D; // [B*T] 1 at loss positions
}

function layerNorm(x: tf.Tensor2D, gamma: tf.Variable, beta: tf.Variable): tf.Tensor2D {
  const { mean, variance } = tf.moments(x, -1, true); // [N, 1] each
  return x.sub(mean).mul(tf.rsqrt(variance.add(1e-5))).mul(gamma).add(beta) as tf.Tensor2D; // [N, D]
}

export class BenchModel {
  readonly vars: Record<string, tf.Variable>;
  readonly optimizer: tf.Optimizer;

  constructor(readonly cfg: BenchModelConfig, seed = 1) {
    const { hidden: D, ffnInner: F, vocab: V, seqLen: T } = cfg;
    let s = seed;
    const w = (shape: number[], fanIn: number) => tf.variable(tf.randomNormal(shape, 0, 1 / Math.sqrt(fanIn), "float32", s++));
    const zeros = (shape: number[]) => tf.variable(tf.zeros(shape));
    const ones = (shape: number[]) => tf.variable(tf.ones(shape));
    this.vars = {
      tok: w([V, D], D), pos: w([T, D], D),
      wqkv: w([D, 3 * D], D), bqkv: zeros([3 * D]), wo: w([D, D], D), bo: zeros([D]),
      ln1g: ones([D]), ln1b: zeros([D]),
      w1: w([D, F], D), b1: zeros([F]), w2: w([F, D], F), b2: zeros([D]),
      ln2g: ones([D]), ln2b: zeros([D]),
      wout: w([D, V], D), bout: zeros([V]),
    };
    this.optimizer = tf.train.adam(cfg.learningRate);
  }

  /** Logits [B*T, V] of token ids [B*T]. */
  forward(ids: tf.Tensor1D): tf.Tensor2D {
    const { batch: B, seqLen: T, hidden: D, heads: H } = this.cfg;
    const v = this.vars;
    const dh = D / H;
    const x = tf.gather(v.tok, ids).reshape([B, T, D]).add(v.pos).reshape([B * T, D]) as tf.Tensor2D; // [BT, D]
    const qkv = tf.matMul(x, v.wqkv).add(v.bqkv); // [BT, 3D]
    const heads = (t: tf.Tensor) => t.reshape([B, T, H, dh]).transpose([0, 2, 1, 3]); // [B, H, T, dh]
    const [q, k, val] = tf.split(qkv, 3, 1).map(heads);
    const probs = tf.softmax(tf.matMul(q, k, false, true).mul(1 / Math.sqrt(dh))); // [B, H, T, T]
    const ctx = tf.matMul(probs, val).transpose([0, 2, 1, 3]).reshape([B * T, D]); // [BT, D]
    const h1 = layerNorm(x.add(tf.matMul(ctx, v.wo).add(v.bo)) as tf.Tensor2D, v.ln1g, v.ln1b); // [BT, D]
    const inner = tf.relu(tf.matMul(h1, v.w1).add(v.b1)); // [BT, F]
    const h2 = layerNorm(h1.add(tf.matMul(inner, v.w2).add(v.b2)) as tf.Tensor2D, v.ln2g, v.ln2b); // [BT, D]
    return tf.matMul(h2, v.wout).add(v.bout) as tf.Tensor2D; // [BT, V]
  }

  loss(batch: BenchBatch): tf.Scalar {
    const logits = this.forward(batch.ids); // [BT, V]
    if (this.cfg.loss === "fused") return maskedSoftmaxCrossEntropy(logits, batch.labelIds, batch.weights);
    return tf.losses.softmaxCrossEntropy(batch.labels, logits, batch.weights) as tf.Scalar;
  }

  /** One Adam step; returns the loss value. */
  step(batch: BenchBatch): number {
    const loss = this.optimizer.minimize(() => this.loss(batch), true, Object.values(this.vars))!;
    const value = loss.dataSync()[0];
    loss.dispose();
    return value;
  }

  dispose(): void {
    for (const v of Object.values(this.vars)) v.dispose();
    this.optimizer.dispose();
  }
}

/** A fixed random MLM batch: ids uniform over the vocab, loss on a `maskRate` fraction of positions. */
export function benchBatch(cfg: BenchModelConfig, seed = 7): BenchBatch {
  return tf.tidy(() => {
    const n = cfg.batch * cfg.seqLen;
    const ids = tf.randomUniform([n], 0, cfg.vocab, "int32", seed) as tf.Tensor1D;
    const labelIds = tf.randomUniform([n], 0, cfg.vocab, "int32", seed + 1) as tf.Tensor1D;
    const weights = tf.randomUniform([n], 0, 1, "float32", seed + 2).less(cfg.maskRate).cast("float32") as tf.Tensor1D;
    return { ids, labelIds, labels: tf.oneHot(labelIds, cfg.vocab).cast("float32") as tf.Tensor2D, weights };
  });
}
