// A child with a GLUE head, for fine-tuning through the one training loop: the child's encoder (a standalone
// Supernet, its MLM head unused) reads [CLS] a [SEP] (b [SEP]) with segment embeddings added to its input
// embeddings and a padding mask in every block; BERT's pooler (dense + tanh on the [CLS] state) and a linear
// layer give class logits, or one score for regression (STS-B).
// The segment embeddings belong to this head, not to the encoder: MLM pre-training packs single text
// streams (no sentence B), so they start at their init when fine-tuning begins (our choice, as RoBERTa,
// which pre-trains without segment embeddings).
import * as tf from "@tensorflow/tfjs";
import type { Arch, ArchSpace, Distillable, KdOutputs, SearchSpace } from "./types";
import type { Supernet } from "./supernet";
import { dense, gatherRows, ParamFactory, softmaxCrossEntropy } from "./ops";
import type { GlueBatch } from "../data/glue-batches";

export interface ClassifierArgs {
  /** The child's encoder: a standalone Supernet of `arch` (fresh, or with pre-trained weights loaded). */
  encoder: Supernet;
  /** Output size: number of classes, or 1 for regression (mean squared error on the score). */
  numLabels: number;
  /** Seed of the head's init. */
  seed: number;
  /** Std of the head's truncated-normal init (default 0.02, as BERT). */
  initStd?: number;
}

/** Prefix of the head's variable names (`task/segment`, `task/pool/w`, ...). */
const PREFIX = "task";

export class SequenceClassifier implements Distillable<GlueBatch> {
  readonly space: SearchSpace;
  readonly archSpace: ArchSpace;
  readonly numLabels: number;
  readonly encoder: Supernet;
  private readonly head: ParamFactory;
  private readonly segmentEmb: tf.Variable; // [2, D]
  private readonly poolW: tf.Variable; // [D, D]
  private readonly poolB: tf.Variable; // [D]
  private readonly outW: tf.Variable; // [D, C]
  private readonly outB: tf.Variable; // [C]

  constructor(args: ClassifierArgs) {
    const { encoder, numLabels } = args;
    if (!encoder.only) throw new Error("SequenceClassifier: the encoder must be a standalone child (Supernet with `only`)");
    if (!Number.isInteger(numLabels) || numLabels < 1) throw new Error(`SequenceClassifier: numLabels must be an integer >= 1, got ${numLabels}`);
    this.encoder = encoder;
    this.space = encoder.space;
    this.archSpace = encoder.archSpace;
    this.numLabels = numLabels;
    const d = encoder.space.hidden;
    this.head = new ParamFactory({ seed: args.seed, std: args.initStd ?? 0.02, lnEps: 1e-5 });
    this.segmentEmb = this.head.normal(`${PREFIX}/segment`, [2, d]);
    this.poolW = this.head.normal(`${PREFIX}/pool/w`, [d, d]);
    this.poolB = this.head.zeros(`${PREFIX}/pool/b`, [d]);
    this.outW = this.head.normal(`${PREFIX}/out/w`, [d, numLabels]);
    this.outB = this.head.zeros(`${PREFIX}/out/b`, [numLabels]);
  }

  get regression(): boolean {
    return this.numLabels === 1;
  }

  /** The encoder's variables and the head's (`task/...`). */
  namedVariables(): Map<string, tf.Variable> {
    return new Map([...this.encoder.namedVariables(), ...this.head.params]);
  }

  /** The encoder's variables except its unused MLM head (`head/...`), and this head's. */
  trainableVariables(arch: Arch): tf.Variable[] {
    const mlmHead = new Set([...this.encoder.namedVariables()].filter(([n]) => n.startsWith("head/")).map(([, v]) => v));
    return [...this.encoder.trainableVariables(arch).filter((v) => !mlmHead.has(v)), ...this.head.params.values()];
  }

  /** Logits [B, C] (C = 1: the predicted score). Returned tensor is the caller's. */
  logits(arch: Arch, batch: GlueBatch): tf.Tensor2D {
    return tf.tidy(() => this.logitsAndHidden(arch, batch).logits);
  }

