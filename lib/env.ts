// Readers of the MAGIC_* environment variables that take a value of a fixed form. A bad value is one UserError
// naming the variable and the values it takes, never a NaN or a silently ignored setting; unset or blank means
// the default. The settings with a module of their own are read there (MAGIC_PRESET in preset.ts,
// MAGIC_BACKEND in backend.ts); the two below have none.
import { UserError } from "./errors";

type Env = NodeJS.ProcessEnv;

function setValue(name: string, env: Env): string | undefined {
  const value = env[name]?.trim();
  return value ? value : undefined;
}

/** One of `choices`, or `fallback` when unset. */
export function envChoice<T extends string>(name: string, choices: readonly T[], fallback: T, env: Env = process.env): T {
  const value = setValue(name, env);
  if (value === undefined) return fallback;
  if (!(choices as readonly string[]).includes(value)) {
    throw new UserError(`${name}='${value}' is not valid; use one of: ${choices.join(", ")} (or unset it for ${fallback})`);
  }
  return value as T;
}

/** A non-negative integer (digits only), or `fallback` when unset. */
export function envInt(name: string, fallback: number, env: Env = process.env): number {
  const value = setValue(name, env);
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) {
    throw new UserError(`${name}='${value}' is not valid; use an integer >= 0 (or unset it for ${fallback})`);
  }
  return Number(value);
}

/** `1` on, `0` or unset off. */
export function envFlag(name: string, env: Env = process.env): boolean {
  return envChoice(name, ["0", "1"], "0", env) === "1";
}

/** MAGIC_RECOMPUTE=1: recompute the committed tables (ground truth, ranking units) instead of loading them. */
export function recomputeRequested(env: Env = process.env): boolean {
  return envFlag("MAGIC_RECOMPUTE", env);
}

/** MAGIC_SEED: the seed of notebook 01's pair draws (default 0). */
export function envSeed(env: Env = process.env): number {
  return envInt("MAGIC_SEED", 0, env);
}
