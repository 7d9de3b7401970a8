// The training configuration shared by supernet training, standalone child training and fine-tuning, and
// its learning-rate schedule. Defaults are our choices for a small CPU budget unless noted as the paper's.
import type { Preset } from "../preset";

export interface TrainConfig {
  /** Number of optimizer steps. */
  steps: number;
  /** Peak learning rate, reached at the end of warmup. */
  lr: number;
  /** Warmup length as a fraction of `steps` (linear from 0 to `lr`). */
  warmup: number;
  /** Decay after warmup, down to 0 at the last step. */
  decay: "linear" | "cosine";
  /** Adam first-moment decay. */
  beta1: number;
  /** Adam second-moment decay. */
  beta2: number;
  /** Adam epsilon. */
  eps: number;
  /** Decoupled (AdamW) weight decay; 0 = plain Adam. */
  weightDecay: number;
  /** Clip gradients to this global L2 norm; 0 = no clipping. */
  clipNorm: number;
  /** Evaluate on the validation batches every N steps (and after the last step); 0 = only at the end. */
  evalEvery: number;
  /**
   * Supernet runs: validation loss is the mean over this many fixed probe children (drawn once, uniformly,
   * from `seed`), so successive evaluations are comparable; the current child would make the curve as noisy
   * as the sampler. Our choice. Fixed-arch runs evaluate their own arch.
   */
  probeChildren: number;
  /** Write a checkpoint every N steps (and after the last step); 0 = only at the end. Not part of the hash. */
  checkpointEvery: number;
  /** Every M steps, log the cosine between the current and the previous child's gradients on the ops they share; 0 = off. */
  monitorEvery: number;
  /** Weight of the MAGIC-A alignment term (used only when an anchor policy is given). */
  lambda: number;
  /** Seed of the loop's own choices (probe children). Samplers and data have their own seeds. */
  seed: number;
}

export const DEFAULT_TRAIN_CONFIG: TrainConfig = {
  steps: 1000,
  lr: 5e-4,
  warmup: 0.06,
  decay: "linear",
  beta1: 0.9,
  beta2: 0.98, // BERT/fairseq pretraining value
  eps: 1e-6,
  weightDecay: 0,
  clipNorm: 1.0,
  evalEvery: 100,
  probeChildren: 4,
  checkpointEvery: 200,
  monitorEvery: 0,
  lambda: 0.5,
  seed: 0,
};

/** Fields that change neither the weights nor the history, so a resume may change them. */
export const UNHASHED_FIELDS: (keyof TrainConfig)[] = ["checkpointEvery"];

/** Defaults overridden by `partial`, validated; throws one clear error naming the bad field. */
export function resolveTrainConfig(partial: Partial<TrainConfig> = {}): TrainConfig {
  const c: TrainConfig = { ...DEFAULT_TRAIN_CONFIG, ...partial };
  const unknown = Object.keys(partial).filter((k) => !(k in DEFAULT_TRAIN_CONFIG));
  if (unknown.length) throw new Error(`train config: unknown field(s) ${unknown.join(", ")}`);
  const int = (k: keyof TrainConfig, min: number) => {
    const v = c[k] as number;
    if (!Number.isInteger(v) || v < min) throw new Error(`train config: ${k} must be an integer >= ${min}, got ${v}`);
  };
  int("steps", 1);
  int("evalEvery", 0);
  int("probeChildren", 1);
  int("checkpointEvery", 0);
  int("monitorEvery", 0);
  int("seed", 0);
  if (!(c.lr > 0)) throw new Error(`train config: lr must be > 0, got ${c.lr}`);
  if (!(c.warmup >= 0 && c.warmup < 1)) throw new Error(`train config: warmup must be in [0, 1), got ${c.warmup}`);
  if (c.decay !== "linear" && c.decay !== "cosine") throw new Error(`train config: decay must be linear or cosine, got ${c.decay}`);
  if (!(c.clipNorm >= 0) || !(c.weightDecay >= 0) || !(c.lambda >= 0)) {
    throw new Error("train config: clipNorm, weightDecay and lambda must be >= 0");
  }
  return c;
}

/** Learning rate of 0-based step `s`: linear warmup to the peak, then linear or cosine decay towards 0. */
export function lrAt(c: TrainConfig, s: number): number {
  const warm = Math.round(c.warmup * c.steps);
  if (s < warm) return (c.lr * (s + 1)) / warm;
  const frac = (s - warm) / Math.max(1, c.steps - warm); // 0 at the end of warmup, < 1 at the last step
  return c.decay === "linear" ? c.lr * (1 - frac) : c.lr * 0.5 * (1 + Math.cos(Math.PI * frac));
}

/**
 * Per-preset overrides of the defaults for the CLI and notebooks (our choices: `tiny` runs in seconds, `small`
 * in minutes on 2 cores; `paper` is the order of the paper's budget, for big machines).
 */
export const TRAIN_PRESETS: Record<Preset, Partial<TrainConfig>> = {
  tiny: { steps: 200, lr: 1e-3, evalEvery: 50, checkpointEvery: 50 },
  small: { steps: 3000, lr: 1e-3, evalEvery: 250, checkpointEvery: 250 },
  paper: { steps: 100000, lr: 5e-4, evalEvery: 2000, checkpointEvery: 2000 },
};
