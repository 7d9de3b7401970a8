// Checkpoints: one binary file per run directory, written atomically (temp file, fsync, rename, fsync of the
// directory), so a crash leaves either the previous checkpoint or the new one, never a torn file; the temp file
// of an interrupted write is removed by the next write (lib/temp-files.ts).
// Layout: "MAGICCK1" | uint32 LE header length | header JSON (utf8) | zero padding to 4 bytes | float32 data.
// The header holds the config hash, step, free-form JSON meta (sampler/anchor/optimizer counters, history),
// the tensor index and a SHA-256 of the data, so any corruption is detected on read.
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { removeStaleTemps, tempPathFor } from "../temp-files";

const MAGIC = "MAGICCK1";
const VERSION = 1;
export const CHECKPOINT_FILE = "checkpoint.ckpt";

export class CheckpointError extends Error {
  override name = "CheckpointError";
}

export interface CheckpointTensor {
  name: string;
  shape: number[];
  data: Float32Array;
}

export interface Checkpoint {
  /** Hash of everything that determines the run's numbers (see configHash). */
  configHash: string;
  /** Completed optimizer steps. */
  step: number;
  /** JSON-serialisable run state. */
  meta: unknown;
  tensors: CheckpointTensor[];
}

interface Header {
  version: number;
  configHash: string;
  step: number;
  meta: unknown;
  index: { name: string; shape: number[]; offset: number; length: number }[];
  dataBytes: number;
  sha256: string;
}

/** JSON with object keys sorted recursively, so equal values always give equal text. */
export function stableStringify(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

/** 16 hex digits of the SHA-256 of the stable JSON of `value`. */
export function configHash(value: unknown): string {
  return createHash("sha256").update(stableStringify(value)).digest("hex").slice(0, 16);
}

export function checkpointPath(dir: string): string {
  return path.join(dir, CHECKPOINT_FILE);
}

/** Writes `ckpt` to `file` atomically. */
export function writeCheckpoint(file: string, ckpt: Checkpoint): void {
  let offset = 0;
  const index = ckpt.tensors.map((t) => {
    const length = t.shape.reduce((a, b) => a * b, 1);
    if (length !== t.data.length) throw new CheckpointError(`tensor ${t.name}: shape [${t.shape}] but ${t.data.length} values`);
    const entry = { name: t.name, shape: t.shape, offset, length };
    offset += length;
    return entry;
  });
  const data = Buffer.alloc(offset * 4);
  const view = new Float32Array(data.buffer, data.byteOffset, offset);
  ckpt.tensors.forEach((t, i) => view.set(t.data, index[i].offset));
  const header: Header = {
    version: VERSION,
    configHash: ckpt.configHash,
    step: ckpt.step,
    meta: ckpt.meta,
    index,
    dataBytes: data.length,
    sha256: createHash("sha256").update(data).digest("hex"),
  };
  const headerBytes = Buffer.from(JSON.stringify(header), "utf8");
  const prefix = Buffer.alloc(8 + 4);
  prefix.write(MAGIC, 0, "ascii");
  prefix.writeUInt32LE(headerBytes.length, 8);
  const pad = Buffer.alloc((4 - ((12 + headerBytes.length) % 4)) % 4);

  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = tempPathFor(file);
  const fd = fs.openSync(tmp, "w");
  try {
    for (const b of [prefix, headerBytes, pad, data]) fs.writeSync(fd, b);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  const dirFd = fs.openSync(path.dirname(file), "r");
  try {
    fs.fsyncSync(dirFd); // makes the rename durable
  } finally {
    fs.closeSync(dirFd);
  }
  removeStaleTemps(file);
}

/** Reads and verifies a checkpoint; any inconsistency throws a CheckpointError naming the file. */
export function readCheckpoint(file: string): Checkpoint {
  const fail = (why: string): never => {
    throw new CheckpointError(`checkpoint ${file} is corrupt or not a checkpoint: ${why}. Delete it to start over.`);
  };
  const buf = fs.readFileSync(file);
  if (buf.length < 12 || buf.toString("ascii", 0, 8) !== MAGIC) fail("bad magic bytes");
  const headerLen = buf.readUInt32LE(8);
  if (12 + headerLen > buf.length) fail("truncated header");
  let header: Header;
  try {
    header = JSON.parse(buf.toString("utf8", 12, 12 + headerLen)) as Header;
  } catch (e) {
    return fail(`unreadable header (${(e as Error).message})`);
  }
  if (header.version !== VERSION) fail(`version ${header.version}, expected ${VERSION}`);
  const start = 12 + headerLen + ((4 - ((12 + headerLen) % 4)) % 4);
  if (buf.length !== start + header.dataBytes) fail(`expected ${start + header.dataBytes} bytes, found ${buf.length}`);
  const data = buf.subarray(start);
  if (createHash("sha256").update(data).digest("hex") !== header.sha256) fail("data checksum mismatch");
  // Copy into an aligned buffer: the file buffer's offset need not be a multiple of 4.
  const floats = new Float32Array(header.dataBytes / 4);
  new Uint8Array(floats.buffer).set(data);
  const tensors = header.index.map((e) => ({ name: e.name, shape: e.shape, data: floats.subarray(e.offset, e.offset + e.length) }));
  return { configHash: header.configHash, step: header.step, meta: header.meta, tensors };
}
