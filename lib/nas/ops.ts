// Candidate operators as post-LN residual blocks, h_out = LayerNorm(h + op(h)), each owning its weights
// (op + LayerNorm) exactly once, so every child that picks the op at that layer shares the whole block.
// Only 2-D matMuls ([N, D] x [D, E]) and batched 3-D matMuls of equal batch: broadcast matMuls break tfjs
// gradients. The depthwise conv is a sum of shifted slices (no conv kernels: wasm lacks their gradients).
// On the native backend, LayerNorm, GELU, the depthwise conv, the attention core and the cross-entropy are
// one fused kernel each way (lib/native/fused.ts, attention.ts, losses.ts; same math, tested against these
// tfjs ops): engine overhead per kernel, not arithmetic, dominates a small-preset step.
import * as tf from "@tensorflow/tfjs";
import type { OpSpec } from "./types";
import { seedFrom } from "../rng";
import { fusedXentAvailable, sparseSoftmaxCrossEntropyRows } from "../native/losses";
import * as fused from "../native/fused";
import { attention, attentionAvailable, MASKED_SCORE } from "../native/attention";

/** How a block's weights are created. */
export interface InitArgs {
  /** Seed of this block; each weight gets `seedFrom(seed, k)` for its index k, so same seed, same weights. */
  seed: number;
  /** Std of the truncated-normal weight init (BERT: 0.02); biases and LN beta 0, LN gamma 1. */
  std: number;
  /** LayerNorm epsilon (our choice 1e-5; BERT uses 1e-12). */
  lnEps: number;
}

/** Creates named variables in order, each from its own derived seed. */
export class ParamFactory {
  readonly params = new Map<string, tf.Variable>();
  private k = 0;

  constructor(private readonly init: InitArgs) {}

  normal(name: string, shape: number[]): tf.Variable {
    const seed = seedFrom(this.init.seed, this.k++);
    return this.add(name, tf.tidy(() => tf.truncatedNormal(shape, 0, this.init.std, "float32", seed)));
  }

  zeros(name: string, shape: number[]): tf.Variable {
    this.k++;
    return this.add(name, tf.zeros(shape));
  }

  ones(name: string, shape: number[]): tf.Variable {
    this.k++;
    return this.add(name, tf.ones(shape));
  }

  private add(name: string, value: tf.Tensor): tf.Variable {
    if (this.params.has(name)) throw new Error(`ParamFactory: duplicate parameter ${name}`);
    // Unnamed tf.variable: tfjs names must be globally unique, and several models coexist in a process.
    const v = tf.variable(value, true);
    value.dispose();
    this.params.set(name, v);
    return v;
  }
}

/** True on tfjs-backend-wasm, whose transposed/batched matMuls and reductions take slow paths (below). */
function onWasm(): boolean {
  return tf.getBackend() === "wasm";
}

/** Column sums of dy [N, E] -> [E]; on wasm as ones [1, N] @ dy, ~10x faster there than tf.sum(dy, 0). */
function colSum(dy: tf.Tensor): tf.Tensor1D {
  if (!onWasm()) return tf.sum(dy, 0);
  const [n, e] = dy.shape;
  return tf.reshape(tf.matMul(tf.ones([1, n]), dy as tf.Tensor2D), [e]);
}

/** a @ op(b) + bias, op(b) = b^T when `transB`: one _FusedMatMul kernel except on wasm. */
function matMulBias(a: tf.Tensor2D, b: tf.Tensor2D, bias: tf.Tensor, transB: boolean): tf.Tensor2D {
  if (onWasm()) return tf.add(tf.matMul(a, transB ? (tf.transpose(b) as tf.Tensor2D) : b), bias);
  return tf.fused.matMul({ a, b, bias, transposeB: transB }) as tf.Tensor2D;
}

/** a^T @ b [K, E] for a [N, K], b [N, E]; on wasm through an explicit transpose (see denseOp). */
function matMulTA(a: tf.Tensor, b: tf.Tensor): tf.Tensor2D {
  return onWasm() ? tf.matMul(tf.transpose(a) as tf.Tensor2D, b as tf.Tensor2D) : tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D, true);
}

/** a @ b^T [N, K] for a [N, E], b [K, E]; on wasm through an explicit transpose. */
function matMulTB(a: tf.Tensor, b: tf.Tensor): tf.Tensor2D {
  return onWasm() ? tf.matMul(a as tf.Tensor2D, tf.transpose(b) as tf.Tensor2D) : tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D, false, true);
}

