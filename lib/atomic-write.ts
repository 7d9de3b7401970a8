// Durable atomic replacement of a file: write a temp file, fsync it, rename it over the target, fsync the
// folder. A crash at any point leaves the old file or the new one, never a torn or empty one: without the first
// fsync the rename can reach the disk before the data (an empty file after a power loss); without the second
// the rename itself can be lost. The temp file of a write killed midway is removed by the next write of the
// same file (lib/temp-files.ts).
import * as fs from "node:fs";
import * as path from "node:path";
import { removeStaleTemps, tempPathFor } from "./temp-files";

/** Replaces `file` with the concatenation of `chunks`, creating its folder. */
export function writeFileAtomic(file: string, chunks: readonly (string | Uint8Array)[]): void {
  const dir = path.dirname(file);
  fs.mkdirSync(dir, { recursive: true });
  const tmp = tempPathFor(file);
  try {
    const fd = fs.openSync(tmp, "w");
    try {
      for (const chunk of chunks) fs.writeFileSync(fd, chunk); // unlike writeSync, loops until all is written
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true }); // e.g. a full disk: leave no half-written temp file behind
    throw e;
  }
  const dirFd = fs.openSync(dir, "r");
  try {
    fs.fsyncSync(dirFd);
  } finally {
    fs.closeSync(dirFd);
  }
  removeStaleTemps(file);
}
