// Executes one job spec in this process, whoever sent it (the local pool or a queue worker), after checking that
// this process's code is the code the producer digested: one table never mixes code versions.
import { codeDigest } from "../code-digest";
import { UserError } from "../errors";
import { runsPath } from "../paths";
import type { JobSpec } from "./job";
import { JOB_KINDS } from "./kinds";

/** Throws a UserError (the worker refuses the job) unless this process runs the code that produced `spec`. */
export function checkJobCode(spec: JobSpec): void {
  const mine = codeDigest();
  if (spec.codeDigest !== mine) {
    throw new UserError(`refused ${spec.label}: this worker's code digest ${mine} differs from the producer's ${spec.codeDigest}; ` +
      "check out the producer's commit on this machine (same sources under lib/ and native/) and restart the worker");
  }
  if (!(spec.kind in JOB_KINDS)) throw new UserError(`refused ${spec.label}: this worker has no job kind '${spec.kind}'; update its checkout`);
}

/** Runs `spec` resumably from its work folder (under this machine's runs folder) and returns its JSON result. */
export async function runJob(spec: JobSpec, onStep: (step: number) => void = () => {}): Promise<unknown> {
  checkJobCode(spec);
  return JOB_KINDS[spec.kind].run(spec.params as never, { workDir: runsPath(spec.workDir), onStep });
}
