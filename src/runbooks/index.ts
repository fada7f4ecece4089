/** The runbook engine: load, validate, plan, run, resume, roll back, report. Platform-agnostic. */
export { listRunbooks, loadRunbook, parseParamAssignments, resolveRunbookFile, runbookDirectories } from './catalog.js';
export type { RunbookSummary } from './catalog.js';
export { durationSchema, formatDuration, parseDuration } from './duration.js';
export {
  exitCodeFor,
  runExitCode,
  resumeRun,
  rollbackRun,
  runPlan,
  runRunbook,
  terminalPrompter,
  type RunOptions,
  type RunResult,
} from './engine.js';
export { findRun, isUnfinished, listJournals, readJournal, resolveRunId, shortRunId } from './journal.js';
export type { Marker, RpoSample, RunJournal, RunStatus, StepRecord, StepStatus } from './journal.js';
export { loadRunbookFile, parseRunbook, RunbookValidationError, validateRunbook } from './load.js';
export { acquireRunLock, inspectRunLock, RunLockedError } from './lock.js';
export type { LoadedRunbook, ParamValue, RunbookDefinition, RunbookIssue } from './model.js';
export { planRunbook, planSummary, renderPlan, type PlannedStep, type PlanOptions, type RunPlan } from './plan.js';
export {
  defineStepType,
  StepRegistry,
  type CheckProblem,
  type PlanEnv,
  type Prompter,
  type StepContext,
  type StepOutcome,
  type StepType,
} from './registry.js';
export { buildReport, MARKERS, MEASURES, OBSERVED_MARKERS, renderReport, type RunReport } from './report.js';
export { BUILTIN_STEP_TYPES, registerStepType, stepRegistry } from './steps/index.js';
export { checkRoutingBatch } from './steps/routing-control-set.js';
export { assessReplication, relevantLags, waitUntilCaughtUp, type CatchUp } from './steps/wait-replicated.js';
export { renderRun, renderRunbookList, runListing, type RunListing } from './render.js';
