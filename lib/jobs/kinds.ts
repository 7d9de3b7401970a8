// The registry of job kinds: the runners a worker process can execute (lib/jobs/run.ts). Add a kind here.
import type { JobKind } from "./job";
import { groundTruthChildKind } from "./ground-truth-child";
import { supernetRankKind } from "./supernet-rank";

export const JOB_KINDS: Record<string, JobKind<never, unknown>> = {
  "ground-truth-child": groundTruthChildKind,
  "supernet-rank": supernetRankKind,
};
