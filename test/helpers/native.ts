// The native tests' gate. Without a loadable addon they do not pass silently: nativeSkip() registers one failing
// test that says why and how to fix it, and the others skip. Only MAGIC_ALLOW_NO_NATIVE=1 (the choice of the
// wasm fallback, as in native/build.js) turns that into a plain skip, with the reason printed.
import { test } from "node:test";
import { loadAddon } from "../../lib/native/addon";

/** Set and not "0": the same reading as native/build.js. */
function optedOut(): boolean {
  const v = process.env.MAGIC_ALLOW_NO_NATIVE;
  return v !== undefined && v !== "" && v !== "0";
}

/** false when the addon loads; else the skip reason for the native tests (see above). */
export function nativeSkip(): string | false {
  let why: string;
  try {
    loadAddon();
    return false;
  } catch (e) {
    why = e instanceof Error ? e.message : String(e);
  }
  if (optedOut()) {
    const reason = `native addon unavailable and MAGIC_ALLOW_NO_NATIVE is set: ${why}`;
    console.warn(`[native tests] SKIPPED: ${reason}`);
    return reason;
  }
  test("the native addon loads (set MAGIC_ALLOW_NO_NATIVE=1 to skip the native tests instead)", () => {
    throw new Error(why);
  });
  return 'native addon unavailable: see the failing test "the native addon loads"';
}
