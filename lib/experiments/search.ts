// Notebook 05 step 1 (and notebook 06's FLOPs-budget search): the best child of each ranking scheme's trained
// supernet under a parameter budget or a FLOPs budget (lib/nas/search.ts Budget), by
// supernet-estimated validation loss (lib/nas/search.ts: regularized evolution, and random search with as
// many evaluations as the baseline it has to beat). The supernet is the final one of the ranking run (scheme,
// seed), taken exactly as notebook 01 takes it (ranking.ts rankedSupernet), and every candidate is scored on
// the ranking's scoring batches (the ground truth's `evalBatches`). Each (scheme, seed, budget, method) is
// cached under runs/search/ and committed under data/search/<preset>/ (CNN: cnn-<preset>/), keyed by a config
// hash that includes the ranking run's. A parameter budget's hash and file name are as before FLOPs budgets.
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
import { asBudget, budgetCost, budgetUnit, checkBudget, randomSearch, regularizedEvolution, type Budget, type BudgetMeasure, type SearchOutcome } from "../nas/search";
import { randomChild } from "../nas/arch-space";
import type { Arch, ArchSpace } from "../nas/types";
import { configHash } from "../train/checkpoint";
import { codeVersion, spaceFlag, type GroundTruthTable } from "./ground-truth";
import { parseScheme, rankedSupernet, rankPresets, rankRunHash, type RankedSupernet } from "./ranking";
import { kitFor, spaceDir, type AnyKit, type SpaceConfig } from "./kit";
import { agreement, computedHere, inFreshRunFolder, readCommittedUnit, type CommittedProvenance, type UnitCheck } from "./verify";

export const SEARCH_METHODS = ["evolution", "random"] as const;
export type SearchMethod = (typeof SEARCH_METHODS)[number];

