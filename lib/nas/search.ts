// Architecture search under a budget of parameters or of forward FLOPs: regularized evolution (Real et al. 2019,
// "Regularized Evolution for Image Classifier Architecture Search") and a random-search baseline with the same
// number of evaluations. Space-agnostic: children are `Arch` choice lists of any ArchSpace (BERT, CNN), the
// budget's measure is ArchSpace.paramCount or ArchSpace.flops (both sums over the layers' choices plus a shared
// part), the score is any function of a child (lower is better), e.g. the supernet's validation loss.
// Deterministic for a seed; scores are memoized by arch id, so a child met twice is scored once (both counts
// are reported).
import { UserError } from "../errors";
import { Rng, seedFrom } from "../rng";
import { randomChild, smallestChild } from "./arch-space";
import type { Arch, ArchSpace } from "./types";

/** What a budget limits: a child's parameters (ArchSpace.paramCount) or its forward FLOPs (ArchSpace.flops). */
export type BudgetMeasure = "params" | "flops";

/** A budget: children with measure(arch) <= max are feasible. */
export interface Budget {
  measure: BudgetMeasure;
  max: number;
}

/** A budget given as a number is a parameter budget (the form every caller used before FLOPs budgets). */
export function asBudget(limit: number | Budget): Budget {
  return typeof limit === "number" ? { measure: "params", max: limit } : limit;
}

/** The measure of `budget` as a function of a child of `space`. */
export function budgetCost(space: ArchSpace, measure: BudgetMeasure): (arch: Arch) => number {
  return measure === "flops" ? (arch) => space.flops(arch) : (arch) => space.paramCount(arch);
}

/** The unit of a measure in messages. */
export const budgetUnit = (measure: BudgetMeasure) => (measure === "flops" ? "FLOPs" : "parameters");

/**
 * The child of `space` with the least `measure`, its value and the child: per layer the cheapest choice with the
 * other layers fixed (exact, since both measures are sums over the layers plus a shared part; the first on ties).
 */
export function cheapestChild(space: ArchSpace, measure: BudgetMeasure): { arch: Arch; cost: number } {
  const cost = budgetCost(space, measure);
  const arch: Arch = space.choices.map(() => 0);
  space.choices.forEach((n, l) => {
    let best = 0, bestCost = Infinity;
    for (let k = 0; k < n; k++) {
      arch[l] = k;
      const c = cost(arch);
      if (c < bestCost) [best, bestCost] = [k, c];
    }
    arch[l] = best;
  });
  return { arch, cost: cost(arch) };
}