  /**
   * One forward as knowledge distillation reads it (lib/train/distill.ts): the task loss, the class logits
   * [B, C] (every example weighs 1), the encoder's h_L [B, T, D] and the padding mask.
   */
  kdOutputs(arch: Arch, batch: GlueBatch): KdOutputs {
    return tf.tidy(() => {
      const { logits, hidden } = this.logitsAndHidden(arch, batch);
      const taskLoss = tf.mean(this.lossesOfLogits(logits, batch)) as tf.Scalar;
      return { taskLoss, logits, rowWeights: tf.ones([logits.shape[0]]) as tf.Tensor1D, hidden, tokenMask: tf.clone(batch.mask) };
    });
  }

  /** Width of the logits: numLabels. */
  get logitWidth(): number {
    return this.numLabels;
  }

  private logitsAndHidden(arch: Arch, batch: GlueBatch): { logits: tf.Tensor2D; hidden: tf.Tensor3D } {
    return tf.tidy(() => {
      const [b, t] = batch.inputs.shape;
      const d = this.space.hidden;
      const segments = gatherRows(this.segmentEmb as tf.Tensor2D, tf.reshape(batch.segments, [b * t]) as tf.Tensor1D); // [B*T, D]
      const last = this.encoder.hidden(arch, batch.inputs, { addEmbedding: segments, mask: batch.mask }).at(-1)!; // [B, T, D]
      const cls = tf.reshape(tf.slice(last, [0, 0, 0], [b, 1, d]), [b, d]) as tf.Tensor2D; // [B, D]
      const pooled = tf.tanh(dense(cls, this.poolW, this.poolB)); // [B, D]
      return { logits: dense(pooled, this.outW, this.outB), hidden: last }; // [B, C], [B, T, D]
    });
  }

  /** Per-example loss [B]: softmax cross-entropy, or squared error for regression. */
  private exampleLosses(arch: Arch, batch: GlueBatch): tf.Tensor1D {
    return tf.tidy(() => this.lossesOfLogits(this.logits(arch, batch), batch));
  }

  private lossesOfLogits(logits: tf.Tensor2D, batch: GlueBatch): tf.Tensor1D {
    if (this.regression) return tf.square(tf.sub(tf.reshape(logits, [logits.shape[0]]), batch.labels)) as tf.Tensor1D;
    return softmaxCrossEntropy(logits, batch.labels);
  }

  loss(arch: Arch, batch: GlueBatch): tf.Scalar {
    return tf.tidy(() => tf.mean(this.exampleLosses(arch, batch)) as tf.Scalar);
  }

  /** Example-weighted mean loss over `batches`, and accuracy (classification only). */
  evaluate(arch: Arch, batches: GlueBatch[]): { loss: number; accuracy?: number } {
    let lossSum = 0, hits = 0, count = 0;
    for (const batch of batches) {
      const [losses, predictions] = tf.tidy(() => [this.exampleLosses(arch, batch), this.predictionTensor(arch, batch)]);
      for (const x of losses.dataSync()) lossSum += x;
      const labels = batch.labels.dataSync();
      predictions.dataSync().forEach((p, i) => (hits += p === labels[i] ? 1 : 0));
      count += labels.length;
      tf.dispose([losses, predictions]);
    }
    return this.regression ? { loss: lossSum / count } : { loss: lossSum / count, accuracy: hits / count };
  }

  /** Predictions over `batches` in order: class ids (argmax), or the scores for regression. */
  predict(arch: Arch, batches: GlueBatch[]): number[] {
    const out: number[] = [];
    for (const batch of batches) {
      const p = this.predictionTensor(arch, batch);
      out.push(...p.dataSync());
      p.dispose();
    }
    return out;
  }

  /** Frees the head's and the encoder's variables. */
  dispose(): void {
    for (const v of this.head.params.values()) v.dispose();
    this.encoder.dispose();
  }

  private predictionTensor(arch: Arch, batch: GlueBatch): tf.Tensor1D {
    return tf.tidy(() => {
      const logits = this.logits(arch, batch);
      return (this.regression ? tf.reshape(logits, [logits.shape[0]]) : tf.argMax(logits, 1)) as tf.Tensor1D;
    });
  }
}
