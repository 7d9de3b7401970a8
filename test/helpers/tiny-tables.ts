// A test file's own runs and tables folders (MAGIC_RUNS_DIR, MAGIC_TABLES_DIR under a temp folder, removed
// afterwards) and the tiny preset's data with its committed ground truth: what the tests of committed tables
// (ranking units, interference units) share, so that nothing they write reaches the checkout.
import { after, before } from "node:test";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { initBackend } from "../../lib/backend";
import { prepareMlmData, type MlmData } from "../../lib/data";
import { projectPath } from "../../lib/paths";
import type { GroundTruthTable } from "../../lib/experiments/ground-truth";

export interface TinyTables {
  /** The temp folder holding runs/ and tables/. */
  scratch: string;
  /** Set in `before`. */
  data: MlmData;
  /** The committed data/ground-truth/tiny.json, set in `before`. */
  gt: GroundTruthTable;
}

/** Registers the before/after hooks of the calling test file; the fields fill in before its first test. */
export function useTinyTables(prefix: string): TinyTables {
  const fixture = { scratch: fs.mkdtempSync(path.join(os.tmpdir(), prefix)) } as TinyTables;
  before(async () => {
    process.env.MAGIC_RUNS_DIR = path.join(fixture.scratch, "runs");
    process.env.MAGIC_TABLES_DIR = path.join(fixture.scratch, "tables");
    await initBackend({ quiet: true });
    fixture.data = prepareMlmData("tiny");
    fixture.gt = JSON.parse(fs.readFileSync(projectPath("data", "ground-truth", "tiny.json"), "utf8")) as GroundTruthTable;
  });
  after(() => {
    delete process.env.MAGIC_RUNS_DIR;
    delete process.env.MAGIC_TABLES_DIR;
    fs.rmSync(fixture.scratch, { recursive: true, force: true });
  });
  return fixture;
}
