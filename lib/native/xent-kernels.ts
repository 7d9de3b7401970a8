// Native kernels behind lib/native/losses.ts (custom names: tfjs has no sparse cross-entropy kernel).
import * as tf from "@tensorflow/tfjs";
import type { NativeAddon } from "./addon";
import { CpuBackend, f32, i32, output } from "./kernel-util";
import { XENT_GRAD_KERNEL, XENT_KERNEL } from "./losses";

function operands(backend: CpuBackend, logits: tf.TensorInfo, labels: tf.TensorInfo): [Float32Array, Int32Array] {
  const x = f32(backend, logits);
  const y = i32(backend, labels);
  if (!x || !y || logits.shape.length !== 2 || labels.shape.length !== 1 || labels.shape[0] !== logits.shape[0]) {
    throw new Error(`${XENT_KERNEL}: expected float32 logits [N, V] and int32 labels [N]`);
  }
  return [x, y];
}

export function xentKernelConfigs(addon: NativeAddon, backendName: string): tf.KernelConfig[] {
  const forward: tf.KernelFunc = (args) => {
    const inputs = args.inputs as Record<string, tf.TensorInfo>;
    const cpu = args.backend as CpuBackend;
    const [x, y] = operands(cpu, inputs.logits, inputs.labels);
    const loss = new Float32Array(y.length);
    const lse = new Float32Array(y.length);
    addon.xentForward(x, y, loss, lse);
    return [output(cpu, [y.length], loss), output(cpu, [y.length], lse)];
  };
  const backward: tf.KernelFunc = (args) => {
    const inputs = args.inputs as Record<string, tf.TensorInfo>;
    const cpu = args.backend as CpuBackend;
    const [x, y] = operands(cpu, inputs.logits, inputs.labels);
    const lse = f32(cpu, inputs.lse);
    const dy = f32(cpu, inputs.dy);
    if (!lse || !dy) throw new Error(`${XENT_GRAD_KERNEL}: lse and dy must be float32`);
    const out = cpu.alloc(x.length);
    addon.xentBackward(x, y, lse, dy, out);
    return output(cpu, inputs.logits.shape, out);
  };
  return [
    { kernelName: XENT_KERNEL, backendName, kernelFunc: forward },
    { kernelName: XENT_GRAD_KERNEL, backendName, kernelFunc: backward },
  ];
}
