// Architecture search (lib/nas/search.ts, lib/experiments/search.ts): regularized evolution on synthetic scores
// with a known optimum, budget feasibility of everything drawn, mutated, scored and returned, determinism per
// seed, memoization counts, the too-small-budget errors; then a tiny end-to-end search of a ranking run's
// supernet: committed, loaded back, verified by a fresh recompute (bit-equal), a stale one an error naming the
// rebuild. Runs and tables go to temp folders (MAGIC_RUNS_DIR, MAGIC_TABLES_DIR), never into the checkout.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { UserError } from "../lib/errors";
import { Rng } from "../lib/rng";
import { archId, bertArchSpace, makeSpace, parseArch, paramCount, sharedParamCount } from "../lib/nas/space";
import type { Arch } from "../lib/nas/types";
import {
  checkBudget, MAX_DRAWS_PER_CHILD, mutateWithinBudget, randomFeasibleArch, randomSearch, regularizedEvolution, smallestParamCount, type SearchArgs,
} from "../lib/nas/search";
import {
  commitSearchResult, committedSearchFile, defaultMaxParams, feasibleFraction, SEARCH_PRESETS, searchScheme, verifySearch,
} from "../lib/experiments/search";
import { RANK_PRESETS, rankedSupernet } from "../lib/experiments/ranking";
import { useTinyTables } from "./helpers/tiny-tables";

const space = makeSpace("tiny", 1024); // 4 sub-layers x 10 ops: small enough to enumerate
const allChildren: Arch[] = Array.from({ length: space.ops.length ** space.layers }, (_, n) =>
  Array.from({ length: space.layers }, (_, l) => Math.floor(n / space.ops.length ** l) % space.ops.length));

/** A synthetic score: the number of sub-layers that differ from `target` (one improving change is always feasible when the target is). */
const distanceTo = (target: Arch) => (arch: Arch) => arch.reduce((d, op, l) => d + (op === target[l] ? 0 : 1), 0);

// The target sits exactly at the budget (which excludes ~40 % of the space), so growing any of its layers leaves it.
const target = parseArch(space, "ffn128-att4-conv3-id");
const atTarget = paramCount(space, target);

function args(overrides: Partial<SearchArgs> = {}): SearchArgs & { population: number; sampleSize: number } {
  return { space: bertArchSpace(space), evaluations: 200, seed: 1, maxParams: atTarget, score: distanceTo(target), population: 16, sampleSize: 4, ...overrides };
}

test("evolution finds the known optimum within the budget and never draws, scores or returns an infeasible child", async () => {
  const feasible = allChildren.filter((a) => paramCount(space, a) <= atTarget);
  assert.ok(feasible.length > 100 && feasible.length < 0.8 * allChildren.length, `the budget excludes part of the space (${feasible.length} fit)`);
  const optimum = feasible.filter((a) => distanceTo(target)(a) === 0);
  assert.deepEqual(optimum, [target], "brute force: one optimum");
  const unconstrained = allChildren.filter((a) => distanceTo(target)(a) <= 1 && paramCount(space, a) > atTarget);
  assert.ok(unconstrained.length > 0, "the optimum has infeasible neighbours");

  // No elites: aging can drift a population of ties away from a near-optimum (seen with 200 evaluations), so 600.
  for (const seed of [1, 2, 3]) {
    const scored: Arch[] = [];
    const outcome = await regularizedEvolution(args({ seed, evaluations: 600, score: (a) => (scored.push(a), distanceTo(target)(a)) }));
    assert.deepEqual(outcome.best.arch, target, `seed ${seed}`);
    assert.equal(outcome.best.score, 0);
    for (const a of scored) assert.ok(paramCount(space, a) <= atTarget, `scored ${archId(space, a)} over the budget`);
    for (const h of outcome.history) {
      assert.ok(h.params <= atTarget);
      assert.equal(h.params, paramCount(space, h.arch));
    }
    assert.deepEqual(outcome.history.map((h) => h.bestSoFar), outcome.history.map((_, i) => Math.min(...outcome.history.slice(0, i + 1).map((h) => h.score))));
    assert.equal(outcome.best.evaluation, outcome.history.findIndex((h) => h.score === 0), "the earliest of the best");

    const random = await randomSearch(args({ seed, evaluations: 600 }));
    assert.deepEqual(random.history.slice(0, 16).map((h) => h.id), outcome.history.slice(0, 16).map((h) => h.id), "random search starts with evolution's initial population");
    for (const h of random.history) assert.ok(h.params <= atTarget);
  }
});

