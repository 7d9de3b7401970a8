// Executes one job spec in this process, whoever sent it (the local pool or a queue worker), after checking that
// this process's code is the code the producer digested: one table never mixes code versions.
import * as path from "node:path";
import { codeDigest } from "../code-digest";
import { UserError } from "../errors";
import { runsPath } from "../paths";
import type { JobSpec } from "./job";
import { JOB_KINDS } from "./kinds";

/**
 * Throws a UserError (the worker refuses the job) unless this process runs the code that produced `spec` and
 * knows its kind, and its work folder lies inside the runs folder (a spec comes from Redis: never trust a path).
 */
export function checkJobCode(spec: JobSpec): void {
  const mine = codeDigest();
  if (spec.codeDigest !== mine) {
    throw new UserError(`refused ${spec.label}: this worker's code digest ${mine} differs from the producer's ${spec.codeDigest}; ` +
      "check out the producer's commit on this machine (same sources under lib/ and native/) and restart the worker");
  }
  if (!Object.hasOwn(JOB_KINDS, spec.kind)) throw new UserError(`refused ${spec.label}: this worker has no job kind '${spec.kind}'; update its checkout`);
  const relative = path.normalize(spec.workDir);
  if (path.isAbsolute(relative) || relative.split(path.sep)[0] === "..") {
    throw new UserError(`refused ${spec.label}: its work folder ${spec.workDir} is not inside the runs folder`);
  }
}

/** Runs `spec` resumably from its work folder (under this machine's runs folder) and returns its JSON result. */
export async function runJob(spec: JobSpec, onStep: (step: number) => void = () => {}): Promise<unknown> {
  checkJobCode(spec);
  return JOB_KINDS[spec.kind].run(spec.params as never, { workDir: runsPath(spec.workDir), onStep });
}