/** What both searches take. */
export interface SearchArgs {
  /** The space searched (its choices per layer and parameter counts). */
  space: ArchSpace;
  /** Evaluations in all (the initial population's included); a memoized repeat counts as one. */
  evaluations: number;
  /** Seed of every random choice (initial draws, tournaments, mutations). */
  seed: number;
  /** A parameter budget: only children with space.paramCount(arch) <= maxParams are drawn, mutated to or scored. */
  maxParams?: number;
  /** A FLOPs budget instead (space.flops(arch) <= maxFlops); exactly one of maxParams and maxFlops. */
  maxFlops?: number;
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
  flops: number;
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

/**
 * Throws a UserError naming the smallest child's size unless some child of `space` fits in `limit` (a number:
 * parameters); `flag` names the budget in the message.
 */
export function checkBudget(space: ArchSpace, limit: number | Budget, flag?: string): void {
  const budget = asBudget(limit);
  const name = flag ?? (budget.measure === "flops" ? "maxFlops" : "maxParams");
  if (budget.measure === "flops") {
    const smallest = cheapestChild(space, "flops").cost;
    if (!(budget.max >= smallest)) {
      throw new UserError(`${name} ${budget.max} is below the smallest child of space ${space.id} (${smallest} FLOPs: ` +
        `the op with the fewest FLOPs at each of its ${space.choices.length} sub-layers plus the fixed layers'); use ${name} >= ${smallest}`);
    }
    return;
  }
  const smallest = smallestParamCount(space);
  if (!(budget.max >= smallest)) {
    throw new UserError(`${name} ${budget.max} is below the smallest child of space ${space.id} (${smallest} parameters: ` +
      `the smallest op at each of its ${space.choices.length} sub-layers plus ${space.sharedParams} shared); use ${name} >= ${smallest}`);
  }
}

/** The budget of `args` (exactly one of maxParams and maxFlops). */
export function searchBudget(args: Pick<SearchArgs, "maxParams" | "maxFlops">): Budget {
  if ((args.maxParams === undefined) === (args.maxFlops === undefined)) {
    throw new UserError("a search takes one budget: give maxParams (--max-params) or maxFlops (--max-flops), not both or neither");
  }
  return args.maxFlops === undefined ? { measure: "params", max: args.maxParams! } : { measure: "flops", max: args.maxFlops };
}

function checkArgs(args: SearchArgs): Budget {
  if (!Number.isInteger(args.evaluations) || args.evaluations < 1) throw new Error(`search: evaluations must be an integer >= 1, got ${args.evaluations}`);
  const budget = searchBudget(args);
  checkBudget(args.space, budget);
  return budget;
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
    const step: SearchStep = {
      evaluation: this.history.length, arch: [...arch], id, score, params: space.paramCount(arch), flops: space.flops(arch), bestSoFar: Math.min(previous, score),
    };
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
 * A uniformly random child among those within the budget (`limit`; a number: parameters) by rejection sampling;
 * a clear error when MAX_DRAWS_PER_CHILD draws find none, naming the smallest child's size.
 */
export function randomFeasibleArch(space: ArchSpace, limit: number | Budget, rng: Rng): Arch {
  const budget = asBudget(limit);
  const cost = budgetCost(space, budget.measure);
  for (let draw = 0; draw < MAX_DRAWS_PER_CHILD; draw++) {
    const arch = randomChild(space, rng);
    if (cost(arch) <= budget.max) return arch;
  }
  const unit = budgetUnit(budget.measure);
  throw new UserError(`no child of space ${space.id} within ${budget.max} ${unit} in ${MAX_DRAWS_PER_CHILD} random draws: the budget is too tight ` +
    `to sample from (the smallest child has ${cheapestChild(space, budget.measure).cost} ${unit}); raise the budget`);
}

/**
 * `parent` with exactly one sub-layer changed to another op, uniformly among the changes that stay within the
 * budget (`limit`; a number: parameters): the same law as redrawing a uniform (layer, op) change until it fits,
 * without the loop. When no change fits (the parent is the only child within the budget), the parent itself.
 */
export function mutateWithinBudget(space: ArchSpace, parent: Arch, limit: number | Budget, rng: Rng): Arch {
  const budget = asBudget(limit);
  const cost = budgetCost(space, budget.measure);
  const changes: [number, number][] = [];
  parent.forEach((current, layer) => {
    for (let i = 0; i < space.choices[layer]; i++) {
      if (i !== current && cost(parent.map((k, l) => (l === layer ? i : k))) <= budget.max) changes.push([layer, i]);
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
  const budget = checkArgs(args);
  if (!Number.isInteger(args.population) || args.population < 1) throw new Error(`regularizedEvolution: population must be an integer >= 1, got ${args.population}`);
  if (!Number.isInteger(args.sampleSize) || args.sampleSize < 1) throw new Error(`regularizedEvolution: sampleSize must be an integer >= 1, got ${args.sampleSize}`);
  const { space } = args;
  const draws = new Rng(seedFrom(args.seed, DRAW_SALT));
  const evolution = new Rng(seedFrom(args.seed, DRAW_SALT, 1));
  const recorder = new Recorder(args);
  const population: SearchStep[] = [];
  while (population.length < args.population && !recorder.done) population.push(await recorder.evaluate(randomFeasibleArch(space, budget, draws)));
  while (!recorder.done) {
    let parent = evolution.choice(population);
    for (let i = 1; i < args.sampleSize; i++) {
      const contender = evolution.choice(population);
      if (contender.score < parent.score) parent = contender;
    }
    population.push(await recorder.evaluate(mutateWithinBudget(space, parent.arch, budget, evolution)));
    population.shift();
  }
  return recorder.outcome();
}

/** The baseline: `evaluations` random feasible children (the same draws as evolution's initial population, then more). */
export async function randomSearch(args: SearchArgs): Promise<SearchOutcome> {
  const budget = checkArgs(args);
  const draws = new Rng(seedFrom(args.seed, DRAW_SALT));
  const recorder = new Recorder(args);
  while (!recorder.done) await recorder.evaluate(randomFeasibleArch(args.space, budget, draws));
  return recorder.outcome();
}