test("mutations change exactly one sub-layer and stay within the budget; a budget only the parent meets keeps the parent", () => {
  const rng = new Rng(5);
  for (let i = 0; i < 200; i++) {
    const parent = randomFeasibleArch(bertArchSpace(space), atTarget, rng);
    const child = mutateWithinBudget(bertArchSpace(space), parent, atTarget, rng);
    assert.equal(child.filter((op, l) => op !== parent[l]).length, 1);
    assert.ok(paramCount(space, child) <= atTarget);
  }
  const smallest = smallestParamCount(bertArchSpace(space));
  const only = parseArch(space, "id-id-id-id");
  assert.equal(paramCount(space, only), smallest);
  assert.deepEqual(mutateWithinBudget(bertArchSpace(space), only, smallest, rng), only);
});

test("same seed, same search; another seed, another search", async () => {
  const a = await regularizedEvolution(args({ seed: 3 }));
  const b = await regularizedEvolution(args({ seed: 3 }));
  const c = await regularizedEvolution(args({ seed: 4 }));
  assert.deepEqual(a, b);
  assert.notDeepEqual(a.history.map((h) => h.id), c.history.map((h) => h.id));
  assert.deepEqual((await randomSearch(args({ seed: 3 }))).history, (await randomSearch(args({ seed: 3 }))).history);
});

test("scores are memoized by arch id: every evaluation counts, each distinct child is scored once", async () => {
  let calls = 0;
  const outcome = await regularizedEvolution(args({ score: (a) => (calls++, distanceTo(target)(a)) }));
  assert.equal(outcome.evaluations, 200);
  assert.equal(outcome.history.length, 200);
  assert.equal(outcome.uniqueEvaluations, calls);
  assert.equal(outcome.uniqueEvaluations, new Set(outcome.history.map((h) => h.id)).size);
  assert.ok(outcome.uniqueEvaluations < outcome.evaluations, "a converged population proposes children it has seen");
  // at the smallest budget one child fits: scored once, evaluated every time
  const one = await regularizedEvolution(args({ maxParams: smallestParamCount(bertArchSpace(space)), evaluations: 20 }));
  assert.equal(one.uniqueEvaluations, 1);
  assert.equal(one.evaluations, 20);
});

test("a budget no child meets names the smallest child; one too tight to sample says so", async () => {
  const smallest = smallestParamCount(bertArchSpace(space));
  assert.equal(smallest, paramCount(space, parseArch(space, "id-id-id-id")));
  const below = `maxParams ${smallest - 1} is below the smallest child of space ${space.id} (${smallest} parameters: the smallest op at each of its 4 sub-layers plus ${sharedParamCount(space)} shared); use maxParams >= ${smallest}`;
  await assert.rejects(regularizedEvolution(args({ maxParams: smallest - 1 })), new UserError(below));
  await assert.rejects(randomSearch(args({ maxParams: smallest - 1 })), new UserError(below));
  assert.throws(() => checkBudget(bertArchSpace(space), 10, "--max-params"), /^UserError: --max-params 10 is below .* use --max-params >= 36000$/);
  // small: only the all-identity child (1 in 10^8) fits the smallest budget
  const small = makeSpace("small", 4096);
  assert.throws(() => randomFeasibleArch(bertArchSpace(small), smallestParamCount(bertArchSpace(small)), new Rng(1)),
    new UserError(`no child of space ${small.id} within ${smallestParamCount(bertArchSpace(small))} parameters in ${MAX_DRAWS_PER_CHILD} random draws: ` +
      `the budget is too tight to sample from (the smallest child has ${smallestParamCount(bertArchSpace(small))} parameters); raise the budget`));
});

test("the default budget is the median child size, rounded up to 1000", () => {
  const small = makeSpace("small", 4096);
  const budget = defaultMaxParams(SEARCH_PRESETS.small, bertArchSpace(small));
  assert.equal(budget % 1000, 0);
  const fraction = feasibleFraction(bertArchSpace(small), budget);
  assert.ok(fraction >= 0.5 && fraction < 0.55, `fraction ${fraction}`);
  const tinyBudget = defaultMaxParams(SEARCH_PRESETS.tiny, bertArchSpace(space));
  const exact = allChildren.filter((a) => paramCount(space, a) <= tinyBudget).length / allChildren.length;
  assert.ok(Math.abs(exact - feasibleFraction(bertArchSpace(space), tinyBudget)) < 0.02, "the fixed draws estimate the exact fraction");
});

const tables = useTinyTables("magic-search-");