export interface SearchConfig extends SpaceConfig {
  /** Regularized evolution's population P (also: random search's first P children are the initial population). */
  population: number;
  /** Regularized evolution's tournament size S (drawn with replacement from the population). */
  sampleSize: number;
  /** Child evaluations per search, the initial population included; random search gets as many. */
  evaluations: number;
  /**
   * The default budget (`defaultBudget`): this quantile of the budget measure over uniformly random children, the
   * measure being the parameter count for the BERT space and the forward FLOPs for the CNN space (the issue's
   * "best child under a FLOPs budget"; `--max-params` still searches a CNN under a parameter budget).
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

/**
 * The CNN space's searches (our choices): the issue's four schemes; tiny exercises the code. The default budget is
 * the median FLOPs of uniformly random children (budgetQuantile 0.5 of their FLOPs; defaultBudget).
 */
export const CNN_SEARCH_PRESETS: Record<Preset, SearchConfig> = {
  tiny: { ...SEARCH_PRESETS.tiny, space: "cnn" },
  small: { ...SEARCH_PRESETS.small, space: "cnn" },
  paper: { ...SEARCH_PRESETS.paper, space: "cnn" },
};

/** The search presets of a space. */
export function searchPresets(config: { space?: "cnn" }): Record<Preset, SearchConfig> {
  return config.space === "cnn" ? CNN_SEARCH_PRESETS : SEARCH_PRESETS;
}

/** Uniform random children whose sizes define the default budget and the feasible fraction (fixed draws: a stable number). */
const BUDGET_DRAWS = 20_000;

/** Sorted `measure` (parameters, FLOPs) of BUDGET_DRAWS fixed uniform random children of `space`. */
function childSizes(space: ArchSpace, measure: BudgetMeasure): number[] {
  const rng = new Rng(seedFrom(0, 0xb0d6e7));
  const cost = budgetCost(space, measure);
  return Array.from({ length: BUDGET_DRAWS }, () => cost(randomChild(space, rng))).sort((a, b) => a - b);
}

/** The `budgetQuantile` of `space`'s children's `measure`, rounded up to a multiple of 1000. */
function quantileBudget(config: SearchConfig, space: ArchSpace, measure: BudgetMeasure): number {
  const sizes = childSizes(space, measure);
  const index = Math.min(sizes.length - 1, Math.max(0, Math.ceil(config.budgetQuantile * sizes.length) - 1));
  return Math.ceil(sizes[index] / 1000) * 1000;
}

/** The default parameter budget of `space`: the `budgetQuantile` of its children's parameter counts, rounded up to a multiple of 1000. */
export function defaultMaxParams(config: SearchConfig, space: ArchSpace): number {
  return quantileBudget(config, space, "params");
}

/** The default budget of `config`'s space: parameters for BERT (defaultMaxParams), FLOPs for the CNN space (the same quantile of its children's FLOPs). */
export function defaultBudget(config: SearchConfig, space: ArchSpace): Budget {
  const measure: BudgetMeasure = config.space === "cnn" ? "flops" : "params";
  return { measure, max: quantileBudget(config, space, measure) };
}

/** Fraction of uniformly random children of `space` within the budget (a number: parameters), over the same fixed draws. */
export function feasibleFraction(space: ArchSpace, limit: number | Budget): number {
  const budget = asBudget(limit);
  return childSizes(space, budget.measure).filter((p) => p <= budget.max).length / BUDGET_DRAWS;
}

/** "<= 373568 parameters", "<= 2100000 FLOPs": a budget in prose. */
export function budgetText(limit: number | Budget): string {
  const budget = asBudget(limit);
  return `<= ${budget.max} ${budgetUnit(budget.measure)}`;
}

export interface SearchCandidate {
  arch: Arch;
  id: string;
  /** The ranking key with the supernet's weights on the ranking's scoring batches, lower is better (BERT: validation MLM loss; CNN: test error). */
  estimatedLoss: number;
  params: number;
  flops: number;
}

export interface SearchResult extends CommittedProvenance {
  /** "cnn" for the CNN space; absent for BERT (as results were before spaces existed). */
  space?: "cnn";
  scheme: string;
  seed: number;
  preset: Preset;
  /** The parameter budget (absent when the budget is of FLOPs). */
  maxParams?: number;
  /** The FLOPs budget (absent when the budget is of parameters, as in every BERT search so far). */
  maxFlops?: number;
  method: SearchMethod;
  /** Fraction of uniformly random children within the budget. */
  feasibleFraction: number;
  best: SearchCandidate;
  /** Every evaluation in order (0-based `evaluation`); `bestSoFar` is the search curve. */
  history: { evaluation: number; id: string; estimatedLoss: number; params: number; flops: number; bestSoFar: number }[];
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

/** The budget of a search result. */
export function resultBudget(result: Pick<SearchResult, "maxParams" | "maxFlops">): Budget {
  return result.maxFlops === undefined ? { measure: "params", max: result.maxParams! } : { measure: "flops", max: result.maxFlops };
}

/** The budget as result fields: { maxParams } or { maxFlops }. */
const budgetFields = (budget: Budget) => (budget.measure === "flops" ? { maxFlops: budget.max } : { maxParams: budget.max });

/**
 * Where the committed result lives: data/search/<preset>/<scheme>-seed<seed>-p<maxParams>[-random].json, or
 * -f<maxFlops> for a FLOPs budget (CNN: cnn-<preset>/). A bare preset means BERT; a number budget is of parameters.
 */
export function committedSearchFile(config: Preset | SpaceConfig, scheme: string, seed: number, limit: number | Budget, method: SearchMethod = "evolution"): string {
  const budget = asBudget(limit);
  const tag = `${budget.measure === "flops" ? "f" : "p"}${budget.max}`;
  return tablesPath("search", spaceDir(typeof config === "string" ? { preset: config } : config), `${scheme}-seed${seed}-${tag}${method === "evolution" ? "" : `-${method}`}.json`);
}

/** The command that recomputes and commits one search. */
function rebuildCommand(config: SearchConfig, scheme: string, seed: number, budget: Budget, method: SearchMethod): string {
  const flag = budget.measure === "flops" ? "--max-flops" : "--max-params";
  return `npm run magic -- search --scheme ${scheme} --preset ${config.preset}${spaceFlag(config)} --seed ${seed} ${flag} ${budget.max} --method ${method} --commit --out <file>`;
}

/** The hash of what a search's numbers depend on: its settings, budget and the ranking run (config, data, scoring batches). */
function searchHash(config: SearchConfig, method: SearchMethod, budget: Budget, rankHash: string): string {
  const settings = method === "evolution" ? { population: config.population, sampleSize: config.sampleSize } : { population: config.population };
  return configHash({ method, ...settings, evaluations: config.evaluations, ...budgetFields(budget), rankHash });
}

/** The config hash of the search of (scheme, seed) under `limit` with `method`, without searching (what a committed result must carry). */
export function searchConfigHash(
  config: SearchConfig, scheme: string, seed: number, limit: number | Budget, method: SearchMethod, data: MlmData | AnyKit | undefined, gt: GroundTruthTable,
): string {
  const kit = kitFor(config, data);
  return searchHash(config, method, asBudget(limit), rankRunHash(rankPresets(config)[config.preset], scheme, seed, kit, gt));
}

/**
 * The search of (scheme, seed) under `limit` (a number: a parameter budget): the committed result (unless `useCommitted` is false or
 * MAGIC_RECOMPUTE=1; one of another configuration is an error naming the fix), else a cached one under runs/,
 * else computed now on the ranking unit's final supernet. `runRoot` moves the runs (verification uses a fresh
 * one). A budget below the smallest child is a UserError before any supernet is loaded or trained.
 */
export async function searchScheme(
  config: SearchConfig,
  scheme: string,
  seed: number,
  limit: number | Budget,
  data: MlmData | AnyKit | undefined,
  gt: GroundTruthTable,
  options: { method?: SearchMethod; runRoot?: string; useCommitted?: boolean } = {},
): Promise<SearchResult> {
  const method = options.method ?? "evolution";
  const budget = asBudget(limit);
  parseScheme(scheme);
  const kit = kitFor(config, data);
  const space = kit.archSpace;
  checkBudget(space, budget, budget.measure === "flops" ? "the FLOPs budget" : "the parameter budget");
  const rankConfig = rankPresets(config)[config.preset];
  const hash = searchConfigHash(config, scheme, seed, budget, method, kit, gt);
  if (options.useCommitted !== false && !recomputeRequested()) {
    const committed = readCommittedUnit<SearchResult>(committedSearchFile(config, scheme, seed, budget, method), hash,
      rebuildCommand(config, scheme, seed, budget, method));
    if (committed) return committed;
  }
  const backend = backendName();
  const cacheRoot = options.runRoot ? path.join(options.runRoot, "search") : runsPath("search");
  const tag = `${budget.measure === "flops" ? "f" : "p"}${budget.max}`;
  const cacheFile = path.join(cacheRoot, spaceDir(config), `${scheme}-seed${seed}-${tag}-${method}-${hash}-${codeDigest()}-${backend}.json`);
  const cached = readJsonIfExists<SearchResult>(cacheFile);
  if (cached) return { ...cached, source: "cache" };
  const supernet = (await rankedSupernet(rankConfig, scheme, seed, kit as never, gt, { runRoot: options.runRoot })) as RankedSupernet<unknown, unknown>;
  try {
    const bar = progress({ total: config.evaluations, label: `${scheme} seed ${seed} ${method} search` });
    const args = {
      space,
      evaluations: config.evaluations,
      seed,
      ...budgetFields(budget),
      score: async (arch: Arch) => {
        const loss = supernet.score(arch);
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
      ...(config.space ? { space: config.space } : {}),
      scheme,
      seed,
      preset: config.preset,
      ...budgetFields(budget),
      method,
      feasibleFraction: feasibleFraction(space, budget),
      best: { arch: best.arch, id: best.id, estimatedLoss: best.score, params: best.params, flops: space.flops(best.arch) },
      history: outcome.history.map((h) => ({ evaluation: h.evaluation, id: h.id, estimatedLoss: h.score, params: h.params, flops: h.flops, bestSoFar: h.bestSoFar })),
      evaluations: outcome.evaluations,
      uniqueEvaluations: outcome.uniqueEvaluations,
      seconds,
      supernet: { configHash: supernet.rank.configHash, steps: supernet.rank.steps, origin: supernet.origin },
      search: { population: config.population, sampleSize: config.sampleSize },
      configHash: hash,
      codeDigest: codeDigest(),
      ...computedHere(),
    };
    writeJsonAtomic(cacheFile, result);
    return { ...result, source: "computed" };
  } finally {
    supernet.release();
  }
}

/** Writes `result` as the committed table of its (scheme, seed, budget, method), with the commit it was computed at. */
export function commitSearchResult(result: SearchResult): string {
  const file = committedSearchFile({ preset: result.preset, space: result.space }, result.scheme, result.seed, resultBudget(result), result.method);
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
 * (`agreement`: bit-equal on the committed result's platform) and the children scored.
 */
export async function verifySearch(config: SearchConfig, committed: SearchResult, data: MlmData | AnyKit | undefined, gt: GroundTruthTable): Promise<SearchCheck> {
  const { scheme, seed, method } = committed;
  const budget = resultBudget(committed);
  const { value: fresh, seconds } = await inFreshRunFolder(`search-${scheme}-seed${seed}-${budget.measure}${budget.max}-${method}`, (runRoot) =>
    searchScheme(config, scheme, seed, budget, data, gt, { method, runRoot, useCommitted: false }),
  );
  const scores = (r: SearchResult) => [r.best.estimatedLoss, ...r.history.map((h) => h.estimatedLoss)];
  const ids = (r: SearchResult) => [r.best.id, ...r.history.map((h) => h.id)].join(",");
  const sameChildren = ids(committed) === ids(fresh);
  const scoreCheck = agreement(scores(committed), scores(fresh), committed, fresh);
  return { scheme, seed, ...scoreCheck, ok: scoreCheck.ok && sameChildren, sameChildren, seconds };
}
