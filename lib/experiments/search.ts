// Notebook 05 step 1: the best child of each ranking scheme's trained supernet under a parameter budget, by
// supernet-estimated validation loss (lib/nas/search.ts: regularized evolution, and random search with as
// many evaluations as the baseline it has to beat). The supernet is the final one of the ranking run (scheme,
// seed), taken exactly as notebook 01 takes it (ranking.ts rankedSupernet), and every candidate is scored on
// the ranking's scoring batches (the ground truth's `evalBatches`). Each (scheme, seed, budget, method) is
// cached under runs/search/ and committed under data/search/<preset>/, keyed by a config hash that includes
// the ranking run's.
import * as path from "node:path";
import { backendName } from "../backend";
import { codeDigest } from "../code-digest";
import { recomputeRequested } from "../env";
import { readJsonIfExists, writeJsonAtomic } from "../json-file";
import type { MlmData } from "../data";
import { runsPath, tablesPath } from "../paths";
import type { Preset } from "../preset";
import { progress } from "../progress";
import { Rng, seedFrom } from "../rng";
import { checkBudget, randomSearch, regularizedEvolution, type SearchOutcome } from "../nas/search";
import { flops, makeSpace, paramCount, randomArch } from "../nas/space";
import type { Arch, SearchSpace } from "../nas/types";
import { configHash } from "../train/checkpoint";
import { codeVersion, type GroundTruthTable } from "./ground-truth";
import { parseScheme, RANK_PRESETS, rankedSupernet, rankRunHash } from "./ranking";
import { agreement, inFreshRunFolder, readCommittedUnit, type CommittedProvenance, type UnitCheck } from "./verify";

export const SEARCH_METHODS = ["evolution", "random"] as const;
export type SearchMethod = (typeof SEARCH_METHODS)[number];

export interface SearchConfig {
  preset: Preset;
  /** Regularized evolution's population P (also: random search's first P children are the initial population). */
  population: number;
  /** Regularized evolution's tournament size S (drawn with replacement from the population). */
  sampleSize: number;
  /** Child evaluations per search, the initial population included; random search gets as many. */
  evaluations: number;
  /**
   * The default budget (`defaultMaxParams`): this quantile of the parameter counts of uniformly random children.
   * 0.5: the budget excludes half the space, so the search has to trade op sizes rather than take the largest
   * child (which a supernet's loss favours); at small the median (~370k) is also about the size of the
   * hand-designed BERT-style controls (8 sub-layers alternating attention and a 1x FFN: 373,568; 4 sub-layers
   * alternating attention and a 4x FFN plus 4 identities: 372,672).
   */
  budgetQuantile: number;
  /** What notebook 05 searches: these ranking schemes ... */
  schemes: string[];
  /** ... with the supernets of these ranking seeds (RANK_PRESETS[preset].seeds). */
  seeds: number[];
}

/** Schemes of issue 12: the paper's baseline (SPOS) and the three MAGIC variants. */
const SCHEMES = ["uniform", "magic-t", "magic-a", "magic-at"];

/**
 * Per-preset defaults (our choices). S/P = 1/4 as in Real et al.'s large-scale runs (P 100, S 25). small: 400
 * evaluations is 12.5 generations of P 32 after the initial population (see README for the seconds per
 * evaluation); tiny only exercises the code (its space has 10^4 children).
 */
export const SEARCH_PRESETS: Record<Preset, SearchConfig> = {
  tiny: { preset: "tiny", population: 8, sampleSize: 3, evaluations: 24, budgetQuantile: 0.5, schemes: SCHEMES, seeds: [1] },
  small: { preset: "small", population: 32, sampleSize: 8, evaluations: 400, budgetQuantile: 0.5, schemes: SCHEMES, seeds: [1] },
  paper: { preset: "paper", population: 100, sampleSize: 25, evaluations: 2000, budgetQuantile: 0.5, schemes: SCHEMES, seeds: [1] },
};

/** Uniform random children whose sizes define the default budget and the feasible fraction (fixed draws: a stable number). */
const BUDGET_DRAWS = 20_000;

/** Sorted parameter counts of BUDGET_DRAWS fixed uniform random children of `space`. */
function childSizes(space: SearchSpace): number[] {
  const rng = new Rng(seedFrom(0, 0xb0d6e7));
  return Array.from({ length: BUDGET_DRAWS }, () => paramCount(space, randomArch(space, rng))).sort((a, b) => a - b);
}

