// Pieces of the compression experiment (issue 14): the parameter counter against a hand count, parameter
// budgets, and the latency table's shape (never its times).
import { before, test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend";
import type { Arch, SearchSpace } from "../lib/nas/types";
import { largestArch, makeSpace, paramCount } from "../lib/nas/space";
import { Supernet } from "../lib/nas/supernet";
import { budgetParams, checkParamBudget, childParamRange, parameterBudgets, smallestArch } from "../lib/nas/budgets";
import { latencyTable, measureLatency } from "../lib/nas/latency";
import { UserError } from "../lib/errors";

/** The small preset's space with the small tokenizer's vocabulary (lib/data DATA_PRESETS.small: 4096). */
const small: SearchSpace = makeSpace("small", 4096);

const sizeOf = (vars: tf.Variable[]) => vars.reduce((n, v) => n + v.size, 0);

before(async () => {
  await initBackend({ quiet: true });
});

test("paramCount against a hand count for two children of the small space, and the supernet's variables", () => {
  // Small space: V = 4096, T = 32, D = 64, 8 sub-layers; ops 0-2 att2/4/8, 3-5 ffn64/128/256, 6-8 conv3/5/7, 9 id.
  assert.deepEqual(small.ops.map((o) => o.name), ["att2", "att4", "att8", "ffn64", "ffn128", "ffn256", "conv3", "conv5", "conv7", "id"]);
  // Shared by every child:
  //   emb/token [4096, 64] = 262,144   emb/pos [32, 64] = 2,048   emb/ln gamma + beta = 128
  //   head/dense/w [64, 64] = 4,096 + head/dense/b [64] = 64   head/ln = 128   head/bias [4096] = 4,096
  //   (the output projection is tied to emb/token)                                      total 272,704
  const shared = 262_144 + 2_048 + 128 + 4_096 + 64 + 128 + 4_096;
  // Per sub-layer (each block owns its post-LN LayerNorm, gamma + beta = 128):
  //   attention (any head count): q, k, v, out [64, 64] + [64] each = 4 * 4,160 = 16,640, + LN = 16,768
  //   ffn256: w1 [64, 256] = 16,384 + b1 [256] + w2 [256, 64] = 16,384 + b2 [64] + LN = 33,216
  //   ffn128: 8,192 + 128 + 8,192 + 64 + 128 = 16,704     ffn64: 4,096 + 64 + 4,096 + 64 + 128 = 8,448
  //   conv3: depthwise [3, 64] = 192 + [64], pointwise [64, 64] = 4,096 + [64], LN = 4,544
  //   conv7: 448 + 64 + 4,096 + 64 + 128 = 4,800     identity: 0
  const att = 4 * (64 * 64 + 64) + 128;
  const ffn = (i: number) => 64 * i + i + i * 64 + 64 + 128;
  const conv = (k: number) => k * 64 + 64 + 64 * 64 + 64 + 128;
  assert.deepEqual([shared, att, ffn(256), ffn(128), ffn(64), conv(3), conv(7)], [272_704, 16_768, 33_216, 16_704, 8_448, 4_544, 4_800]);
  // Child A: att2 ffn256 conv3 id att4 ffn128 conv7 ffn64
  //   272,704 + 16,768 + 33,216 + 4,544 + 0 + 16,768 + 16,704 + 4,800 + 8,448 = 373,952
  const childA: Arch = [0, 5, 6, 9, 1, 4, 8, 3];
  // Child B, the largest: ffn256 at all 8 layers: 272,704 + 8 * 33,216 = 538,432
  const childB: Arch = [5, 5, 5, 5, 5, 5, 5, 5];
  assert.deepEqual(largestArch(small), childB);
  const hand = { A: 373_952, B: 538_432 };
  assert.equal(shared + att + ffn(256) + conv(3) + 0 + att + ffn(128) + conv(7) + ffn(64), hand.A);
  assert.equal(shared + 8 * ffn(256), hand.B);
  assert.equal(paramCount(small, childA), hand.A);
  assert.equal(paramCount(small, childB), hand.B);
  const supernet = new Supernet({ space: small, seed: 0 });
  assert.equal(sizeOf(supernet.trainableVariables(childA)), hand.A);
  assert.equal(sizeOf(supernet.trainableVariables(childB)), hand.B);
  supernet.dispose();
  const standalone = new Supernet({ space: small, seed: 0, only: childA });
  assert.equal(sizeOf([...standalone.namedVariables().values()]), hand.A, "a standalone child holds exactly its own parameters");
  standalone.dispose();
});

test("childParamRange and parameterBudgets on the small space: five budgets from 15 % to 100 % of the largest child", () => {
  const total = childParamRange(small, "total");
  assert.deepEqual(total.smallest, { arch: Array(8).fill(9), params: 272_704 }); // all identity: the shared part
  assert.deepEqual(total.largest, { arch: Array(8).fill(5), params: 538_432 });
  const sub = childParamRange(small, "sublayers");
  assert.equal(sub.smallest.params, 0);
  assert.equal(sub.largest.params, 8 * 33_216);
  assert.equal(budgetParams(small, [0, 5, 6, 9, 1, 4, 8, 3]), 373_952 - 272_704);

  const budgets = parameterBudgets(small);
  assert.deepEqual(
    budgets.map((b) => [b.fraction, b.maxParams]),
    [[0.15, 39_859], [0.3, 79_718], [0.5, 132_864], [0.75, 199_296], [1, 265_728]], // floor(f * 265,728)
  );
  assert.ok(budgets.every((b) => b.counting === "sublayers"));
  // In total parameters the shared 272,704 are 50.6 % of the largest child: half is below every child.
  assert.deepEqual(parameterBudgets(small, [0.6, 1], "total").map((b) => b.maxParams), [323_059, 538_432]);
  assert.throws(
    () => parameterBudgets(small, [0.5, 1], "total"),
    (e: Error) => e instanceof UserError && /budget 269216 \(total\) is below the smallest child .* 272704 parameters/.test(e.message),
  );
});

test("a budget below the smallest child is a UserError naming the smallest size", () => {
  const noIdentity: SearchSpace = { ...small, id: "small-no-id", ops: small.ops.filter((o) => o.kind !== "identity") };
  assert.deepEqual(smallestArch(noIdentity), Array(8).fill(6)); // conv3, 4,544 parameters per layer
  assert.equal(childParamRange(noIdentity).smallest.params, 8 * 4_544);
  checkParamBudget(noIdentity, 36_352); // exactly the smallest child: allowed
  assert.throws(() => checkParamBudget(noIdentity, 36_351), (e: Error) => e instanceof UserError && /at least 36352/.test(e.message));
  assert.throws(() => parameterBudgets(noIdentity, [0.1, 1]), /budget 26572 \(sublayers\) is below the smallest child of space small-no-id, 36352/);
  assert.throws(() => checkParamBudget(small, -1), UserError);
  assert.throws(() => parameterBudgets(small, []), /at least one fraction/);
  assert.throws(() => parameterBudgets(small, [0, 1.2]), /fractions must be in \(0, 1\], got 0, 1.2/);
});

test("latencyTable: one row per child in order, positive times, the median of the repeats, no tensor left", () => {
  const tiny = makeSpace("tiny", 1024);
  const archs: Arch[] = [[0, 3, 6, 9], [9, 9, 9, 9]];
  const before = tf.memory().numTensors;
  const rows = latencyTable(tiny, archs, { batchSize: 4, warmup: 1, repeats: 3 });
  assert.equal(tf.memory().numTensors, before);
  assert.deepEqual(rows.map((r) => r.archId), ["att2-ffn32-conv3-id", "id-id-id-id"]);
  for (const [i, r] of rows.entries()) {
    assert.deepEqual(r.arch, archs[i]);
    assert.equal(r.params, paramCount(tiny, archs[i]));
    assert.deepEqual([r.batchSize, r.seqLen, r.backend], [4, tiny.seqLen, tf.getBackend()]);
    assert.equal(r.samplesMs.length, 3);
    assert.ok(r.samplesMs.every((ms) => ms > 0 && Number.isFinite(ms)), `${r.samplesMs}`);
    assert.equal(r.medianMs, [...r.samplesMs].sort((a, b) => a - b)[1]);
  }
  const one = measureLatency(tiny, archs[0], { batchSize: 2, seqLen: 16, warmup: 0, repeats: 2 });
  assert.deepEqual([one.batchSize, one.seqLen, one.samplesMs.length], [2, 16, 2]);
  assert.equal(one.medianMs, (one.samplesMs[0] + one.samplesMs[1]) / 2);
  assert.throws(() => latencyTable(tiny, archs, { repeats: 0 }), /repeats must be an integer >= 1/);
  assert.throws(() => latencyTable(tiny, archs, { seqLen: 64 }), /exceeds the space's 32 positions/);
  assert.throws(() => latencyTable(tiny, [[0, 1]]), /arch has 2 layers/);
});