/**
 * x [N, K] @ w [K, E] + b [E] -> [N, E]. On tfjs-backend-wasm the gradient uses only plain 2-D matMuls of
 * explicit transposes: wasm runs transposed and batched matMuls on a slow path (~5-10x slower than a
 * transpose followed by a plain matMul); elsewhere (native, cpu) the transpose flags cost nothing.
 */
const denseOp = tf.customGrad((x, w, b, save) => {
  (save as tf.GradSaveFunc)([x as tf.Tensor, w as tf.Tensor]);
  return {
    value: matMulBias(x as tf.Tensor2D, w as tf.Tensor2D, b as tf.Tensor, false),
    gradFunc: (dy: tf.Tensor, [xs, ws]: tf.Tensor[]) => [
      matMulTB(dy, ws), // dx [N, K]
      matMulTA(xs, dy), // dw [K, E]
      colSum(dy), // db [E]
    ],
  };
}) as (x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D) => tf.Tensor2D;

/** x [N, K] @ w^T + b [E] -> [N, E] for w [E, K] (the MLM head's tied output projection). */
const denseTransposedOp = tf.customGrad((x, w, b, save) => {
  (save as tf.GradSaveFunc)([x as tf.Tensor, w as tf.Tensor]);
  return {
    value: matMulBias(x as tf.Tensor2D, w as tf.Tensor2D, b as tf.Tensor, true),
    gradFunc: (dy: tf.Tensor, [xs, ws]: tf.Tensor[]) => [
      tf.matMul(dy as tf.Tensor2D, ws as tf.Tensor2D), // dx [N, K]
      matMulTA(dy, xs), // dw [E, K]
      colSum(dy), // db [E]
    ],
  };
}) as (x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D) => tf.Tensor2D;

/** x [N, D] @ w [D, E] + b [E] -> [N, E]. */
export function dense(x: tf.Tensor2D, w: tf.Tensor, b: tf.Tensor): tf.Tensor2D {
  return denseOp(x, w as tf.Tensor2D, b as tf.Tensor1D);
}

/** x [N, D] @ w^T + b [E] -> [N, E] for w [E, D]. */
export function denseTransposed(x: tf.Tensor2D, w: tf.Tensor, b: tf.Tensor): tf.Tensor2D {
  return denseTransposedOp(x, w as tf.Tensor2D, b as tf.Tensor1D);
}

/**
 * Rows of table [R, D] at int32 ids [N] -> [N, D] (embedding lookup, masked-row selection). The gradient is
 * a scatter-add: UnsortedSegmentSum on native and wasm (our kernels), a JS loop on the cpu backend, whose
 * own kernel takes seconds per call.
 */
export const gatherRows = tf.customGrad((table, ids, save) => {
  const [r, d] = (table as tf.Tensor).shape;
  (save as tf.GradSaveFunc)([ids as tf.Tensor]);
  return {
    value: tf.gather(table as tf.Tensor2D, ids as tf.Tensor1D),
    gradFunc: (dy: tf.Tensor, [idx]: tf.Tensor[]) => {
      if (tf.getBackend() !== "cpu") return [tf.unsortedSegmentSum(dy, idx as tf.Tensor1D, r), tf.zerosLike(idx)]; // a fast kernel off cpu
      const rows = idx.dataSync();
      const g = dy.dataSync();
      const out = new Float32Array(r * d);
      for (let i = 0; i < rows.length; i++) {
        const src = i * d;
        const dst = rows[i] * d;
        for (let j = 0; j < d; j++) out[dst + j] += g[src + j];
      }
      return [tf.tensor2d(out, [r, d]), tf.zerosLike(idx)];
    },
  };
}) as (table: tf.Tensor2D, ids: tf.Tensor1D) => tf.Tensor2D;

/**
 * GELU approximated as x * sigmoid(1.702 x) (Hendrycks & Gimpel): our choice, fewer kernels on CPU; one fused
 * kernel each way on the native backend.
 */
export function gelu<T extends tf.Tensor>(x: T): T {
  if (fused.fusedOpsAvailable()) return fused.gelu(x);
  return tf.mul(x, tf.sigmoid(tf.mul(x, 1.702))) as T;
}

/**
 * y = (x - mean) * rsqrt(var + eps) * gamma + beta over the last axis of x [N, D], with the analytic
 * gradient (about half the kernels of tfjs autodiff, which dominate small-matrix steps on CPU):
 * dx = rstd * (g - mean(g) - xhat * mean(g * xhat)) with g = dy * gamma.
 */
