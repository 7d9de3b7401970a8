// Temp files of the atomic writer (lib/atomic-write.ts, behind lib/json-file.ts and lib/train/checkpoint.ts): write `<file>.tmp-<pid>`,
// then rename it over `<file>`; the pid keeps two processes out of one temp file. A process killed in the
// middle of a write leaves its temp file behind. Readers never see it (they open `<file>` only), and the next
// write of `<file>` removes it (a resumed run redoes the interrupted write), so kills do not pile up
// checkpoint-sized leftovers.
import * as fs from "node:fs";
import * as path from "node:path";

/** This process's temp file for `file`. */
export function tempPathFor(file: string): string {
  return `${file}.tmp-${process.pid}`;
}

/** Removes the temp files of `file` whose writer no longer runs (a live writer's is still being written). */
export function removeStaleTemps(file: string): void {
  const dir = path.dirname(file);
  const prefix = `${path.basename(file)}.tmp-`;
  for (const name of fs.readdirSync(dir)) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number(name.slice(prefix.length));
    if (Number.isInteger(pid) && pid > 0 && !isRunning(pid)) fs.rmSync(path.join(dir, name), { force: true });
  }
}

/** Whether process `pid` exists: signal 0 only checks, and EPERM means it exists but belongs to another user. */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}