/** The default budget of `space`: the `budgetQuantile` of its children's parameter counts, rounded up to a multiple of 1000. */
export function defaultMaxParams(config: SearchConfig, space: SearchSpace): number {
  const sizes = childSizes(space);
  const index = Math.min(sizes.length - 1, Math.max(0, Math.ceil(config.budgetQuantile * sizes.length) - 1));
  return Math.ceil(sizes[index] / 1000) * 1000;
}

/** Fraction of uniformly random children of `space` within `maxParams` (over the same fixed draws). */
export function feasibleFraction(space: SearchSpace, maxParams: number): number {
  return childSizes(space).filter((p) => p <= maxParams).length / BUDGET_DRAWS;
}

export interface SearchCandidate {
  arch: Arch;
  id: string;
  /** Validation MLM loss with the supernet's weights, on the ranking's scoring batches (lower is better). */
  estimatedLoss: number;
  params: number;
  flops: number;
}

export interface SearchResult extends CommittedProvenance {
  scheme: string;
  seed: number;
  preset: Preset;
  maxParams: number;
  method: SearchMethod;
  /** Fraction of uniformly random children within `maxParams`. */
  feasibleFraction: number;
  best: SearchCandidate;
  /** Every evaluation in order (0-based `evaluation`); `bestSoFar` is the search curve. */
  history: { evaluation: number; id: string; estimatedLoss: number; params: number; bestSoFar: number }[];
  evaluations: number;
  /** Distinct children scored (repeats are served from the memo). */
  uniqueEvaluations: number;
  /** Wall-clock seconds of the search (not of loading or training the supernet). */
  seconds: number;
  /** The ranking run whose final supernet scored the children; `origin` as ranking.ts RankedSupernet.origin. */
  supernet: { configHash: string; steps: number; origin: string };
  /** Evolution's settings (random search uses `population` only through its shared first draws). */
  search: { population: number; sampleSize: number };
}

/** Where the committed result lives: data/search/<preset>/<scheme>-seed<seed>-p<maxParams>[-random].json. */
export function committedSearchFile(preset: Preset, scheme: string, seed: number, maxParams: number, method: SearchMethod = "evolution"): string {
  return tablesPath("search", preset, `${scheme}-seed${seed}-p${maxParams}${method === "evolution" ? "" : `-${method}`}.json`);
}

/** The command that recomputes and commits one search. */
function rebuildCommand(config: SearchConfig, scheme: string, seed: number, maxParams: number, method: SearchMethod): string {
  return `npm run magic -- search --scheme ${scheme} --preset ${config.preset} --seed ${seed} --max-params ${maxParams} --method ${method} --commit --out <file>`;
}

/** The hash of what a search's numbers depend on: its settings, budget and the ranking run (config, data, scoring batches). */
function searchHash(config: SearchConfig, method: SearchMethod, maxParams: number, rankHash: string): string {
  const settings = method === "evolution" ? { population: config.population, sampleSize: config.sampleSize } : { population: config.population };
  return configHash({ method, ...settings, evaluations: config.evaluations, maxParams, rankHash });
}

/**
 * The search of (scheme, seed) under `maxParams`: the committed result (unless `useCommitted` is false or
 * MAGIC_RECOMPUTE=1; one of another configuration is an error naming the fix), else a cached one under runs/,
 * else computed now on the ranking unit's final supernet. `runRoot` moves the runs (verification uses a fresh
 * one). A budget below the smallest child is a UserError before any supernet is loaded or trained.
 */
