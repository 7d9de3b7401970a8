// Architecture search under a parameter budget: regularized evolution (Real et al. 2019, "Regularized
// Evolution for Image Classifier Architecture Search") and a random-search baseline with the same number of
// evaluations. Space-agnostic: children are `Arch` choice lists of any ArchSpace (BERT, CNN), the score is any
// function of a child (lower is better), e.g. the supernet's validation loss. Deterministic for a seed;
// scores are memoized by arch id, so a child met twice is scored once (both counts are reported).
import { UserError } from "../errors";
import { Rng, seedFrom } from "../rng";
import { randomChild, smallestChild } from "./arch-space";
import type { Arch, ArchSpace } from "./types";

/** What both searches take. */
export interface SearchArgs {
  /** The space searched (its choices per layer and parameter counts). */
  space: ArchSpace;
  /** Evaluations in all (the initial population's included); a memoized repeat counts as one. */
  evaluations: number;
  /** Seed of every random choice (initial draws, tournaments, mutations). */
  seed: number;
  /** Budget: only children with space.paramCount(arch) <= maxParams are drawn, mutated to or scored. */
  maxParams: number;
  /** The child's score, lower is better (called once per distinct child; may be async to let a notebook breathe). */
  score: (arch: Arch) => number | Promise<number>;
  /** Hears every evaluation as it is recorded (progress bars). */
  onEvaluation?: (entry: SearchStep) => void;
}

/** Regularized evolution's own settings. */
export interface EvolutionArgs extends SearchArgs {
  /** P: the population, the oldest of which dies at every step (first filled with random feasible children). */
  population: number;
  /** S: children drawn (with replacement, as in Real et al.'s code) from the population; the best is the parent. */
  sampleSize: number;
}

/** One evaluation of a search, in order. */
export interface SearchStep {
  /** 0-based position in the search. */
  evaluation: number;
  arch: Arch;
  id: string;
  score: number;
  params: number;
  /** The lowest score of evaluations 0..evaluation. */
  bestSoFar: number;
}

export interface SearchOutcome {
  /** The lowest-scored child (the earliest on ties). */
  best: SearchStep;
  history: SearchStep[];
  evaluations: number;
  /** Distinct children scored (the rest were served from the memo). */
  uniqueEvaluations: number;
}

/** Random draws per feasible child before the initial sampling gives up (the budget is too tight to hit by chance). */
export const MAX_DRAWS_PER_CHILD = 100_000;

/** Parameters of the smallest child of `space`: the smallest op at every sub-layer. */
export function smallestParamCount(space: ArchSpace): number {
  return space.paramCount(smallestChild(space));
}

/** Throws a UserError naming the smallest child's size unless some child of `space` fits in `maxParams`. */
export function checkBudget(space: ArchSpace, maxParams: number, flag = "maxParams"): void {
  const smallest = smallestParamCount(space);
  if (!(maxParams >= smallest)) {
    throw new UserError(`${flag} ${maxParams} is below the smallest child of space ${space.id} (${smallest} parameters: ` +
      `the smallest op at each of its ${space.choices.length} sub-layers plus ${space.sharedParams} shared); use ${flag} >= ${smallest}`);
  }
}

function checkArgs(args: SearchArgs): void {
  if (!Number.isInteger(args.evaluations) || args.evaluations < 1) throw new Error(`search: evaluations must be an integer >= 1, got ${args.evaluations}`);
  checkBudget(args.space, args.maxParams);
}

/** Records evaluations in order, scoring each distinct child once. */
class Recorder {
  readonly history: SearchStep[] = [];
  private readonly memo = new Map<string, number>();

  constructor(private readonly args: SearchArgs) {}

  get done(): boolean {
    return this.history.length >= this.args.evaluations;
  }

  async evaluate(arch: Arch): Promise<SearchStep> {
    const { space } = this.args;
    const id = space.archId(arch);
    let score = this.memo.get(id);
    if (score === undefined) {
      score = await this.args.score(arch);
      if (!Number.isFinite(score)) throw new Error(`search: the score of ${id} is ${score}; scores must be finite numbers`);
      this.memo.set(id, score);
    }
    const previous = this.history.at(-1)?.bestSoFar ?? Infinity;
    const step: SearchStep = { evaluation: this.history.length, arch: [...arch], id, score, params: space.paramCount(arch), bestSoFar: Math.min(previous, score) };
    this.history.push(step);
    this.args.onEvaluation?.(step);
    return step;
  }

