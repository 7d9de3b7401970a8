// The weight-sharing supernet: shared token/position embeddings, embedding LN and MLM head, plus one op
// block per (layer, op). Every child that picks op i at layer l runs the very same tf.Variable objects.
// A standalone child is the same class with only its own blocks instantiated (`only`), so variable names
// and the arch to pass are unchanged, and inherited weights copy over by name.
import * as tf from "@tensorflow/tfjs";
import type { Arch, ArchSpace, Distillable, KdOutputs, MlmBatch, MlmModel, SearchSpace } from "./types";
import { bertArchSpace, checkSpace, validateArch } from "./space";
import { checkModelArch, ownBlock } from "./arch-space";
import { createBlock, dense, denseTransposed, gatherRows, gelu, LayerNorm, OpBlock, paddingMask, ParamFactory, softmaxCrossEntropy } from "./ops";
import { seedFrom } from "../rng";

export interface SupernetArgs {
  /** The search space (vocabSize set). */
  space: SearchSpace;
  /** Weight-init seed; block (l, i) uses `seedFrom(seed, l, i)`, shared weights `seedFrom(seed, -1)`. */
  seed?: number;
  /** Std of the truncated-normal init (default 0.02, as BERT). */
  initStd?: number;
  /** LayerNorm epsilon (default 1e-5, our choice). */
  lnEps?: number;
  /** Instantiate only the blocks this child uses (a standalone child); other archs are then rejected. */
  only?: Arch;
}

/**
 * Extra inputs of a padded batch of sentence (pairs), for a task head (lib/nas/classifier.ts). Without them
 * (the packed MLM batches) the encoder computes exactly what it computed before they existed.
 */
export interface EncodeOptions {
  /** [B*T, D] added to the token + position embeddings before the embedding LayerNorm (segment embeddings). */
  addEmbedding?: tf.Tensor2D;
  /** [B, T] float32: 1 at real tokens, 0 at padding (after each sequence's real tokens). */
  mask?: tf.Tensor2D;
}

/** Weighted mean cross-entropy of selected rows: sum(w * ce) / max(sum(w), 1). */
function maskedLoss({ logits, labels, w }: { logits: tf.Tensor2D; labels: tf.Tensor1D; w: tf.Tensor1D }): tf.Scalar {
  const ce = softmaxCrossEntropy(logits, labels); // [M]
  return tf.div(tf.sum(tf.mul(ce, w)), tf.maximum(tf.sum(w), 1)) as tf.Scalar;
}

/** Selected MLM rows are padded to a multiple of this (see Supernet.selected). */
const SELECTED_ROWS_ROUND = 32;

const DEFAULTS = {
  seed: 0, // weight-init seed
  initStd: 0.02, // BERT's truncated-normal std
  lnEps: 1e-5, // our choice (BERT: 1e-12); float32-safe
};

export class Supernet implements MlmModel, Distillable<MlmBatch> {
  readonly space: SearchSpace;
  readonly archSpace: ArchSpace;
  /** The child this model is restricted to, when built with `only` (see `standalone`). */
  readonly only?: Arch;
  private readonly shared: ParamFactory;
  private readonly tokenEmb: tf.Variable; // [V, D], also the tied output projection
  private readonly posEmb: tf.Variable; // [T, D]
  private readonly embLn: LayerNorm;
  private readonly headW: tf.Variable; // [D, D]
  private readonly headB: tf.Variable; // [D]
  private readonly headLn: LayerNorm;
  private readonly outBias: tf.Variable; // [V]
  /** blocks[l][i]: op i at layer l, or null when not instantiated. */
  private readonly blocks: (OpBlock | null)[][];
  private readonly args: Required<Omit<SupernetArgs, "only">>;

