// MAGIC-A: align each trained child's per-sub-layer hidden states with those of an anchor child, so that
// shared ops see consistent inputs across children. The anchor is a constant target (no gradient).
import * as tf from "@tensorflow/tfjs";
import type { Arch, ArchSpace, MlmBatch } from "./types";
import type { Supernet } from "./supernet";
import { largestChild, randomChild } from "./arch-space";
import { Rng, seedFrom } from "../rng";

/**
 * Mean over sub-layers l = 1..L of MSE(child h_l, anchor h_l). Takes h_0..h_L as returned by
 * `forward(..., {capture: true})` and skips h_0: the embedding output is identical for both children.
 */
export function alignmentLoss(childHidden: tf.Tensor3D[], anchorHidden: tf.Tensor3D[]): tf.Scalar {
  if (childHidden.length !== anchorHidden.length || childHidden.length < 2) {
    throw new Error(`alignmentLoss: need h_0..h_L of equal length >= 2, got ${childHidden.length} and ${anchorHidden.length}`);
  }
  return stateAlignmentLoss(childHidden.slice(1), anchorHidden.slice(1));
}

/**
 * Mean over i of MSE(child[i], anchor[i]): states of any shapes, compared pairwise (the CNN space's stage outputs
 * have a different shape per stage, so each stage is its own mean before the average over stages).
 */
export function stateAlignmentLoss(child: tf.Tensor[], anchor: tf.Tensor[]): tf.Scalar {
  if (child.length !== anchor.length || child.length < 1) {
    throw new Error(`stateAlignmentLoss: need equally many states (>= 1), got ${child.length} and ${anchor.length}`);
  }
  child.forEach((c, i) => {
    if (!tf.util.arraysEqual(c.shape, anchor[i].shape)) throw new Error(`stateAlignmentLoss: state ${i} has shape [${c.shape}] in the child, [${anchor[i].shape}] in the anchor`);
  });
  return tf.tidy(() => {
    const per = child.map((h, i) => tf.mean(tf.squaredDifference(h, anchor[i]))); // one [] per state
    return tf.div(tf.addN(per), per.length) as tf.Scalar;
  });
}

/** Copies values into fresh tensors with no tape history: tfjs has no stopGradient. */
export function detach<T extends tf.Tensor>(xs: T[]): T[] {
  return xs.map((x) => tf.tensor(x.dataSync() as Float32Array, x.shape) as T);
}

/**
 * MLM loss of child `arch` + lambda * alignmentLoss(child, anchor) on the same batch; the scalar to
 * minimise inside `tf.variableGrads`. The anchor's hidden states are detached, so no gradient flows
 * into the anchor path (its forward is recorded by the tape but is off the path to the loss).
 */
export function alignedLoss(model: Supernet, arch: Arch, anchorArch: Arch, batch: MlmBatch, lambda: number): tf.Scalar {
  return tf.tidy(() => {
    const child = model.hidden(arch, batch.inputs);
    const mlm = model.lossFromHidden(child[child.length - 1], batch);
    if (lambda === 0) return mlm;
    const anchor = detach(model.hidden(anchorArch, batch.inputs));
    return tf.add(mlm, tf.mul(alignmentLoss(child, anchor), lambda)) as tf.Scalar;
  });
}

export type AnchorKind = "best" | "random" | "largest";

/** What the anchor policy reads of a model: its space's children and a validation loss (any space, any batches). */
export interface AnchorModel<B> {
  readonly archSpace: ArchSpace;
  evaluate(arch: Arch, batches: B[]): { loss: number };
}

export interface AnchorPolicyArgs {
  /** 'best': best validation loss in a pool; 'random': one fixed random child; 'largest': most parameters. */
  kind: AnchorKind;
  /** 'best': children evaluated at each refresh, the incumbent anchor included (default 8). */
  poolSize?: number;
  /** 'best': re-select the anchor every this many steps (default 100). */
  refreshEvery?: number;
  /** Seed of the pool / random-child sampling. */
  seed?: number;
}

interface AnchorState {
  rng: number;
  anchor: Arch | null;
  refreshedAt: number | null;
  scores: { arch: Arch; loss: number }[];
}

/**
 * Chooses the anchor child. For 'best' (our reading of MAGIC-A) the pool is re-sampled at each refresh
 * from the seeded rng and always contains the incumbent anchor, so the anchor only changes to a child
 * that is better on the validation batches under the current shared weights.
 */
export class AnchorPolicy {
  readonly kind: AnchorKind;
  readonly poolSize: number;
  readonly refreshEvery: number;
  private readonly rng: Rng;
  private current: Arch | null = null;
  private refreshedAt: number | null = null;
  /** Validation losses of the last evaluated pool ('best' only), best first. */
  lastScores: { arch: Arch; loss: number }[] = [];

  constructor(args: AnchorPolicyArgs) {
    this.kind = args.kind;
    this.poolSize = args.poolSize ?? 8;
    this.refreshEvery = args.refreshEvery ?? 100;
    if (!["best", "random", "largest"].includes(this.kind)) throw new Error(`AnchorPolicy: kind must be best, random or largest, got ${this.kind}`);
    if (!(this.poolSize >= 1 && this.refreshEvery >= 1)) throw new Error("AnchorPolicy: poolSize and refreshEvery must be >= 1");
    this.rng = new Rng(seedFrom(args.seed ?? 0, 0xa4c));
  }

  /** The anchor for training step `step` (the pool is evaluated at most once per `refreshEvery` steps). */
  anchor<B>(step: number, model: AnchorModel<B>, validationBatches: B[]): Arch {
    const space = model.archSpace;
    if (this.current === null && this.kind === "random") this.current = randomChild(space, this.rng);
    if (this.current === null && this.kind === "largest") this.current = largestChild(space);
    if (this.kind === "best" && (this.current === null || this.refreshedAt === null || step - this.refreshedAt >= this.refreshEvery)) {
      const pool = this.current ? [this.current] : [];
      while (pool.length < this.poolSize) pool.push(randomChild(space, this.rng));
      this.lastScores = pool
        .map((arch) => ({ arch, loss: model.evaluate(arch, validationBatches).loss }))
        .sort((a, b) => a.loss - b.loss); // stable: the incumbent wins ties
      this.current = this.lastScores[0].arch;
      this.refreshedAt = step;
    }
    space.validate(this.current);
    return [...this.current!];
  }

  state(): AnchorState {
    return { rng: this.rng.state(), anchor: this.current, refreshedAt: this.refreshedAt, scores: this.lastScores };
  }

  restore(state: unknown): void {
    const s = state as AnchorState;
    this.rng.restore(s.rng);
    this.current = s.anchor ? [...s.anchor] : null;
    this.refreshedAt = s.refreshedAt ?? null;
    this.lastScores = s.scores ?? [];
  }
}
