// Stands in for a running tslab kernel: lib/display finds the kernel's display sender in the module
// cache under .../tslab/dist/jupyter.js, so a cache entry there makes code believe it is in a notebook.
import Module from "node:module";
import * as os from "node:os";
import * as path from "node:path";

export type Sent = { data: Record<string, unknown>; transient: { display_id?: string }; update: boolean };

export function fakeKernel(): { sent: Sent[]; remove: () => void } {
  const key = path.join(os.tmpdir(), "fake-kernel", "tslab", "dist", "jupyter.js");
  const sent: Sent[] = [];
  const mod = new Module(key);
  mod.exports = { lastWriteDisplayData: (msg: Omit<Sent, "update">, update: boolean) => sent.push({ ...msg, update }) };
  require.cache[key] = mod;
  return { sent, remove: () => delete require.cache[key] };
}
