// Checkpoints: one binary file per run directory, replaced atomically and durably (lib/atomic-write.ts), so a
// crash leaves either the previous checkpoint or the new one, never a torn file.
// Layout: "MAGICCK2" | uint32 LE header length | header JSON (utf8) | zero padding to 4 bytes | float32 data |
// SHA-256 of everything before it. The header holds the config hash, step, free-form JSON meta (sampler/anchor/
// optimizer counters, history) and the tensor index; the checksum covers header and data, so any corruption is
// detected on read.
// A corrupt or old-format checkpoint is an error telling the user to delete it, not a silent restart from
// scratch: it may hold hours of training (a copy, a disk to fix), and deleting it is the user's call.
import { createHash } from "node:crypto";
import * as path from "node:path";
import * as fs from "node:fs";
import { writeFileAtomic } from "../atomic-write";
import { UserError } from "../errors";

const MAGIC = "MAGICCK2";
/** The previous format: the same layout with the data's SHA-256 in the header and the header itself unchecked. */
const OLD_MAGIC = "MAGICCK1";
const PREFIX_BYTES = 12;
const CHECKSUM_BYTES = 32;
export const CHECKPOINT_FILE = "checkpoint.ckpt";

/** A checkpoint that cannot be used (corrupt, old format, another run's): the user decides what to do with it. */
export class CheckpointError extends UserError {
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
  configHash: string;
  step: number;
  meta: unknown;
  index: { name: string; shape: number[]; offset: number; length: number }[];
  dataBytes: number;
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

const padding = (headerBytes: number) => (4 - ((PREFIX_BYTES + headerBytes) % 4)) % 4;

/** Writes `ckpt` to `file` atomically. */
export function writeCheckpoint(file: string, ckpt: Checkpoint): void {
  let offset = 0;
  const index = ckpt.tensors.map((t) => {
    const length = t.shape.reduce((a, b) => a * b, 1);
    if (length !== t.data.length) throw new Error(`writeCheckpoint: tensor ${t.name} has shape [${t.shape}] but ${t.data.length} values`);
    const entry = { name: t.name, shape: t.shape, offset, length };
    offset += length;
    return entry;
  });
  const data = Buffer.alloc(offset * 4);
  const view = new Float32Array(data.buffer, data.byteOffset, offset);
  ckpt.tensors.forEach((t, i) => view.set(t.data, index[i].offset));
  const header: Header = { configHash: ckpt.configHash, step: ckpt.step, meta: ckpt.meta, index, dataBytes: data.length };
  const headerBytes = Buffer.from(JSON.stringify(header), "utf8");
  const prefix = Buffer.alloc(PREFIX_BYTES);
  prefix.write(MAGIC, 0, "ascii");
  prefix.writeUInt32LE(headerBytes.length, 8);
  const body = [prefix, headerBytes, Buffer.alloc(padding(headerBytes.length)), data];
  const checksum = createHash("sha256");
  for (const b of body) checksum.update(b);
  writeFileAtomic(file, [...body, checksum.digest()]);
}

/** Reads and verifies a checkpoint; anything unusable throws a CheckpointError naming the file and what to do. */
export function readCheckpoint(file: string): Checkpoint {
  const fail = (why: string): never => {
    throw new CheckpointError(`checkpoint ${file} ${why}; delete it to start the run over`);
  };
  const buf = fs.readFileSync(file);
  const magic = buf.toString("ascii", 0, 8);
  if (magic === OLD_MAGIC) fail("is in the old format MAGICCK1, which this version does not read");
  if (buf.length < PREFIX_BYTES + CHECKSUM_BYTES || magic !== MAGIC) fail("is not a checkpoint (bad magic bytes)");
  const end = buf.length - CHECKSUM_BYTES;
  if (!createHash("sha256").update(buf.subarray(0, end)).digest().equals(buf.subarray(end))) {
    fail("is corrupt or truncated (checksum mismatch)");
  }
  const headerLen = buf.readUInt32LE(8);
  const start = PREFIX_BYTES + headerLen + padding(headerLen);
  if (start > end) fail("is corrupt (header length past the end)");
  let header: Header;
  try {
    header = JSON.parse(buf.toString("utf8", PREFIX_BYTES, PREFIX_BYTES + headerLen)) as Header;
  } catch (e) {
    return fail(`is corrupt (unreadable header: ${(e as Error).message})`);
  }
  if (end - start !== header.dataBytes) fail(`is corrupt (${end - start} data bytes, the header says ${header.dataBytes})`);
  // Copy into an aligned buffer: the file buffer's offset need not be a multiple of 4.
  const floats = new Float32Array(header.dataBytes / 4);
  new Uint8Array(floats.buffer).set(buf.subarray(start, end));
  const tensors = header.index.map((e) => ({ name: e.name, shape: e.shape, data: floats.subarray(e.offset, e.offset + e.length) }));
  return { configHash: header.configHash, step: header.step, meta: header.meta, tensors };
}

/** Whether `dir` holds the finished checkpoint of the run hashed `hash` (`steps` completed). */
export function isFinishedCheckpoint(dir: string, hash: string, steps: number): boolean {
  const file = checkpointPath(dir);
  if (!fs.existsSync(file)) return false;
  const ck = readCheckpoint(file);
  return ck.configHash === hash && ck.step === steps;
}
