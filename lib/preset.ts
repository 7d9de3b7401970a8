// Experiment scale, chosen by MAGIC_PRESET: `tiny` for CI (seconds), `small` the default main job
// (minutes on 2 cores), `paper` the paper's scale for big machines. Each module keeps its own table of
// values per preset; this file only names and validates the choice.
export const PRESETS = ["tiny", "small", "paper"] as const;
export type Preset = (typeof PRESETS)[number];

/** Validates a preset name; throws one clear error listing the valid values. */
export function parsePreset(raw: string): Preset {
  if (!(PRESETS as readonly string[]).includes(raw)) {
    throw new Error(`MAGIC_PRESET='${raw}' is not valid; use one of: ${PRESETS.join(", ")}`);
  }
  return raw as Preset;
}

/** The preset of this process: `MAGIC_PRESET`, default `small`. */
export function currentPreset(env: NodeJS.ProcessEnv = process.env): Preset {
  return parsePreset((env.MAGIC_PRESET ?? "small").trim() || "small");
}
