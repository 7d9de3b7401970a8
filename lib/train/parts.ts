// Helpers of the training loop kept out of loop.ts: what goes into the config hash, and the gradients of
// the live interference monitor.
import { createHash } from "node:crypto";
import * as tf from "@tensorflow/tfjs";
import type { Arch, Sampler, TrainableModel } from "../nas/types";

/** A sampler's or anchor policy's identity: its state plus its own fields (kind, m, pool size, ...) as JSON. */
function identity(x: { state(): unknown } | undefined): unknown {
  return x ? { state: x.state(), fields: JSON.parse(JSON.stringify(x)) as unknown } : null;
}

/** The run's identity besides the config: space, sampler and anchor policy (initial state and settings), arch. */
export function runHash(model: TrainableModel<unknown>, sampler: Sampler | undefined, arch: Arch | null, policy: { state(): unknown } | undefined): unknown {
  return { space: model.space, sampler: identity(sampler), arch, anchor: identity(policy) };
}

/**
 * SHA-256 of every variable's name and initial values: catches a model built with another init seed or
 * inherited from other weights, which the config alone would not reveal.
 */
export function weightsFingerprint(named: Map<string, tf.Variable>): string {
  const h = createHash("sha256");
  for (const [name, v] of [...named].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    h.update(`${name}:${v.shape.join("x")};`);
    const d = v.dataSync();
    h.update(new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
  }
  return h.digest("hex").slice(0, 16);
}

export interface GradPair {
  current: tf.Tensor[];
  previous: tf.Tensor[];
  dispose(): void;
}

/**
 * Gradients of the training loss of `current` and `previous` on `batch`, restricted to the variables of the ops
 * both children use at the same layer (embeddings and head, used by every child, excluded). Those are the
 * variables in both children's sets but not in the set of a child that differs from `current` at every
 * layer. `currentGrads` (keyed by tf variable name, not disposed here) are reused when the training step
 * already computed them for the plain MLM loss. Null when the children share no op with parameters.
 */
export function interferenceGrads<B>(
  model: TrainableModel<B>,
  current: Arch,
  previous: Arch,
  batch: B,
  currentGrads: tf.NamedTensorMap | null,
): GradPair | null {
  const choices = model.archSpace.choices;
  if (choices.every((n) => n < 2)) return null;
  const prevSet = new Set(model.trainableVariables(previous));
  // A layer with one choice has no differing op: its op counts as shared by every child, like the embeddings.
  const everyChild = new Set(model.trainableVariables(current.map((k, l) => (k + 1) % choices[l])));
  const shared = model.trainableVariables(current).filter((v) => prevSet.has(v) && !everyChild.has(v));
  if (shared.length === 0) return null;
  const prev = tf.variableGrads(() => model.loss(previous, batch), shared);
  prev.value.dispose();
  let cur = currentGrads;
  const owned: tf.Tensor[] = Object.values(prev.grads);
  if (!cur) {
    const g = tf.variableGrads(() => model.loss(current, batch), shared);
    g.value.dispose();
    cur = g.grads;
    owned.push(...Object.values(g.grads));
  }
  const names = shared.map((v) => v.name).filter((n) => prev.grads[n] && cur![n]);
  if (names.length === 0) {
    tf.dispose(owned);
    return null;
  }
  return { current: names.map((n) => cur![n]), previous: names.map((n) => prev.grads[n]), dispose: () => tf.dispose(owned) };
}