  constructor(args: SupernetArgs) {
    this.args = {
      space: args.space,
      seed: args.seed ?? DEFAULTS.seed,
      initStd: args.initStd ?? DEFAULTS.initStd,
      lnEps: args.lnEps ?? DEFAULTS.lnEps,
    };
    const { space, seed, initStd: std, lnEps } = this.args;
    checkSpace(space);
    if (args.only) {
      validateArch(space, args.only);
      this.only = [...args.only];
    }
    const { vocabSize: v, seqLen: t, hidden: d } = space;
    this.space = space;
    this.archSpace = bertArchSpace(space);
    this.shared = new ParamFactory({ seed: seedFrom(seed, -1), std, lnEps });
    const f = this.shared;
    this.tokenEmb = f.normal("emb/token", [v, d]);
    this.posEmb = f.normal("emb/pos", [t, d]);
    this.embLn = new LayerNorm(f, "emb/ln", d, lnEps);
    this.headW = f.normal("head/dense/w", [d, d]);
    this.headB = f.zeros("head/dense/b", [d]);
    this.headLn = new LayerNorm(f, "head/ln", d, lnEps);
    this.outBias = f.zeros("head/bias", [v]);
    this.blocks = Array.from({ length: space.layers }, (_, l) =>
      space.ops.map((op, i) =>
        !this.only || this.only[l] === i ? createBlock(op, d, { seed: seedFrom(seed, l, i), std, lnEps }) : null,
      ),
    );
  }

  /** `emb/...`, `head/...` and `l<layer>/<op name>/<param>` (e.g. `l3/ffn256/w1`). */
  namedVariables(): Map<string, tf.Variable> {
    const out = new Map(this.shared.params);
    this.blocks.forEach((row, l) =>
      row.forEach((block) => {
        if (block) for (const [name, v] of block.params) out.set(`l${l}/${block.spec.name}/${name}`, v);
      }),
    );
    return out;
  }

  /** Shared variables (embeddings, head), in a stable order. */
  sharedVariables(): tf.Variable[] {
    return [...this.shared.params.values()];
  }

  /** The variables of the op `arch` picks at `layer` (empty for identity): the same objects for every child picking it. */
  opVariables(layer: number, arch: Arch): tf.Variable[] {
    return [...this.block(layer, arch).params.values()];
  }

  trainableVariables(arch: Arch): tf.Variable[] {
    this.check(arch);
    return [...this.sharedVariables(), ...arch.flatMap((_, l) => this.opVariables(l, arch))];
  }

  forward(arch: Arch, inputs: tf.Tensor2D, options: { capture?: boolean } = {}): { logits: tf.Tensor3D; hidden?: tf.Tensor3D[] } {
    this.check(arch);
    return tf.tidy(() => {
      const hidden = this.encode(arch, inputs);
      const [b, t, d] = hidden[hidden.length - 1].shape;
      const rows = tf.reshape(hidden[hidden.length - 1], [b * t, d]) as tf.Tensor2D; // [B*T, D]
      const logits = tf.reshape(this.head(rows), [b, t, this.space.vocabSize]) as tf.Tensor3D; // [B, T, V]
      return options.capture ? { logits, hidden } : { logits };
    });
  }

  /** Hidden states h_0..h_L [B, T, D] of child `arch`, without the MLM head. Returned tensors are the caller's. */
  hidden(arch: Arch, inputs: tf.Tensor2D, options: EncodeOptions = {}): tf.Tensor3D[] {
    this.check(arch);
    return tf.tidy(() => this.encode(arch, inputs, options));
  }

  /** The hidden states h_0..h_L of child `arch` on a batch's tokens (lib/interference.ts LayeredModel). */
  layerStates(arch: Arch, batch: MlmBatch): tf.Tensor3D[] {
    return this.hidden(arch, batch.inputs);
  }

  loss(arch: Arch, batch: MlmBatch): tf.Scalar {
    this.check(arch);
    return tf.tidy(() => this.lossFromHidden(this.encode(arch, batch.inputs).at(-1)!, batch));
  }