function layerNormOp(eps: number) {
  return tf.customGrad((x, gamma, beta, save) => {
    const mean = tf.mean(x as tf.Tensor, -1, true); // [N, 1]
    const xc = tf.sub(x as tf.Tensor, mean); // [N, D]
    const rstd = tf.rsqrt(tf.add(tf.mean(tf.square(xc), -1, true), eps)); // [N, 1]
    const xhat = tf.mul(xc, rstd); // [N, D]
    (save as tf.GradSaveFunc)([xhat, rstd, gamma as tf.Tensor]);
    return {
      value: tf.add(tf.mul(xhat, gamma as tf.Tensor), beta as tf.Tensor),
      gradFunc: (dy: tf.Tensor, [xh, rs, g]: tf.Tensor[]) => {
        const dxhat = tf.mul(dy, g); // [N, D]
        const proj = tf.mean(tf.mul(dxhat, xh), -1, true); // [N, 1]
        const dx = tf.mul(tf.sub(tf.sub(dxhat, tf.mean(dxhat, -1, true)), tf.mul(xh, proj)), rs); // [N, D]
        return [dx, colSum(tf.mul(dy, xh)), colSum(dy)];
      },
    };
  }) as (x: tf.Tensor2D, gamma: tf.Tensor1D, beta: tf.Tensor1D) => tf.Tensor2D;
}

/** LayerNorm over the last axis of x [N, D]. */
export class LayerNorm {
  readonly gamma: tf.Variable;
  readonly beta: tf.Variable;
  private readonly op: (x: tf.Tensor2D, gamma: tf.Tensor1D, beta: tf.Tensor1D) => tf.Tensor2D;

  constructor(f: ParamFactory, prefix: string, dim: number, private readonly eps: number) {
    this.gamma = f.ones(`${prefix}/gamma`, [dim]);
    this.beta = f.zeros(`${prefix}/beta`, [dim]);
    this.op = layerNormOp(eps);
  }

  apply(x: tf.Tensor2D): tf.Tensor2D {
    if (fused.fusedOpsAvailable()) return fused.layerNorm(x, this.gamma as tf.Tensor1D, this.beta as tf.Tensor1D, this.eps);
    return this.op(x, this.gamma as tf.Tensor1D, this.beta as tf.Tensor1D);
  }
}

/** The plain-tfjs cross-entropy of softmaxCrossEntropy (below). */
const softmaxCrossEntropyOp = tf.customGrad((logits, labels, save) => {
  const [m, v] = (logits as tf.Tensor).shape;
  const p = tf.softmax(logits as tf.Tensor2D); // [M, V]
  const at = tf.add(tf.mul(tf.range(0, m, 1, "int32"), tf.scalar(v, "int32")), labels as tf.Tensor); // [M] flat label index
  const picked = tf.gather(tf.reshape(p, [m * v]), at); // [M]
  (save as tf.GradSaveFunc)([p, labels as tf.Tensor]);
  return {
    value: tf.neg(tf.log(tf.maximum(picked, 1e-30))),
    gradFunc: (dy: tf.Tensor, [ps, ls]: tf.Tensor[]) => [
      tf.mul(tf.sub(ps, tf.oneHot(ls as tf.Tensor1D, v)), tf.reshape(dy, [m, 1])), // [M, V]
      tf.zerosLike(ls),
    ],
  };
}) as (logits: tf.Tensor2D, labels: tf.Tensor1D) => tf.Tensor1D;

/**
 * Per-row softmax cross-entropy: logits [M, V], labels [M] int32 -> [M], fused with the gradient
 * softmax - onehot. Uses the Softmax kernel (fast on wasm, unlike Exp) and -log(p[label]) with p clamped
 * at 1e-30, so a row's loss saturates at ~69 (our choice; far above any loss seen in training). On the native
 * backend one fused kernel each way (lib/native/losses.ts: logsumexp - logit, no saturation).
 */
export function softmaxCrossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Tensor1D {
  return fusedXentAvailable() ? sparseSoftmaxCrossEntropyRows(logits, labels) : softmaxCrossEntropyOp(logits, labels);
}

/**
 * Where a padded batch has padding, in the forms the blocks use; built once per forward pass by `paddingMask`.
 * Padding sits after each sequence's real tokens. Absent (the packed MLM batches), every block computes exactly
 * what it computed before masks existed.
 */
