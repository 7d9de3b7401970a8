// One way to set up a supernet training run from a scheme (sampler, m, optional MAGIC-A alignment), shared by
// the CLI and the experiments, so that the same (scheme, seed) is the same run everywhere.
import { seedFrom } from "../rng";
import { Supernet } from "../nas/supernet";
import { makeSampler, type SamplerName } from "../nas/samplers";
import { AnchorPolicy, alignedLoss, type AnchorKind } from "../nas/align";
import type { SearchSpace } from "../nas/types";
import type { TrainData, TrainRun } from "../train/loop";
import type { TrainConfig } from "../train/config";

/** A supernet training scheme: a sampler, optionally with MAGIC-A alignment. */
export interface SchemeSpec {
  sampler: SamplerName;
  /** magic-t: sub-layers changed per step (default 1); "L" = all of them (the ablation's upper end). */
  m?: number | "L";
  /** MAGIC-A: anchor policy (pool size and refresh period default to AnchorPolicy's) and alignment weight. */
  align?: { kind: AnchorKind; lambda: number; poolSize?: number; refreshEvery?: number };
  /** Train this many times the configured steps (compute-matched controls); default 1. */
  stepsFactor?: number;
}

/** Salts of the streams derived from a run's seed, so init, sampler and anchor draws are independent. */
export const SEED_SALT = { sampler: 0x5a3, anchor: 0xa7c };

export interface SupernetRunArgs {
  space: SearchSpace;
  data: TrainData;
  scheme: SchemeSpec;
  /** Seed of the weights, the sampler and the anchor pool (each its own stream). */
  seed: number;
  train: Partial<TrainConfig>;
  /** Anything else the numbers depend on (data settings, ...), for the run's hash. */
  hashExtra?: unknown;
}

/** A fresh supernet and the (untrained) run of `scheme` on it; pass to `train` with a checkpoint dir. */
export function supernetRun(args: SupernetRunArgs): TrainRun & { model: Supernet } {
  const { space, scheme, seed } = args;
  const model = new Supernet({ space, seed });
  const m = scheme.m === "L" ? space.layers : scheme.m;
  const sampler = makeSampler(scheme.sampler, { layers: space.layers, numOps: space.ops.length, seed: seedFrom(seed, SEED_SALT.sampler), m });
  const align = scheme.align && {
    policy: new AnchorPolicy({ ...scheme.align, seed: seedFrom(seed, SEED_SALT.anchor) }),
    loss: (_: unknown, arch: number[], anchor: number[], batch: Parameters<typeof alignedLoss>[3], lambda: number) =>
      alignedLoss(model, arch, anchor, batch, lambda),
  };
  const steps = args.train.steps === undefined ? {} : { steps: Math.round(args.train.steps * (scheme.stepsFactor ?? 1)) };
  const config = { ...args.train, ...steps, seed, ...(scheme.align ? { lambda: scheme.align.lambda } : {}) };
  return { model, data: args.data, sampler, align, config, hashExtra: args.hashExtra };
}
