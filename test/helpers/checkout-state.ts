// Keeps tests out of the checkout's results and data: the main job's raw results (reports/), its training
// caches (runs/, which a later run would load instead of computing) and the committed tables (data/).
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after } from "node:test";
import { PROJECT_ROOT } from "../../lib/paths";

/** Folders of the checkout that no test may write. */
export const GUARDED_DIRS = ["reports", "runs", "data"];

/** Every entry under `dir` (relative path -> content hash, "directory" or the link's target). */
function fingerprint(root: string, dir: string, into: Record<string, string>): void {
  for (const name of fs.readdirSync(path.join(root, dir)).sort()) {
    const rel = path.join(dir, name);
    const stat = fs.lstatSync(path.join(root, rel));
    if (stat.isSymbolicLink()) into[rel] = `link to ${fs.readlinkSync(path.join(root, rel))}`;
    else if (stat.isDirectory()) {
      into[rel] = "directory";
      fingerprint(root, rel, into);
    } else into[rel] = createHash("sha256").update(fs.readFileSync(path.join(root, rel))).digest("hex");
  }
}

/** The guarded folders' file lists and content hashes; a missing folder is the state "absent". */
export function checkoutState(): Record<string, string> {
  const state: Record<string, string> = {};
  for (const dir of GUARDED_DIRS) {
    if (!fs.existsSync(path.join(PROJECT_ROOT, dir))) state[dir] = "absent";
    else fingerprint(PROJECT_ROOT, dir, state);
  }
  return state;
}

/**
 * Points MAGIC_RUNS_DIR and MAGIC_REPORTS_DIR of this test process, and so of the notebooks and scripts it
 * starts, at fresh temporary folders; restores the variables and removes the folders after the file's tests.
 */
export function useTemporaryOutputDirs(): { runs: string; reports: string } {
  const saved = { MAGIC_RUNS_DIR: process.env.MAGIC_RUNS_DIR, MAGIC_REPORTS_DIR: process.env.MAGIC_REPORTS_DIR };
  const runs = fs.mkdtempSync(path.join(os.tmpdir(), "magic-test-runs-"));
  const reports = fs.mkdtempSync(path.join(os.tmpdir(), "magic-test-reports-"));
  process.env.MAGIC_RUNS_DIR = runs;
  process.env.MAGIC_REPORTS_DIR = reports;
  after(() => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    for (const dir of [runs, reports]) fs.rmSync(dir, { recursive: true, force: true });
  });
  return { runs, reports };
}