export interface PaddingMask {
  /** [B*T, 1] float32: 1 at real tokens, 0 at padding (zeroes the padded rows of a convolution's input). */
  rows: tf.Tensor2D;
  /** [B*T] float32 added to attention scores: 0 at real keys, MASKED_SCORE at padded ones. */
  keyBias: tf.Tensor1D;
}

/** The PaddingMask of mask [B, T] (float32, 1 at real tokens, 0 at padding). Call inside tf.tidy. */
export function paddingMask(mask: tf.Tensor2D): PaddingMask {
  const [b, t] = mask.shape;
  return {
    rows: tf.reshape(mask, [b * t, 1]) as tf.Tensor2D,
    keyBias: tf.reshape(tf.mul(tf.sub(1, mask), MASKED_SCORE), [b * t]) as tf.Tensor1D,
  };
}

/** One candidate op at one layer: its weights (by local name) and its post-LN residual block. */
export abstract class OpBlock {
  readonly params: Map<string, tf.Variable>;
  protected readonly f: ParamFactory;

  constructor(readonly spec: OpSpec, readonly hidden: number, init: InitArgs) {
    this.f = new ParamFactory(init);
    this.params = this.f.params;
  }

  /** h [B, T, D] -> [B, T, D], padding (if any) masked; call inside tf.tidy. */
  abstract apply(h: tf.Tensor3D, mask?: PaddingMask): tf.Tensor3D;

  dispose(): void {
    for (const v of this.params.values()) v.dispose();
  }
}

/** A block h + op(h) followed by its own LayerNorm; subclasses implement op on rows x [B*T, D]. */
abstract class ResidualBlock extends OpBlock {
  private readonly ln: LayerNorm;

  constructor(spec: OpSpec, hidden: number, init: InitArgs) {
    super(spec, hidden, init);
    this.ln = new LayerNorm(this.f, "ln", hidden, init.lnEps);
  }

  protected abstract op(x: tf.Tensor2D, b: number, t: number, mask?: PaddingMask): tf.Tensor2D;

  apply(h: tf.Tensor3D, mask?: PaddingMask): tf.Tensor3D {
    const [b, t, d] = h.shape;
    const x = tf.reshape(h, [b * t, d]) as tf.Tensor2D; // [B*T, D]
    return tf.reshape(this.ln.apply(tf.add(x, this.op(x, b, t, mask))), [b, t, d]) as tf.Tensor3D;
  }
}

/** Multi-head self-attention; with a PaddingMask no query attends to a padded key. */
export class AttentionBlock extends ResidualBlock {
  private readonly proj: [tf.Variable, tf.Variable][]; // Q, K, V, output: [D, D] weight and [D] bias each
  private readonly heads: number;

  constructor(spec: Extract<OpSpec, { kind: "attention" }>, hidden: number, init: InitArgs) {
    super(spec, hidden, init);
    this.heads = spec.heads;
    // Separate projections rather than one fused [D, 3D]: tf.split's kernels cost more than the saved matMuls on wasm.
    this.proj = ["q", "k", "v", "out"].map((n) => [this.f.normal(`${n}/w`, [hidden, hidden]), this.f.zeros(`${n}/b`, [hidden])]);
  }

  protected op(x: tf.Tensor2D, b: number, t: number, mask?: PaddingMask): tf.Tensor2D {
    const d = this.hidden;
    const h = this.heads;
    const dh = d / h;
    const [wo, bo] = this.proj[3];
    if (attentionAvailable()) {
      const [q, k, v] = this.proj.slice(0, 3).map(([w, bias]) => dense(x, w, bias)); // 3 x [B*T, D]
      return dense(attention(q, k, v, b, h, mask?.keyBias), wo, bo); // one native kernel each way, no transposes
    }
    const [q, k, v] = this.proj.slice(0, 3).map(([w, bias]) =>
      tf.reshape(tf.transpose(tf.reshape(dense(x, w, bias), [b, t, h, dh]), [0, 2, 1, 3]), [b * h, t, dh]),
    ) as tf.Tensor3D[]; // 3 x [B*H, T, dh]
    const raw = tf.matMul(tf.mul(q, 1 / Math.sqrt(dh)), k, false, true); // [B*H, T, T]
    const scores = mask ? tf.reshape(tf.add(tf.reshape(raw, [b, h, t, t]), tf.reshape(mask.keyBias, [b, 1, 1, t])), [b * h, t, t]) : raw;
    const ctx = tf.matMul(tf.softmax(scores), v); // [B*H, T, dh]
    const merged = tf.reshape(tf.transpose(tf.reshape(ctx, [b, h, t, dh]), [0, 2, 1, 3]), [b * t, d]) as tf.Tensor2D; // [B*T, D]
    return dense(merged, wo, bo);
  }
}