test("end to end at tiny: a ranking supernet's best child under the budget, committed, loaded, verified bit-equal", async () => {
  const config = SEARCH_PRESETS.tiny;
  const tinySpace = makeSpace("tiny", tables.data.vocabSize);
  const maxParams = defaultMaxParams(config, bertArchSpace(tinySpace));
  const before = tf.memory().numTensors;
  const result = await searchScheme(config, "magic-at", 1, maxParams, tables.data, tables.gt);
  assert.equal(tf.memory().numTensors, before, "no tensor leaked");
  assert.equal(result.source, "computed");
  assert.equal(result.method, "evolution");
  assert.equal(result.history.length, config.evaluations);
  assert.equal(result.evaluations, config.evaluations);
  assert.ok(result.uniqueEvaluations <= result.evaluations && result.uniqueEvaluations > config.population / 2);
  assert.ok(result.history.every((h) => h.params <= maxParams));
  assert.ok(result.best.params <= maxParams);
  assert.equal(result.best.estimatedLoss, Math.min(...result.history.map((h) => h.estimatedLoss)));
  assert.equal(result.history.at(-1)!.bestSoFar, result.best.estimatedLoss);
  assert.equal(result.supernet.steps, RANK_PRESETS.tiny.steps);
  assert.equal(result.supernet.origin, "trained");
  assert.deepEqual(result.search, { population: config.population, sampleSize: config.sampleSize });

  // the estimate is the ranking supernet's validation loss on the ranking's scoring batches
  const supernet = await rankedSupernet(RANK_PRESETS.tiny, "magic-at", 1, tables.data, tables.gt);
  assert.equal(supernet.scoring.length, tables.gt.config.evalBatches);
  assert.equal(supernet.model.evaluate(result.best.arch, supernet.scoring).loss, result.best.estimatedLoss);
  supernet.release();

  const cached = await searchScheme(config, "magic-at", 1, maxParams, tables.data, tables.gt);
  assert.equal(cached.source, "cache");
  assert.deepEqual(cached.history, result.history);

  const random = await searchScheme(config, "magic-at", 1, maxParams, tables.data, tables.gt, { method: "random" });
  assert.equal(random.method, "random");
  assert.equal(random.history.length, config.evaluations);
  assert.deepEqual(random.history.slice(0, config.population), result.history.slice(0, config.population), "shared initial draws, same scores");

  const file = commitSearchResult(result);
  assert.equal(file, path.join(tables.scratch, "tables", "search", "tiny", `magic-at-seed1-p${maxParams}.json`));
  assert.equal(commitSearchResult(random), committedSearchFile("tiny", "magic-at", 1, maxParams, "random"));
  fs.rmSync(path.join(tables.scratch, "runs"), { recursive: true, force: true }); // no cache left: only the table can serve it
  const loaded = await searchScheme(config, "magic-at", 1, maxParams, tables.data, tables.gt);
  assert.equal(loaded.source, "committed");
  assert.deepEqual(loaded.history, result.history);
  assert.equal(fs.existsSync(path.join(tables.scratch, "runs", "rank")), false, "nothing was trained");

  const check = await verifySearch(config, loaded, tables.data, tables.gt);
  assert.equal(check.tolerance, 0);
  assert.equal(check.maxAbsDiff, 0);
  assert.ok(check.sameChildren);
  assert.ok(check.ok);
  const tampered = structuredClone(loaded);
  tampered.history[3].estimatedLoss += 1e-7;
  assert.equal((await verifySearch(config, tampered, tables.data, tables.gt)).ok, false, "a changed number fails the check");
});

test("a committed search of another configuration is an error naming the command that rebuilds it; a budget below the smallest child fails before training", async () => {
  const config = SEARCH_PRESETS.tiny;
  const file = committedSearchFile("tiny", "uniform", 2, 50000);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify({ configHash: "0000", history: [] }));
  await assert.rejects(searchScheme(config, "uniform", 2, 50000, tables.data, tables.gt),
    /was computed for config hash 0000.*search --scheme uniform --preset tiny --seed 2 --max-params 50000 --method evolution --commit --out <file>/);
  await assert.rejects(searchScheme(config, "uniform", 2, 1000, tables.data, tables.gt), (e: Error) => e instanceof UserError && /smallest child .* use the parameter budget >= /.test(e.message));
  await assert.rejects(searchScheme(config, "spos", 2, 50000, tables.data, tables.gt), /unknown scheme 'spos'/);
  assert.equal(fs.existsSync(path.join(tables.scratch, "runs", "rank", "tiny")) && fs.readdirSync(path.join(tables.scratch, "runs", "rank", "tiny")).some((d) => d.startsWith("uniform-seed2-")), false, "nothing trained");
});