export async function searchScheme(
  config: SearchConfig,
  scheme: string,
  seed: number,
  maxParams: number,
  data: MlmData,
  gt: GroundTruthTable,
  options: { method?: SearchMethod; runRoot?: string; useCommitted?: boolean } = {},
): Promise<SearchResult> {
  const method = options.method ?? "evolution";
  parseScheme(scheme);
  const space = makeSpace(config.preset, data.vocabSize);
  checkBudget(space, maxParams, "the parameter budget");
  const rankConfig = RANK_PRESETS[config.preset];
  const hash = searchHash(config, method, maxParams, rankRunHash(rankConfig, scheme, seed, data, gt));
  if (options.useCommitted !== false && !recomputeRequested()) {
    const committed = readCommittedUnit<SearchResult>(committedSearchFile(config.preset, scheme, seed, maxParams, method), hash,
      rebuildCommand(config, scheme, seed, maxParams, method));
    if (committed) return committed;
  }
  const backend = backendName();
  const cacheRoot = options.runRoot ? path.join(options.runRoot, "search") : runsPath("search");
  const cacheFile = path.join(cacheRoot, config.preset, `${scheme}-seed${seed}-p${maxParams}-${method}-${hash}-${codeDigest()}-${backend}.json`);
  const cached = readJsonIfExists<SearchResult>(cacheFile);
  if (cached) return { ...cached, source: "cache" };
  const supernet = await rankedSupernet(rankConfig, scheme, seed, data, gt, { runRoot: options.runRoot });
  try {
    const bar = progress({ total: config.evaluations, label: `${scheme} seed ${seed} ${method} search` });
    const args = {
      space,
      evaluations: config.evaluations,
      seed,
      maxParams,
      score: async (arch: Arch) => {
        const loss = supernet.model.evaluate(arch, supernet.scoring).loss;
        await new Promise((r) => setImmediate(r)); // lets a notebook kernel send its output (and see an interrupt)
        return loss;
      },
      onEvaluation: (step: { evaluation: number; bestSoFar: number }) => bar.update(step.evaluation + 1, { best: step.bestSoFar }),
    };
    const t0 = Date.now();
    const outcome: SearchOutcome = method === "evolution"
      ? await regularizedEvolution({ ...args, population: config.population, sampleSize: config.sampleSize })
      : await randomSearch(args);
    const seconds = (Date.now() - t0) / 1000;
    bar.stop();
    const { best } = outcome;
    const result: SearchResult = {
      scheme,
      seed,
      preset: config.preset,
      maxParams,
      method,
      feasibleFraction: feasibleFraction(space, maxParams),
      best: { arch: best.arch, id: best.id, estimatedLoss: best.score, params: best.params, flops: flops(space, best.arch) },
      history: outcome.history.map((h) => ({ evaluation: h.evaluation, id: h.id, estimatedLoss: h.score, params: h.params, bestSoFar: h.bestSoFar })),
      evaluations: outcome.evaluations,
      uniqueEvaluations: outcome.uniqueEvaluations,
      seconds,
      supernet: { configHash: supernet.rank.configHash, steps: supernet.rank.steps, origin: supernet.origin },
      search: { population: config.population, sampleSize: config.sampleSize },
      configHash: hash,
      codeDigest: codeDigest(),
      backend,
    };
    writeJsonAtomic(cacheFile, result);
    return { ...result, source: "computed" };
  } finally {
    supernet.release();
  }
}

/** Writes `result` as the committed table of its (scheme, seed, budget, method), with the commit it was computed at. */
export function commitSearchResult(result: SearchResult): string {
  const file = committedSearchFile(result.preset, result.scheme, result.seed, result.maxParams, result.method);
  const { source: _source, ...rest } = result;
  writeJsonAtomic(file, { ...rest, codeVersion: codeVersion(), createdAt: new Date().toISOString() }, 1);
  return file;
}

/** What `verifySearch` found: the score differences, and whether the search took the same path. */
export interface SearchCheck extends UnitCheck {
  /** The recomputed search scored the same children in the same order and picked the same best. */
  sameChildren: boolean;
}

/**
 * Recomputes a committed search end to end in a fresh folder (its supernet retrained through the ranking
 * runner, no cache, no committed copy) and compares the best child's and every evaluation's estimated loss
 * (bit-equal on the committed result's backend) and the children scored.
 */
export async function verifySearch(config: SearchConfig, committed: SearchResult, data: MlmData, gt: GroundTruthTable): Promise<SearchCheck> {
  const { scheme, seed, maxParams, method } = committed;
  const { value: fresh, seconds } = await inFreshRunFolder(`search-${scheme}-seed${seed}-p${maxParams}-${method}`, (runRoot) =>
    searchScheme(config, scheme, seed, maxParams, data, gt, { method, runRoot, useCommitted: false }),
  );
  const scores = (r: SearchResult) => [r.best.estimatedLoss, ...r.history.map((h) => h.estimatedLoss)];
  const ids = (r: SearchResult) => [r.best.id, ...r.history.map((h) => h.id)].join(",");
  const sameChildren = ids(committed) === ids(fresh);
  const scoreCheck = agreement(scores(committed), scores(fresh), fresh.backend === committed.backend);
  return { scheme, seed, ...scoreCheck, ok: scoreCheck.ok && sameChildren, sameChildren, seconds };
}