/** Feed-forward: dense D->I, GELU, dense I->D. */
export class FfnBlock extends ResidualBlock {
  private readonly w1: tf.Variable;
  private readonly b1: tf.Variable;
  private readonly w2: tf.Variable;
  private readonly b2: tf.Variable;

  constructor(spec: Extract<OpSpec, { kind: "ffn" }>, hidden: number, init: InitArgs) {
    super(spec, hidden, init);
    this.w1 = this.f.normal("w1", [hidden, spec.inner]);
    this.b1 = this.f.zeros("b1", [spec.inner]);
    this.w2 = this.f.normal("w2", [spec.inner, hidden]);
    this.b2 = this.f.zeros("b2", [hidden]);
  }

  protected op(x: tf.Tensor2D): tf.Tensor2D {
    return dense(gelu(dense(x, this.w1, this.b1)), this.w2, this.b2); // [B*T, I] -> [B*T, D]
  }
}

/**
 * Separable conv: depthwise 1-D conv over time (same zero padding), pointwise dense, GELU. With a PaddingMask
 * the padded positions' inputs are zeroed first, so a real token next to padding sees the zeros a sequence
 * of its own length would have.
 */
export class SepConvBlock extends ResidualBlock {
  private readonly wd: tf.Variable;
  private readonly bd: tf.Variable;
  private readonly wp: tf.Variable;
  private readonly bp: tf.Variable;
  private readonly kernel: number;

  constructor(spec: Extract<OpSpec, { kind: "sepconv" }>, hidden: number, init: InitArgs) {
    super(spec, hidden, init);
    this.kernel = spec.kernel;
    this.wd = this.f.normal("depthwise/w", [spec.kernel, hidden]); // one k-tap filter per channel
    this.bd = this.f.zeros("depthwise/b", [hidden]);
    this.wp = this.f.normal("pointwise/w", [hidden, hidden]);
    this.bp = this.f.zeros("pointwise/b", [hidden]);
  }

  protected op(input: tf.Tensor2D, b: number, t: number, mask?: PaddingMask): tf.Tensor2D {
    const d = this.hidden;
    const x = mask ? (tf.mul(input, mask.rows) as tf.Tensor2D) : input; // [B*T, D]
    if (fused.fusedOpsAvailable()) {
      const conv = fused.depthwiseConv1d(tf.reshape(x, [b, t, d]), this.wd as tf.Tensor2D, this.bd as tf.Tensor1D); // [B, T, D]
      return gelu(dense(tf.reshape(conv, [b * t, d]) as tf.Tensor2D, this.wp, this.bp));
    }
    const pad = (this.kernel - 1) / 2;
    const xp = tf.pad(tf.reshape(x, [b, t, d]), [[0, 0], [pad, pad], [0, 0]]); // [B, T+k-1, D]
    const taps = tf.unstack(this.wd); // k x [D]
    // out[t] = sum_j x[t + j - pad] * w[j]: tap j reads the padded sequence shifted by j.
    const conv = tf.addN(taps.map((w, j) => tf.mul(tf.slice(xp, [0, j, 0], [b, t, d]), w))); // [B, T, D]
    const y = tf.reshape(tf.add(conv, this.bd), [b * t, d]) as tf.Tensor2D; // [B*T, D]
    return gelu(dense(y, this.wp, this.bp));
  }
}

/** Identity: h_out = h with no LayerNorm and no weights (our choice: a skipped sub-layer is a no-op). */
export class IdentityBlock extends OpBlock {
  apply(h: tf.Tensor3D): tf.Tensor3D {
    return tf.clone(h); // a distinct tensor, so captured hidden states can be disposed independently
  }
}

/** The block for `spec`. */
export function createBlock(spec: OpSpec, hidden: number, init: InitArgs): OpBlock {
  switch (spec.kind) {
    case "attention":
      return new AttentionBlock(spec, hidden, init);
    case "ffn":
      return new FfnBlock(spec, hidden, init);
    case "sepconv":
      return new SepConvBlock(spec, hidden, init);
    case "identity":
      return new IdentityBlock(spec, hidden, init);
  }
}
