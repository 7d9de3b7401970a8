// Experiment scale, chosen by MAGIC_PRESET (or a CLI's --preset): `tiny` for CI (seconds), `small` the default
// main job (minutes on 2 cores), `paper` the paper's scale for big machines. Each module keeps its own table of
// values per preset; this file only names the choices and reads the variable.
import { envChoice } from "./env";

export const PRESETS = ["tiny", "small", "paper"] as const;
export type Preset = (typeof PRESETS)[number];

/** The preset of this process: `MAGIC_PRESET`, default `small`; a bad value is a UserError listing the valid ones. */
export function currentPreset(env: NodeJS.ProcessEnv = process.env): Preset {
  return envChoice("MAGIC_PRESET", PRESETS, "small", env);
}
