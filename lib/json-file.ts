// JSON files of results, caches and committed tables: one reader, so a truncated or hand-damaged file is one
// clear error naming the file and how to get a good copy back, and one atomic writer (lib/atomic-write.ts), so
// an interrupted run leaves the old file or the new one, never a torn one that a resumed run would misread.
import * as fs from "node:fs";
import * as path from "node:path";
import { writeFileAtomic } from "./atomic-write";
import { UserError } from "./errors";
import { PROJECT_ROOT } from "./paths";

/** How to get a good copy of `file` back: files under data/ are committed, everything else is rebuilt. */
function recovery(file: string): string {
  const relative = path.relative(PROJECT_ROOT, path.resolve(file));
  const committed = relative.split(path.sep)[0] === "data";
  return committed
    ? `restore it with \`git checkout -- ${relative}\`, or delete it and rerun to rebuild it`
    : "delete it and rerun to rebuild it";
}

/** The parsed file; a file that is not valid JSON is a UserError naming it and saying what to do. */
export function readJson<T>(file: string): T {
  const text = fs.readFileSync(file, "utf8");
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new UserError(`${file} is truncated or corrupt (${(e as Error).message}); ${recovery(file)}`);
  }
}

/** The parsed file, or null when it does not exist. */
export function readJsonIfExists<T>(file: string): T | null {
  return fs.existsSync(file) ? readJson<T>(file) : null;
}

/** Writes `value` as JSON (indented by `indent` spaces and newline-terminated, compact by default), creating the folder. */
export function writeJsonAtomic(file: string, value: unknown, indent?: number): void {
  writeFileAtomic(file, [indent === undefined ? JSON.stringify(value) : `${JSON.stringify(value, null, indent)}\n`]);
}
