// What notebook 06 (the CNN space) loads at a preset, as committed files under data/, with the command that
// builds each: the ground truth, the five schemes' ranking units, their interference units, the FLOPs-budget
// searches and the retrain comparison's units. Above tiny these take hours, so the notebook checks them all
// first and stops with one error naming the first missing file and its command instead of computing them.
import * as fs from "node:fs";
import type { Preset } from "../preset";
import { UserError } from "../errors";
import { cnnArchSpace, makeCnnSpace } from "../nas/cnn-space";
import { groundTruthTablePath } from "./ground-truth";
import { CNN_RANK_PRESETS, committedRankFile, plannedUnits } from "./ranking";
import { committedInterferenceFile, interferenceConfig } from "./interference";
import { CNN_SEARCH_PRESETS, committedSearchFile } from "./search";
import { CNN_RETRAIN_PRESETS, committedRetrainFile, retrainBudget } from "./cnn-retrain";

/** One committed file the notebook loads, and the command that computes and commits it. */
export interface CommittedTable {
  what: string;
  file: string;
  command: string;
}

/** Every committed file notebook 06 loads at `preset`, in the order the commands should run. */
export function cnnNotebookTables(preset: Preset): CommittedTable[] {
  const space = { preset, space: "cnn" as const };
  const flag = `--preset ${preset} --space cnn`;
  const rank = CNN_RANK_PRESETS[preset];
  const interference = interferenceConfig(preset, {}, "cnn");
  const retrain = CNN_RETRAIN_PRESETS[preset];
  const budget = retrainBudget(retrain, cnnArchSpace(makeCnnSpace(preset)));
  const retrainCommand = `npm run magic -- cnn-retrain --preset ${preset} --commit`;
  return [
    { what: "ground truth", file: groundTruthTablePath(space), command: `npm run magic -- ground-truth ${flag}` },
    ...plannedUnits(rank).map((u) => ({ what: `ranking unit ${u.scheme} seed ${u.seed}`, file: committedRankFile(rank, u.scheme, u.seed), command: `npm run magic -- rank-all ${flag}` })),
    ...interference.seeds.flatMap((seed) => interference.schemes.map((scheme) => ({
      what: `interference unit ${scheme} seed ${seed}`, file: committedInterferenceFile(interference, scheme, seed),
      command: `npm run magic -- interference ${flag} --commit --out interference-cnn-${preset}.json`,
    }))),
    ...retrain.schemes.map((scheme) => ({
      what: `FLOPs-budget search ${scheme}`, file: committedSearchFile(CNN_SEARCH_PRESETS[preset], scheme, retrain.searchSeed, budget), command: retrainCommand,
    })),
    ...retrain.seeds.flatMap((seed) => [...retrain.schemes.map((s) => `searched-${s}`), retrain.hand.name].map((model) => ({
      what: `retrain unit ${model} seed ${seed}`, file: committedRetrainFile(retrain, model, seed), command: retrainCommand,
    }))),
  ];
}

/** Why notebook 06 cannot run at `preset` (the first missing committed file and its command), or null when every file is there. */
export function missingCnnTables(preset: Preset): string | null {
  const tables = cnnNotebookTables(preset);
  const missing = tables.filter((t) => !fs.existsSync(t.file));
  if (missing.length === 0) return null;
  const [first] = missing;
  return `notebook 06 at preset ${preset} loads committed CNN tables and does not compute them (hours): ` +
    `${missing.length} of ${tables.length} are missing, the first being the ${first.what} (${first.file}); build it with \`${first.command}\`` +
    `${missing.length > 1 ? " (then run the notebook again: it names the next one)" : ""}`;
}

/** Throws one UserError naming the first missing committed file of notebook 06 at `preset` and the command that builds it. */
export function requireCnnTables(preset: Preset): void {
  const missing = missingCnnTables(preset);
  if (missing) throw new UserError(missing);
}
