// JSON files of results and caches: written atomically (temp file + rename), so an interrupted run leaves
// either the old file or the new one, never a torn one that a resumed run would misread; the temp file of an
// interrupted write is removed by the next write (lib/temp-files.ts).
import * as fs from "node:fs";
import * as path from "node:path";
import { removeStaleTemps, tempPathFor } from "./temp-files";

/** The parsed file, or null when it does not exist. */
export function readJsonIfExists<T>(file: string): T | null {
  return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, "utf8")) as T) : null;
}

/** Writes `value` as JSON (indented by `indent` spaces, compact by default), creating the folder. */
export function writeJsonAtomic(file: string, value: unknown, indent?: number): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = tempPathFor(file);
  fs.writeFileSync(tmp, indent === undefined ? JSON.stringify(value) : `${JSON.stringify(value, null, indent)}\n`);
  fs.renameSync(tmp, file);
  removeStaleTemps(file);
}
