// Child process of test/native-args.test.ts: makes the addon calls of the case list argv[2] ("crashers" or
// "sweep") from index argv[3] on, and writes one JSON line per call to fd 3 as soon as it returns or throws
// (fs.writeSync: the lines before a crash survive it), so the parent knows which call killed the process, if one
// does. Not stdout: OpenBLAS prints its complaints there.
import * as fs from "fs";
import { loadAddon } from "../../lib/native/addon";
import { KNOWN_CRASHERS, sweepCases } from "./native-arg-cases";

export interface CallResult {
  i: number;
  /** The thrown value's message, when it was an Error. */
  threw?: string;
  /** A thrown value that was not an Error. */
  thrownValue?: string;
  returned?: string;
}

const addon = loadAddon() as unknown as Record<string, (...args: unknown[]) => unknown>;
const cases = process.argv[2] === "crashers" ? KNOWN_CRASHERS : sweepCases();
for (let i = Number(process.argv[3]); i < cases.length; i++) {
  let result: CallResult;
  try {
    result = { i, returned: String(addon[cases[i].fn](...cases[i].args())) };
  } catch (e) {
    result = e instanceof Error ? { i, threw: e.message } : { i, thrownValue: String(e) };
  }
  fs.writeSync(3, `${JSON.stringify(result)}\n`);
}