  outcome(): SearchOutcome {
    const best = this.history.reduce((a, b) => (b.score < a.score ? b : a));
    return { best, history: this.history, evaluations: this.history.length, uniqueEvaluations: this.memo.size };
  }
}

/**
 * A uniformly random child among those within the budget (rejection sampling); a clear error when
 * MAX_DRAWS_PER_CHILD draws find none, naming the smallest child's size.
 */
export function randomFeasibleArch(space: ArchSpace, maxParams: number, rng: Rng): Arch {
  for (let draw = 0; draw < MAX_DRAWS_PER_CHILD; draw++) {
    const arch = randomChild(space, rng);
    if (space.paramCount(arch) <= maxParams) return arch;
  }
  throw new UserError(`no child of space ${space.id} within ${maxParams} parameters in ${MAX_DRAWS_PER_CHILD} random draws: the budget is too tight ` +
    `to sample from (the smallest child has ${smallestParamCount(space)} parameters); raise the budget`);
}

/**
 * `parent` with exactly one sub-layer changed to another op, uniformly among the changes that stay within the
 * budget (the same law as redrawing a uniform (layer, op) change until it fits, without the loop). When no
 * change fits (the parent is the only child within the budget), the parent itself.
 */
export function mutateWithinBudget(space: ArchSpace, parent: Arch, maxParams: number, rng: Rng): Arch {
  const base = space.paramCount(parent);
  const changes: [number, number][] = [];
  parent.forEach((current, layer) => {
    for (let i = 0; i < space.choices[layer]; i++) {
      const params = base - space.opParams(layer, current) + space.opParams(layer, i);
      if (i !== current && params <= maxParams) changes.push([layer, i]);
    }
  });
  if (changes.length === 0) return [...parent];
  const [layer, op] = rng.choice(changes);
  const child = [...parent];
  child[layer] = op;
  return child;
}

/** The stream every search draws its initial children from: evolution's initial population is random search's first P children. */
const DRAW_SALT = 0x5ea7c4;

/**
 * Regularized evolution (Real et al. 2019): fill the population with P random feasible children; then, until
 * `evaluations` are done, draw S members with replacement, mutate the best of them in one sub-layer (within
 * the budget), score the child, add it and remove the oldest member. Returns the best child ever scored.
 */
export async function regularizedEvolution(args: EvolutionArgs): Promise<SearchOutcome> {
  checkArgs(args);
  if (!Number.isInteger(args.population) || args.population < 1) throw new Error(`regularizedEvolution: population must be an integer >= 1, got ${args.population}`);
  if (!Number.isInteger(args.sampleSize) || args.sampleSize < 1) throw new Error(`regularizedEvolution: sampleSize must be an integer >= 1, got ${args.sampleSize}`);
  const { space, maxParams } = args;
  const draws = new Rng(seedFrom(args.seed, DRAW_SALT));
  const evolution = new Rng(seedFrom(args.seed, DRAW_SALT, 1));
  const recorder = new Recorder(args);
  const population: SearchStep[] = [];
  while (population.length < args.population && !recorder.done) population.push(await recorder.evaluate(randomFeasibleArch(space, maxParams, draws)));
  while (!recorder.done) {
    let parent = evolution.choice(population);
    for (let i = 1; i < args.sampleSize; i++) {
      const contender = evolution.choice(population);
      if (contender.score < parent.score) parent = contender;
    }
    population.push(await recorder.evaluate(mutateWithinBudget(space, parent.arch, maxParams, evolution)));
    population.shift();
  }
  return recorder.outcome();
}

/** The baseline: `evaluations` random feasible children (the same draws as evolution's initial population, then more). */
export async function randomSearch(args: SearchArgs): Promise<SearchOutcome> {
  checkArgs(args);
  const draws = new Rng(seedFrom(args.seed, DRAW_SALT));
  const recorder = new Recorder(args);
  while (!recorder.done) await recorder.evaluate(randomFeasibleArch(args.space, args.maxParams, draws));
  return recorder.outcome();
}
