import assert from "node:assert/strict";
import { test } from "node:test";
import { eta, formatDuration, progress, progressLine } from "../lib/progress";
import { fakeKernel } from "./helpers/fake-kernel";

test("formatDuration", () => {
  assert.equal(formatDuration(4.4), "4s");
  assert.equal(formatDuration(125), "2m05s");
  assert.equal(formatDuration(3 * 3600 + 7 * 60 + 9), "3h07m");
  assert.equal(formatDuration(NaN), "?");
});

test("eta extrapolates linearly and is unknown before the first step", () => {
  assert.ok(Number.isNaN(eta({ label: "", done: 0, total: 10, elapsed: 5, extras: {} })));
  assert.equal(eta({ label: "", done: 2, total: 10, elapsed: 5, extras: {} }), 20);
});

test("progressLine shows percent, counts, ETA and extras", () => {
  const s = { label: "train", done: 45, total: 100, elapsed: 90, extras: { loss: 3.21234, step: 45 } };
  assert.equal(progressLine(s), "train 45% 45/100 elapsed 1m30s ETA 1m50s loss=3.212 step=45");
  assert.equal(progressLine({ ...s, done: 100 }, true), "train 100% 100/100 in 1m30s loss=3.212 step=45");
});

test("log mode writes at most one line per interval, plus the final line", () => {
  let t = 0;
  const lines: string[] = [];
  const bar = progress({ total: 10, label: "x", mode: "log", logEverySeconds: 10, now: () => t, write: (l) => lines.push(l) });
  for (let i = 1; i <= 10; i++) {
    t += 3000; // 3 s per step: lines at steps 1, 5 (15 s) and 9 (27 s)
    bar.update(i, { i });
  }
  bar.stop();
  bar.update(11); // ignored after stop
  assert.deepEqual(lines, [
    "x 10% 1/10 elapsed 3s ETA 27s i=1",
    "x 50% 5/10 elapsed 15s ETA 15s i=5",
    "x 90% 9/10 elapsed 27s ETA 3s i=9",
    "x 100% 10/10 in 30s i=10",
  ]);
});

test("in a notebook one display is updated in place, at most twice a second", () => {
  const kernel = fakeKernel();
  try {
    let t = 0;
    const bar = progress({ total: 4, label: "nb", now: () => t });
    for (const [i, ms] of [100, 200, 900, 1000].entries()) {
      t = ms;
      bar.update(i + 1);
    }
    bar.stop();
    // shown at creation, steps 1 (100 ms) and 3 (900 ms), then the final state
    assert.equal(kernel.sent.length, 4);
    const ids = new Set(kernel.sent.map((m) => m.transient.display_id));
    assert.equal(ids.size, 1);
    assert.deepEqual(kernel.sent.map((m) => m.update), [false, true, true, true]);
    assert.equal(kernel.sent[3].data["text/plain"], "nb 100% 4/4 in 1s");
    assert.match(String(kernel.sent[3].data["text/html"]), /<progress value="4" max="4"/);
  } finally {
    kernel.remove();
  }
});
