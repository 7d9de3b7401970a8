// What the CLIs (scripts/magic.ts, scripts/reproduce.ts) share so that every bad input gets one line saying
// what is wrong and how to fix it, a non-zero exit code and no stack trace, before any heavy work: option
// parsers, checks of output paths and of the environment, and the top-level error handling.
import * as fs from "node:fs";
import * as path from "node:path";
import { Command, CommanderError, InvalidArgumentError } from "commander";
import { requestedBackend } from "./backend";
import { envSeed, recomputeRequested } from "./env";
import { UserError } from "./errors";
import { currentPreset } from "./preset";

/** Exit code of a bad input (an option, variable or file); 1 is left to bugs and failed runs. */
export const USER_ERROR_EXIT_CODE = 2;

/** Parser of an integer option >= `min`: digits only, so "", "1e3", "0x10" and "2.5" are rejected. */
export function intOption(flag: string, min: number) {
  return (raw: string): number => {
    const digits = raw.trim();
    const value = Number(digits);
    if (!/^\d+$/.test(digits) || !Number.isSafeInteger(value) || value < min) {
      throw new InvalidArgumentError(`${flag} must be an integer >= ${min}.`);
    }
    return value;
  };
}

/** Parser of a number option: >= 0, or > 0 with `positive`. */
export function numberOption(flag: string, { positive = false } = {}) {
  return (raw: string): number => {
    const value = raw.trim() === "" ? NaN : Number(raw);
    if (!Number.isFinite(value) || value < 0 || (positive && value === 0)) {
      throw new InvalidArgumentError(`${flag} must be a number ${positive ? ">" : ">="} 0.`);
    }
    return value;
  };
}

/** The closest ancestor of `p` (or `p` itself) that exists. */
function existingAncestor(p: string): string {
  while (!fs.existsSync(p)) p = path.dirname(p);
  return p;
}

/** Throws a UserError (about `value` of `flag`) unless `dir` exists or can be created, and can be written to. */
function checkWritableIn(flag: string, value: string, dir: string): void {
  const existing = existingAncestor(path.resolve(dir));
  if (!fs.statSync(existing).isDirectory()) {
    throw new UserError(`${flag} ${value}: ${existing} is a file, not a folder; choose another path`);
  }
  try {
    fs.accessSync(existing, fs.constants.W_OK);
  } catch {
    throw new UserError(`${flag} ${value}: folder ${existing} is not writable; choose another path`);
  }
}

/** Throws a UserError unless folder `dir` (the value of `flag`) exists or can be created, and can be written to. */
export function checkWritableFolder(flag: string, dir: string): void {
  checkWritableIn(flag, dir, dir);
}

/** Throws a UserError unless `file` (the value of `flag`) can be written: not a folder, in a writable folder. */
export function checkWritableFile(flag: string, file: string): void {
  if (fs.existsSync(file) && fs.statSync(file).isDirectory()) {
    throw new UserError(`${flag} ${file} is a folder; give a file name, e.g. ${path.join(file, "result.json")}`);
  }
  checkWritableIn(flag, file, path.dirname(path.resolve(file)));
}

/** Reads every MAGIC_* variable of a fixed form, so a bad value stops a CLI with one line before any work. */
export function checkEnvironment(): void {
  currentPreset();
  requestedBackend();
  recomputeRequested();
  envSeed();
}

/**
 * A commander program whose errors are one line each (commander puts its "Did you mean ...?" on a second
 * line) and reach `runCli` as exceptions instead of exiting; subcommands inherit both settings.
 */
export function cliProgram(name: string): Command {
  return new Command(name)
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(`${text.trim().replace(/\s*\n\s*/g, " ")}\n`) });
}

function exitCodeOf(e: unknown): number {
  // Commander has printed its message (or the help) already.
  if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : USER_ERROR_EXIT_CODE;
  if (e instanceof UserError) {
    console.error(`error: ${e.message}`);
    return USER_ERROR_EXIT_CODE;
  }
  console.error(e); // a bug: the stack says where
  return 1;
}

/** Runs a CLI's `main` and exits with its code; a bad input prints one line and exits 2, a bug its stack and 1. */
export function runCli(main: () => Promise<number | void>): void {
  main().then(
    (code) => {
      process.exitCode = code ?? 0;
    },
    // process.exit: a failed command may leave handles open (progress bars, worker processes).
    (e: unknown) => process.exit(exitCodeOf(e)),
  );
}
