// Parameter budgets of the compression experiment (issue 14): the size range of a space's children and
// budgets at fractions of its largest child.
// Two ways to count a child's parameters, named wherever a budget is: 'total' (space.ts paramCount: the
// embeddings, embedding LayerNorm and MLM head every child shares, plus its sub-layers) and 'sublayers' (the
// sub-layers alone: what the search chooses). On the small preset (V = 4096, D = 64, 8 layers) the shared part
// is 272,704 of the largest child's 538,432 parameters, so no child is below 50.6 % of the largest in 'total'
// terms: budgets spanning ~15 % to 100 % exist only in 'sublayers' terms, the default here (our choice; a
// deployed student would also drop the MLM head, and the embeddings are the same in every student).
import type { Arch, SearchSpace } from "./types";
import { bertArchSpace, largestArch, paramCount, sharedParamCount } from "./space";
import { smallestChild } from "./arch-space";
import { UserError } from "../errors";

export type ParamCounting = "total" | "sublayers";

/** Default budget fractions of the largest child: five budgets from ~15 % to 100 % (our choice). */
export const DEFAULT_BUDGET_FRACTIONS = [0.15, 0.3, 0.5, 0.75, 1] as const;

/** Parameters of child `arch` as a budget counts them. */
export function budgetParams(space: SearchSpace, arch: Arch, counting: ParamCounting = "sublayers"): number {
  const total = paramCount(space, arch);
  return counting === "total" ? total : total - sharedParamCount(space);
}

/** The child with the fewest parameters (per layer the smallest op, the first on ties; identity when present). */
export function smallestArch(space: SearchSpace): Arch {
  return smallestChild(bertArchSpace(space));
}

export interface ParamRange {
  counting: ParamCounting;
  smallest: { arch: Arch; params: number };
  largest: { arch: Arch; params: number };
}

/** The smallest and largest child of `space` and their parameter counts. */
export function childParamRange(space: SearchSpace, counting: ParamCounting = "sublayers"): ParamRange {
  const small = smallestArch(space);
  const large = largestArch(space);
  return {
    counting,
    smallest: { arch: small, params: budgetParams(space, small, counting) },
    largest: { arch: large, params: budgetParams(space, large, counting) },
  };
}

/** Throws a UserError naming the smallest possible size unless some child of `space` fits in `maxParams`. */
export function checkParamBudget(space: SearchSpace, maxParams: number, counting: ParamCounting = "sublayers"): void {
  const { smallest } = childParamRange(space, counting);
  if (!Number.isFinite(maxParams) || maxParams < smallest.params) {
    throw new UserError(
      `parameter budget ${maxParams} (${counting}) is below the smallest child of space ${space.id}, ` +
        `${smallest.params} parameters (${counting}); use a budget of at least ${smallest.params}`,
    );
  }
}

export interface ParamBudget {
  /** Fraction of the largest child's parameters. */
  fraction: number;
  /** Largest parameter count a child may have, floor(fraction * largest). */
  maxParams: number;
  counting: ParamCounting;
}

/**
 * Budgets at `fractions` (each in (0, 1], ascending order not required) of the largest child's parameters,
 * in the order given; a budget below the smallest child is a UserError naming the smallest size.
 */
export function parameterBudgets(
  space: SearchSpace,
  fractions: readonly number[] = DEFAULT_BUDGET_FRACTIONS,
  counting: ParamCounting = "sublayers",
): ParamBudget[] {
  if (fractions.length === 0) throw new UserError("parameterBudgets: give at least one fraction of the largest child, e.g. 0.15, 0.3, 0.5, 1");
  const bad = fractions.filter((f) => !(f > 0 && f <= 1));
  if (bad.length) throw new UserError(`parameterBudgets: fractions must be in (0, 1], got ${bad.join(", ")}`);
  const { largest } = childParamRange(space, counting);
  return fractions.map((fraction) => {
    const maxParams = Math.floor(fraction * largest.params);
    checkParamBudget(space, maxParams, counting);
    return { fraction, maxParams, counting };
  });
}
