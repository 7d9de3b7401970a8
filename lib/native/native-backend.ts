// MathBackendCPU plus a pool of output buffers. A fresh 16 MB Float32Array costs several ms (mmap, page
// faults, zeroing) against ~0.3 ms to reuse one, and MLM logits make many of them per step. A buffer is
// pooled on dispose only when nothing else can still see it: it was allocated by `alloc`, registered
// to exactly one tensor, never handed out by readSync (dataSync/data/arraySync), and no view of it was
// registered (cpu kernels such as contiguous Slice return subarray views of their input).
import type * as tf from "@tensorflow/tfjs";
import { MathBackendCPU } from "@tensorflow/tfjs-backend-cpu";

export interface PoolOptions {
  /** Upper bound of the bytes kept for reuse; beyond it the least recently used sizes are dropped. */
  maxBytes: number;
  /** Buffers smaller than this are cheap to allocate and not pooled. */
  minLength: number;
}

export const DEFAULT_POOL: PoolOptions = { maxBytes: 256 * 2 ** 20, minLength: 4096 };

export class NativeBackend extends MathBackendCPU {
  /** length -> reusable buffers; Map order = least recently used length first. */
  private readonly free = new Map<number, Float32Array[]>();
  private pooledBytes = 0;
  /** buffer -> the one Float32Array over it that `alloc` returned and that may return to the pool. */
  private readonly owned = new WeakMap<ArrayBufferLike, Float32Array>();
  private readonly registered = new WeakSet<Float32Array>();

  constructor(private readonly pool: PoolOptions = DEFAULT_POOL) {
    super();
    // MathBackendCPU's first write prints "install the node backend to speed things up": not for this one.
    (this as unknown as { firstUse: boolean }).firstUse = false;
  }

  /** A Float32Array of `length` with undefined contents: the caller must write every element. */
  alloc(length: number): Float32Array {
    if (length < this.pool.minLength) return new Float32Array(length);
    const list = this.free.get(length);
    const reused = list?.pop();
    if (list) this.touch(length, list);
    if (reused) {
      this.pooledBytes -= reused.byteLength;
      this.owned.set(reused.buffer, reused);
      return reused;
    }
    const fresh = new Float32Array(length);
    this.owned.set(fresh.buffer, fresh);
    return fresh;
  }

  /** Returns a scratch buffer from `alloc` that no tensor holds. */
  release(values: Float32Array): void {
    if (this.owned.get(values.buffer) === values && !this.registered.has(values)) this.recycle(values);
  }

  /** Every tensor's values pass here (MathBackendCPU.makeTensorInfo calls write too). */
  override write(values: tf.backend_util.BackendValues, shape: number[], dtype: tf.DataType): tf.DataId {
    this.claim(values);
    return super.write(values, shape, dtype);
  }

  override readSync(dataId: tf.DataId): tf.backend_util.BackendValues {
    const entry = this.data.get(dataId);
    if (entry?.values) this.disown(entry.values as ArrayLike<number>); // the caller may keep it past dispose
    return super.readSync(dataId);
  }

  override disposeData(dataId: tf.DataId, force = false): boolean {
    const values = this.data.get(dataId)?.values;
    const done = super.disposeData(dataId, force);
    if (values instanceof Float32Array && !this.data.has(dataId) && this.owned.get(values.buffer) === values) {
      this.recycle(values);
    }
    return done;
  }

  /** Number of bytes currently held for reuse (for tests and reports). */
  poolBytes(): number {
    return this.pooledBytes;
  }

  private claim(values: unknown): void {
    if (!ArrayBuffer.isView(values)) return;
    const owner = this.owned.get(values.buffer);
    if (!owner) return;
    // A second registration of the same buffer, or of a view of it, makes it shared: never reuse it.
    if (owner !== values || this.registered.has(owner)) this.owned.delete(values.buffer);
    else this.registered.add(owner);
  }

  private disown(values: unknown): void {
    if (ArrayBuffer.isView(values)) this.owned.delete(values.buffer);
  }

  private recycle(values: Float32Array): void {
    this.owned.delete(values.buffer);
    this.registered.delete(values);
    if (values.byteLength > this.pool.maxBytes) return;
    const list = this.free.get(values.length) ?? [];
    list.push(values);
    this.touch(values.length, list);
    this.pooledBytes += values.byteLength;
    for (const [length, stale] of this.free) {
      if (this.pooledBytes <= this.pool.maxBytes) break;
      while (stale.length > 0 && this.pooledBytes > this.pool.maxBytes) this.pooledBytes -= stale.pop()!.byteLength;
      if (stale.length === 0) this.free.delete(length);
    }
  }

  /** Marks a length as most recently used (re-inserted last in the Map). */
  private touch(length: number, list: Float32Array[]): void {
    this.free.delete(length);
    this.free.set(length, list);
  }

  override dispose(): void {
    this.free.clear();
    this.pooledBytes = 0;
    super.dispose();
  }
}
