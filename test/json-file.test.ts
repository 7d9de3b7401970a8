// JSON files: the atomic writer leaves no temp file behind, and a truncated or damaged file is one UserError
// naming the file and how to get a good copy back (git for committed files under data/, else a rebuild).
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { UserError } from "../lib/errors";
import { readJson, readJsonIfExists, writeJsonAtomic } from "../lib/json-file";
import { projectPath } from "../lib/paths";

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "magic-json-"));

test("writeJsonAtomic: round trip, compact or indented with a final newline, no temp file left", () => {
  const dir = tmp();
  const file = path.join(dir, "sub", "a.json");
  writeJsonAtomic(file, { x: [1, 2] });
  assert.equal(fs.readFileSync(file, "utf8"), '{"x":[1,2]}');
  writeJsonAtomic(file, { x: [1, 2] }, 1);
  assert.equal(fs.readFileSync(file, "utf8"), '{\n "x": [\n  1,\n  2\n ]\n}\n');
  assert.deepEqual(readJson(file), { x: [1, 2] });
  assert.deepEqual(fs.readdirSync(path.dirname(file)), ["a.json"]);
  assert.equal(readJsonIfExists(path.join(dir, "missing.json")), null);
  fs.rmSync(dir, { recursive: true });
});

test("writeJsonAtomic: a failed rename removes its temp file and keeps the target", () => {
  const dir = tmp();
  const target = path.join(dir, "busy.json");
  fs.mkdirSync(target); // a non-empty folder cannot be replaced by a file
  fs.writeFileSync(path.join(target, "keep"), "");
  assert.throws(() => writeJsonAtomic(target, {}), /EISDIR|ENOTEMPTY|EEXIST/);
  assert.deepEqual(fs.readdirSync(dir), ["busy.json"]);
  fs.rmSync(dir, { recursive: true });
});

test("a truncated JSON file is one UserError naming it; outside data/ the fix is a rebuild", () => {
  const dir = tmp();
  const file = path.join(dir, "cache.json");
  fs.writeFileSync(file, JSON.stringify({ rows: ["a".repeat(3000)] }).slice(0, 2000));
  assert.throws(
    () => readJsonIfExists(file),
    (e: unknown) =>
      e instanceof UserError &&
      e.message === `${file} is truncated or corrupt (Unterminated string in JSON at position 2000); delete it and rerun to rebuild it`,
  );
  fs.rmSync(dir, { recursive: true });
});

test("a damaged committed file under data/ says how to restore it with git", () => {
  const dir = fs.mkdtempSync(projectPath("data", ".json-file-test-"));
  try {
    const file = path.join(dir, "table.json");
    fs.writeFileSync(file, "");
    const relative = path.relative(projectPath(), file);
    assert.throws(
      () => readJson(file),
      new UserError(
        `${file} is truncated or corrupt (Unexpected end of JSON input); ` +
          `restore it with \`git checkout -- ${relative}\`, or delete it and rerun to rebuild it`,
      ),
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
