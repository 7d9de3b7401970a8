// Shared contracts of the NAS core: search space, architectures, samplers, models the training loop drives.
// Kept dependency-free (types only) so that every module can import it without cycles.
import type * as tf from "@tensorflow/tfjs";

/** One candidate operator of a sub-layer. The space is data: a notebook may define its own list. */
export type OpSpec =
  | { kind: "attention"; name: string; heads: number }
  | { kind: "ffn"; name: string; inner: number }
  | { kind: "sepconv"; name: string; kernel: number }
  | { kind: "identity"; name: string };

/** A NAS-BERT-style space: `layers` post-LN residual sub-layers, each choosing one of `ops`. */
export interface SearchSpace {
  /** Stable identifier, part of checkpoint and result hashes. */
  id: string;
  /** Number of sub-layers L. */
  layers: number;
  /** Hidden size D of every sub-layer's input and output. */
  hidden: number;
  /** Sequence length T of the MLM batches. */
  seqLen: number;
  /** Vocabulary size V (set from the tokenizer). */
  vocabSize: number;
  /** Candidate operators, the same list at every sub-layer. */
  ops: OpSpec[];
}

/** A child architecture: the index into `space.ops` chosen at each sub-layer. JSON-serialisable. */
export type Arch = number[];

/**
 * The seam every space-agnostic consumer reads instead of a space's own fields (samplers, the training loop's
 * probes and interference gradients, MAGIC-A's anchor draws, the zero-cost baselines, the architecture search,
 * the ground-truth draw): how many choices each searchable layer has, and what a child is called and costs.
 * A child is an Arch whose value at layer l is in 0..choices[l]-1: the BERT space has the same K ops at every
 * layer, the CNN space fewer where identity cannot keep the shape (lib/nas/cnn-space.ts). Built from a space
 * definition by `bertArchSpace` (space.ts) and `cnnArchSpace` (cnn-space.ts); never hashed itself (the space
 * definition is, see TrainableModel.space).
 */
export interface ArchSpace {
  /** The space's id. */
  readonly id: string;
  /** Choices per searchable layer: arch[l] is an integer in 0..choices[l]-1. */
  readonly choices: readonly number[];
  /** Throws a clear error (which layer, which value, what is allowed there) unless `arch` is a child. */
  validate(arch: unknown): void;
  /** Stable readable id (op names joined by '-'). */
  archId(arch: Arch): string;
  /** Accepts an archId, or a JSON array of op indices and/or op names; validated. */
  parseArch(text: string): Arch;
  /** Parameters of child `arch` (shared + its ops). */
  paramCount(arch: Arch): number;
  /** Parameters every child has (embeddings and head, or stem and head). */
  readonly sharedParams: number;
  /** Parameters of choice k at layer l (0 for identity). */
  opParams(layer: number, k: number): number;
  /** Forward FLOPs of child `arch` on one input (a sequence, an image). */
  flops(arch: Arch): number;
  /** The op family of choice k at layer l ("attention", "ffn", "sepconv", "mbconv", "identity"): the op-count baselines. */
  opFamily(layer: number, k: number): string;
  /** The name of choice k at layer l (as in archId), for tables and plots. */
  opName(layer: number, k: number): string;
}

/** A seeded source of child architectures for supernet training. */
export interface Sampler {
  readonly name: string;
  /** The child to train at the next step. */
  next(): Arch;
  /** Serialisable state (RNG and internal counters), for checkpoint/resume. */
  state(): unknown;
  restore(state: unknown): void;
}

/** One MLM batch. All tensors are owned by the caller (dispose after use). */
export interface MlmBatch {
  /** [B, T] int32 token ids after masking. */
  inputs: tf.Tensor2D;
  /** [B, T] int32 original ids at selected positions, any value elsewhere. */
  labels: tf.Tensor2D;
  /** [B, T] float32, 1 at the 15 % selected positions, 0 elsewhere. */
  weights: tf.Tensor2D;
}

/**
 * What the one training loop (lib/train) drives, on batches of type B: a weight-sharing supernet or a
 * standalone child on MLM batches (MlmModel), or a child with a task head on GLUE batches
 * (lib/nas/classifier.ts). For a fixed-arch run `arch` must be the model's own architecture.
 */
export interface TrainableModel<B> {
  /** The space definition (JSON): part of the run's config hash. */
  readonly space: object;
  /** What the loop reads of the space (probe children, interference pairs): see ArchSpace. */
  readonly archSpace: ArchSpace;
  /** Every variable, by a stable name (`emb/token`, `l3/ffn256/w1`, ...), for checkpoints. */
  namedVariables(): Map<string, tf.Variable>;
  /** The variables a step of child `arch` updates: shared ones (embeddings, heads) + the chosen ops'. */
  trainableVariables(arch: Arch): tf.Variable[];
  /** The training objective of child `arch` on a batch. */
  loss(arch: Arch, batch: B): tf.Scalar;
  /** Validation loss (and accuracy, for models that classify) of child `arch` with the current weights (no grad). */
  evaluate(arch: Arch, batches: B[]): { loss: number; accuracy?: number };
}

/**
 * The MLM model of the search: a weight-sharing supernet, or a standalone child (for which `arch` must be
 * its own architecture). Implemented by lib/nas/supernet.ts.
 */
export interface MlmModel extends TrainableModel<MlmBatch> {
  readonly space: SearchSpace;
  /**
   * Runs child `arch` on token ids [B, T]. Returns logits [B, T, V] and, with `capture`, the hidden
   * states h_0..h_L ([B, T, D] each; h_l is the input of sub-layer l, h_{l+1} its output).
   * Returned tensors belong to the caller.
   */
  forward(arch: Arch, inputs: tf.Tensor2D, options?: { capture?: boolean }): { logits: tf.Tensor3D; hidden?: tf.Tensor3D[] };
  /** Masked-LM loss of child `arch` on a batch: the weighted mean cross-entropy over selected tokens. */
  loss(arch: Arch, batch: MlmBatch): tf.Scalar;
  /** Validation MLM loss and masked-token accuracy of child `arch` with the current weights (no grad). */
  evaluate(arch: Arch, batches: MlmBatch[]): { loss: number; accuracy: number };
}

/** One forward of a child as knowledge distillation (lib/train/distill.ts) reads it. Tensors belong to the caller. */
export interface KdOutputs {
  /** The task loss of this forward (what `loss(arch, batch)` returns). */
  taskLoss: tf.Scalar;
  /** Logits compared with the teacher's, [N, C]: MLM the selected rows' vocabulary logits, GLUE the class logits (C = 1: a regression score). */
  logits: tf.Tensor2D;
  /** [N] weight of each logit row (MLM: the token weights, 0 on padding rows; GLUE: 1). */
  rowWeights: tf.Tensor1D;
  /** Final hidden state h_L [B, T, D]. */
  hidden: tf.Tensor3D;
  /** [B, T] float32, 1 at real tokens and 0 at padding; omitted: every position is real (packed MLM batches). */
  tokenMask?: tf.Tensor2D;
}

/** A model a teacher can distil into, or a teacher (Supernet on MLM batches, SequenceClassifier on GLUE batches). */
export interface Distillable<B> extends TrainableModel<B> {
  readonly space: SearchSpace;
  /** One forward of child `arch` on `batch`, for the KD losses. */
  kdOutputs(arch: Arch, batch: B): KdOutputs;
  /** Width C of `kdOutputs(...).logits` (vocabulary size, or number of labels). */
  readonly logitWidth: number;
}
