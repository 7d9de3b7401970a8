// Masked-LM cross-entropy against integer labels, fused on the native backend: one pass over the logits
// forward (per-row logsumexp) and one backward (softmax - onehot), where tf.losses.softmaxCrossEntropy
// makes ~15 passes over [N, V] plus a one-hot tensor. On other backends the same function runs plain tfjs
// ops, so model code can call it unconditionally. Importing this file never loads the addon.
import * as tf from "@tensorflow/tfjs";
import { kernelsRegistered } from "./kernel-util";

/** Kernel names registered for the "native" backend only (by loadNativeBackend). */
export const XENT_KERNEL = "MagicSparseXent";
export const XENT_GRAD_KERNEL = "MagicSparseXentGrad";
const XENT_KERNELS = [XENT_KERNEL, XENT_GRAD_KERNEL];

/** True when the fused cross-entropy kernels are registered for the current backend (only "native" has them). */
export function fusedXentAvailable(): boolean {
  return kernelsRegistered(XENT_KERNELS);
}

/** Cross-entropy of each row of logits [N, V] against int32 labels [N]: logsumexp(row) - row[label]. */
export function sparseSoftmaxCrossEntropyRows(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Tensor1D {
  if (labels.dtype !== "int32") throw new Error(`labels must be int32, got ${labels.dtype}`);
  if (!fusedXentAvailable()) {
    return tf.tidy(() => tf.logSumExp(logits, 1).sub(tf.sum(logits.mul(tf.oneHot(labels, logits.shape[1])), 1))); // [N]
  }
  const rows = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x, save] = args as [tf.Tensor, tf.GradSaveFunc];
    const [loss, lse] = tf.engine().runKernel(XENT_KERNEL, { logits: x, labels }) as tf.Tensor[]; // [N], [N]
    save([x, lse, labels]); // labels too: the caller's tidy may dispose them before the backward pass
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) =>
      tf.engine().runKernel(XENT_GRAD_KERNEL, { logits: saved[0], labels: saved[2], lse: saved[1], dy }) as tf.Tensor; // [N, V]
    return { value: loss, gradFunc };
  });
  return rows(logits) as tf.Tensor1D;
}

/** Weighted mean cross-entropy, sum(w * ce) / sum(w): the MLM loss over the selected positions. */
export function maskedSoftmaxCrossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D, weights: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => {
    const ce = sparseSoftmaxCrossEntropyRows(logits, labels); // [N]
    return ce.mul(weights).sum().div(weights.sum().maximum(1e-12)) as tf.Scalar; // guard: no selected position
  });
}
