/** The verdict per trade (docs/domain.md#game-days): used by game days and `tsr verify`. */
export { computeVerdict, diverged } from './verdict.js';
export { checkVerdictReadable } from './platform-sources.js';
export { judgePair, progress, contradictory, inLossWindow } from './classify.js';
export { renderVerdict, verdictExitCode } from './render.js';
export { localCopy, localSources, type DatabaseCopy, type VerdictSources } from './sources.js';
export * from './model.js';
