// One way to set up a supernet training run from a scheme (sampler, m, optional MAGIC-A alignment), shared by
// the CLI and the experiments, so that the same (scheme, seed) is the same run everywhere.
import { seedFrom } from "../rng";
import { makeSampler, type SamplerName } from "../nas/samplers";
import { AnchorPolicy, type AnchorKind } from "../nas/align";
import type { Arch, MlmBatch } from "../nas/types";
import type { TrainData, TrainRun } from "../train/loop";
import type { TrainConfig } from "../train/config";
import type { KitModel, SpaceKit } from "./kit";

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

export interface SupernetRunArgs<B extends object, M extends KitModel<B>> {
  /** The space: its supernet, its children's shape and MAGIC-A's hidden states (lib/experiments/kit.ts). */
  kit: SpaceKit<B, M>;
  data: TrainData<B>;
  scheme: SchemeSpec;
  /** Seed of the weights, the sampler and the anchor pool (each its own stream). */
  seed: number;
  train: Partial<TrainConfig>;
  /** Anything else the numbers depend on (data settings, ...), for the run's hash. */
  hashExtra?: unknown;
}

/** A fresh supernet and the (untrained) run of `scheme` on it; pass to `train` with a checkpoint dir. */
export function supernetRun<B extends object = MlmBatch, M extends KitModel<B> = KitModel<B>>(args: SupernetRunArgs<B, M>): TrainRun<B> & { model: M } {
  const { kit, scheme, seed } = args;
  const model = kit.model(seed);
  const choices = kit.archSpace.choices;
  const m = scheme.m === "L" ? choices.length : scheme.m;
  const sampler = makeSampler(scheme.sampler, { layers: choices.length, numOps: choices, seed: seedFrom(seed, SEED_SALT.sampler), m });
  const align = scheme.align && {
    policy: new AnchorPolicy({ ...scheme.align, seed: seedFrom(seed, SEED_SALT.anchor) }),
    loss: (_: unknown, arch: Arch, anchor: Arch, batch: B, lambda: number) => kit.alignedLoss(model, arch, anchor, batch, lambda),
  };
  const steps = args.train.steps === undefined ? {} : { steps: Math.round(args.train.steps * (scheme.stepsFactor ?? 1)) };
  const config = { ...args.train, ...steps, seed, ...(scheme.align ? { lambda: scheme.align.lambda } : {}) };
  return { model, data: args.data, sampler, align, config, hashExtra: args.hashExtra };
}