  /**
   * MLM loss of child `arch` continued from the hidden state h_layer [B, T, D] (blocks layer..L-1, then the
   * head): differentiate it w.r.t. `h` for the gradient that reaches sub-layer `layer` from above.
   */
  lossFromLayer(arch: Arch, layer: number, h: tf.Tensor3D, batch: MlmBatch): tf.Scalar {
    this.check(arch);
    if (!Number.isInteger(layer) || layer < 0 || layer > arch.length) throw new Error(`lossFromLayer: layer must be in [0, ${arch.length}], got ${layer}`);
    return tf.tidy(() => this.lossFromHidden(arch.slice(layer).reduce((x, _, i) => this.block(layer + i, arch).apply(x), h), batch));
  }

  /**
   * MLM loss from the last hidden state h_L [B, T, D]: sum(w * ce) / max(sum(w), 1). The head runs only
   * on rows with w != 0 (read from `batch.weights`), ~7x cheaper than scoring every position.
   */
  lossFromHidden(last: tf.Tensor3D, batch: MlmBatch): tf.Scalar {
    return tf.tidy(() => maskedLoss(this.selected(last, batch)));
  }

  /**
   * One forward of child `arch` as knowledge distillation reads it (lib/train/distill.ts): the MLM loss,
   * the head's logits at the selected rows [M, V] with their weights (padding rows weigh 0; the rows depend
   * only on `batch.weights`, so a teacher's rows on the same batch are the same tokens) and h_L [B, T, D].
   */
  kdOutputs(arch: Arch, batch: MlmBatch): KdOutputs {
    this.check(arch);
    return tf.tidy(() => {
      const hidden = this.encode(arch, batch.inputs).at(-1)!;
      const selected = this.selected(hidden, batch);
      return { taskLoss: maskedLoss(selected), logits: selected.logits, rowWeights: selected.w, hidden };
    });
  }

  /** Width of the logits `kdOutputs` returns: the vocabulary size. */
  get logitWidth(): number {
    return this.space.vocabSize;
  }

  /** Token-weighted loss and masked-token accuracy over all batches (no gradient recorded). */
  evaluate(arch: Arch, batches: MlmBatch[]): { loss: number; accuracy: number } {
    this.check(arch);
    let ceSum = 0;
    let hitSum = 0;
    let wSum = 0;
    for (const batch of batches) {
      const [ce, hit, w] = tf.tidy(() => {
        const sel = this.selected(this.encode(arch, batch.inputs).at(-1)!, batch);
        const ceRows = softmaxCrossEntropy(sel.logits, sel.labels); // [M]
        const hits = tf.cast(tf.equal(tf.argMax(sel.logits, 1), sel.labels), "float32"); // [M]
        return [tf.sum(tf.mul(ceRows, sel.w)), tf.sum(tf.mul(hits, sel.w)), tf.sum(sel.w)];
      });
      ceSum += ce.dataSync()[0];
      hitSum += hit.dataSync()[0];
      wSum += w.dataSync()[0];
      tf.dispose([ce, hit, w]);
    }
    return { loss: ceSum / Math.max(wSum, 1), accuracy: hitSum / Math.max(wSum, 1) };
  }

  /**
   * A model for child `arch` alone (pass it the same `arch`, also `child.only`), with the same variable
   * names: `inherit` clones this supernet's current weights (same logits as the child in the supernet;
   * training it leaves the supernet untouched); otherwise a fresh init from `seed` (default: this
   * supernet's seed, i.e. the weights this supernet started from).
   */
  standalone(arch: Arch, options: { inherit: boolean; seed?: number }): Supernet {
    this.check(arch);
    const { initStd, lnEps } = this.args;
    const child = new Supernet({ space: this.space, seed: options.seed ?? this.args.seed, initStd, lnEps, only: arch });
    if (options.inherit) {
      const mine = this.namedVariables();
      for (const [name, v] of child.namedVariables()) v.assign(mine.get(name)!);
    }
    return child;
  }

