// The "native" tfjs backend: the stock cpu backend (MathBackendCPU: same tensor storage, plus a buffer pool,
// see native-backend.ts) whose hot kernels run in C through an OpenBLAS N-API addon (native/). Every cpu
// kernel is registered for "native"; the ones in nativeKernels() (matmul, elementwise, reductions, layout, 2-D
// convs) are replaced by native versions that fall back to the cpu kernel for the cases they skip. losses.ts adds
// a fused sparse cross-entropy, fused.ts a fused LayerNorm, GELU and depthwise conv, attention.ts a fused
// attention core, batchnorm.ts a fused training-mode BatchNorm(+ReLU6).
import * as tf from "@tensorflow/tfjs";
import { loadAddon } from "./addon";
import { attentionKernelConfigs } from "./attention";
import { batchNormKernelConfigs } from "./batchnorm";
import { convKernels } from "./conv";
import { elementwiseKernels } from "./elementwise";
import { fusedKernelConfigs } from "./fused";
import { NativeKernel, withFallback } from "./kernel-util";
import { layoutKernels } from "./layout";
import { matmulKernels } from "./matmul";
import { NativeBackend } from "./native-backend";
import { reduceKernels } from "./reduce";
import { xentKernelConfigs } from "./xent-kernels";

export { addonAvailable, nativePlatform } from "./addon";
export { attention, attentionAvailable } from "./attention";
export { batchNormTrain, updateRunningStats } from "./batchnorm";
export { fallbackCounts } from "./kernel-util";
export { maskedSoftmaxCrossEntropy, sparseSoftmaxCrossEntropyRows } from "./losses";

export const NATIVE_BACKEND = "native";
/** Below cpu (1) and wasm (2): "native" is chosen by lib/backend.ts explicitly, never by tfjs's default pick. */
const PRIORITY = 0;

function nativeKernels(): Record<string, NativeKernel> {
  const addon = loadAddon();
  return { ...matmulKernels(addon), ...elementwiseKernels(addon), ...reduceKernels(addon), ...layoutKernels(addon), ...convKernels(addon) };
}

/** Names of the tfjs kernels that run natively (the others are the cpu kernels, registered as they are). */
export function nativeKernelNames(): string[] {
  return Object.keys(nativeKernels());
}

/**
 * Registers the "native" backend. Throws an Error saying why (and how to build the addon) when it is
 * not available. Idempotent.
 */
export function loadNativeBackend(): void {
  if (tf.findBackendFactory(NATIVE_BACKEND)) return;
  const overrides = nativeKernels(); // throws first if the addon is missing
  for (const config of tf.getKernelsForBackend("cpu")) {
    const name = config.kernelName;
    const kernelFunc = overrides[name] ? withFallback(name, overrides[name]) : config.kernelFunc;
    tf.registerKernel({ ...config, backendName: NATIVE_BACKEND, kernelFunc });
  }
  for (const config of xentKernelConfigs(loadAddon(), NATIVE_BACKEND)) tf.registerKernel(config);
  for (const config of fusedKernelConfigs(loadAddon(), NATIVE_BACKEND)) tf.registerKernel(config);
  for (const config of attentionKernelConfigs(loadAddon(), NATIVE_BACKEND)) tf.registerKernel(config);
  for (const config of batchNormKernelConfigs(loadAddon(), NATIVE_BACKEND)) tf.registerKernel(config);
  tf.registerBackend(NATIVE_BACKEND, () => new NativeBackend(), PRIORITY);
}
