// The training API in one import, for notebooks and scripts.
export { train, loadWeights, runConfigHash, TrainingDivergedError } from "./loop";
export type { Alignment, HistoryEntry, TrainData, TrainResult, TrainRun } from "./loop";
export { DEFAULT_TRAIN_CONFIG, TRAIN_PRESETS, lrAt, resolveTrainConfig, type TrainConfig } from "./config";
export { LazyAdam, type AdamConfig } from "./adam";
export { CheckpointError, checkpointPath, readCheckpoint, writeCheckpoint, configHash } from "./checkpoint";
export { Distiller, DEFAULT_DISTILL_CONFIG, resolveDistillConfig, logitKd, hiddenMse, combineKd } from "./distill";
export type { DistillConfig, DistillerArgs, Teacher, TeacherTargets } from "./distill";