  /** Frees every variable. */
  dispose(): void {
    for (const v of this.namedVariables().values()) v.dispose();
  }

  private block(layer: number, arch: Arch): OpBlock {
    return ownBlock(this.archSpace, this.only, arch, layer, this.blocks[layer]?.[arch[layer]]);
  }

  private check(arch: Arch): void {
    checkModelArch(this.archSpace, this.only, arch);
  }

  /** h_0 = LN(token + position embedding [+ options.addEmbedding]), h_{l+1} = block_l(h_l). Call inside tf.tidy. */
  private encode(arch: Arch, inputs: tf.Tensor2D, options: EncodeOptions = {}): tf.Tensor3D[] {
    const [b, t] = inputs.shape;
    const d = this.space.hidden;
    if (t > this.space.seqLen) throw new Error(`inputs have ${t} positions, space ${this.space.id} allows ${this.space.seqLen}`);
    const tok = tf.reshape(gatherRows(this.tokenEmb as tf.Tensor2D, tf.reshape(inputs, [b * t])), [b, t, d]); // [B, T, D]
    const pos = t === this.space.seqLen ? this.posEmb : tf.slice(this.posEmb, [0, 0], [t, d]); // [T, D]
    const summed = tf.reshape(tf.add(tok, pos), [b * t, d]) as tf.Tensor2D; // broadcast over B (no tf.tile: slow grad)
    const x = options.addEmbedding ? (tf.add(summed, options.addEmbedding) as tf.Tensor2D) : summed; // [B*T, D]
    const mask = options.mask ? paddingMask(options.mask) : undefined;
    const hidden = [tf.reshape(this.embLn.apply(x), [b, t, d]) as tf.Tensor3D];
    arch.forEach((_, l) => hidden.push(this.block(l, arch).apply(hidden[l], mask)));
    return hidden;
  }

  /** MLM head: dense + GELU + LN, then the tied output projection: rows [N, D] -> logits [N, V]. */
  private head(rows: tf.Tensor2D): tf.Tensor2D {
    const x = this.headLn.apply(gelu(dense(rows, this.headW, this.headB))); // [N, D]
    return denseTransposed(x, this.tokenEmb, this.outBias); // [N, V]
  }

  /**
   * Logits, labels and weights of the rows with w != 0, padded with zero-weight copies of row 0 to a multiple
   * of SELECTED_ROWS_ROUND (at least one row, keeping the graph connected): the row count then repeats across
   * batches, so the native backend's buffer pool reuses the MB-sized [M, V] logit and gradient buffers instead
   * of allocating them every step. A zero-weight row changes neither the loss nor any gradient.
   */
  private selected(last: tf.Tensor3D, batch: MlmBatch): { logits: tf.Tensor2D; labels: tf.Tensor1D; w: tf.Tensor1D } {
    const [b, t, d] = last.shape;
    const weights = batch.weights.dataSync();
    const idx: number[] = [];
    for (let i = 0; i < weights.length; i++) if (weights[i] !== 0) idx.push(i);
    const m = Math.max(1, Math.ceil(idx.length / SELECTED_ROWS_ROUND) * SELECTED_ROWS_ROUND);
    const wRows = Float32Array.from({ length: m }, (_, j) => (j < idx.length ? weights[idx[j]] : 0)); // [M]
    while (idx.length < m) idx.push(0);
    const at = tf.tensor1d(idx, "int32"); // [M]
    const rows = gatherRows(tf.reshape(last, [b * t, d]), at); // [M, D]
    const labels = tf.gather(tf.reshape(tf.cast(batch.labels, "int32"), [b * t]), at) as tf.Tensor1D; // [M]
    const w = tf.tensor1d(wRows); // [M]
    return { logits: this.head(rows), labels, w };
  }
}
