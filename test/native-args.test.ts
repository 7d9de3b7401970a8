// Every addon entry point with bad arguments, in child processes: each call must throw a JS Error whose message
// names the function (and, for most, the argument), and the child must exit normally, never by a signal.
// The known crashers (calls that killed node with SIGSEGV before the addon validated everything) come first,
// with their exact messages, then a sweep derived from one valid call per function (helpers/native-arg-cases.ts):
// wrong types, missing and extra arguments, negative / NaN / Infinity / fractional / huge integers, unknown op
// codes, arrays one element short, negative dims. A call that kills the child is reported by name and the
// remaining calls run in a fresh child. Without the addon: see helpers/native.ts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { loadAddon } from "../lib/native/addon";
import { nativeSkip } from "./helpers/native";
import { ArgCase, ENTRY_POINTS, KNOWN_CRASHERS, sweepCases } from "./helpers/native-arg-cases";
import type { CallResult } from "./helpers/native-args-child";

const SKIP = nativeSkip();
const ROOT = path.resolve(__dirname, "..");
const CHILD = path.join(__dirname, "helpers/native-args-child.ts");

type Outcome = CallResult | { i: number; killedBy: string };

/** Runs list `which` in child processes, restarting after the call that killed one; one outcome per case. */
function runInChildren(which: "crashers" | "sweep", count: number): Outcome[] {
  const outcomes: Outcome[] = [];
  while (outcomes.length < count) {
    const start = outcomes.length;
    // The timeout only guards against a call that never returns (the old transpose looped forever on some bad
    // shapes): the whole list takes about a second.
    const child = spawnSync(process.execPath, ["--import", "tsx", CHILD, which, String(start)], {
      cwd: ROOT, encoding: "utf8", timeout: 300_000, stdio: ["ignore", "pipe", "pipe", "pipe"],
    });
    const results = child.output[3] ?? "";
    for (const line of results.split("\n").filter(Boolean)) outcomes.push(JSON.parse(line) as CallResult);
    if (child.status === 0 && child.signal === null) {
      assert.equal(outcomes.length, count, `the child exited normally after ${outcomes.length} of ${count} calls:\n${child.stderr}`);
    } else if (outcomes.length < count) {
      // The call after the last reported one ended the child: by a signal (a crash) or with an exit code.
      const how = child.signal ? `signal ${child.signal}` : `exit status ${child.status}`;
      outcomes.push({ i: outcomes.length, killedBy: `${how}; stderr: ${child.stderr.trim().split("\n").slice(-5).join(" | ")}` });
    } else {
      assert.fail(`the child ended with status ${child.status}, signal ${child.signal} after its last call:\n${child.stderr}`);
    }
  }
  return outcomes;
}

/** Failures of `cases` given their outcomes: calls that killed the child, returned when they should throw, or threw the wrong message. */
function failures(cases: ArgCase[], outcomes: Outcome[]): string[] {
  return cases.flatMap((c, i) => {
    const o = outcomes[i];
    const call = `${c.fn}, ${c.what}`;
    if ("killedBy" in o) return [`${call}: the child died (${o.killedBy})`];
    if (o.thrownValue !== undefined) return [`${call}: threw a non-Error (${o.thrownValue})`];
    if (c.throws === null) return o.threw === undefined ? [] : [`${call}: a valid call threw "${o.threw}"`];
    if (o.threw === undefined) return [`${call}: returned (${o.returned}) instead of throwing`];
    return c.throws.test(o.threw) ? [] : [`${call}: threw "${o.threw}", expected ${c.throws}`];
  });
}

test("the calls that crashed node now throw Errors naming the function and the argument", { skip: SKIP }, () => {
  const bad = failures(KNOWN_CRASHERS, runInChildren("crashers", KNOWN_CRASHERS.length));
  assert.deepEqual(bad, []);
});

test("every entry point rejects bad arguments with an Error naming itself, and accepts its valid call", { skip: SKIP }, () => {
  const cases = sweepCases();
  const bad = failures(cases, runInChildren("sweep", cases.length));
  assert.deepEqual(bad, [], `${bad.length} of ${cases.length} calls failed:\n${bad.slice(0, 50).join("\n")}`);
  for (const { fn } of ENTRY_POINTS) {
    assert.ok(cases.filter((c) => c.fn === fn && c.throws).length >= (fn === "blasConfig" ? 1 : 6), `${fn}: too few bad calls`);
  }
});

test("the sweep covers every exported function", { skip: SKIP }, () => {
  assert.deepEqual(ENTRY_POINTS.map((e) => e.fn).sort(), Object.keys(loadAddon()).sort());
});

test("valid calls still compute: gemm with bias and relu, slice, binary with broadcast, reduce", { skip: SKIP }, () => {
  const addon = loadAddon();
  // [[1, 2, 3], [4, 5, 6]] @ I3[:, 0:2] + [-2, 10], then relu
  const c = new Float32Array(4);
  addon.gemm(Float32Array.of(1, 2, 3, 4, 5, 6), Float32Array.of(1, 0, 0, 1, 0, 0), c, Int32Array.of(0), Int32Array.of(0), 2, 2, 3,
    false, false, Float32Array.of(-2, 10), true);
  assert.deepEqual([...c], [0, 12, 2, 15]);
  const x = Float32Array.from({ length: 12 }, (_, k) => k); // [3, 4]
  const box = new Float32Array(4);
  addon.slice(x, box, Int32Array.of(3, 4), Int32Array.of(1, 1), Int32Array.of(2, 2));
  assert.deepEqual([...box], [5, 6, 9, 10]);
  const sum = new Float32Array(6);
  addon.binary(0, Float32Array.of(1, 2, 3, 4, 5, 6), Int32Array.of(3, 1), Float32Array.of(10, 20, 30), Int32Array.of(0, 1), sum, Int32Array.of(2, 3));
  assert.deepEqual([...sum], [11, 22, 33, 14, 25, 36]);
  const means = new Float32Array(2);
  addon.reduce(1, Float32Array.of(1, 2, 3, 4, 5, 6), means, 2, 3, 1);
  assert.deepEqual([...means], [2, 5]);
});
