export { compareWindow, planReconcile, reconcile, reconcileExitCode, resolveRegions } from './reconcile.js';
export type { ReconcileOptions, ReconcilePlan } from './reconcile.js';
export { hopsFor, type Hop } from './hops.js';
export { renderReconcile, type ReportFormat } from './render.js';
export type * from './report.js';
export {
  KEEP_RECONCILE_REPORTS,
  lastReconcile,
  lastReconcileName,
  saveReconcile,
  type SavedReconcile,
} from './saved.js';
export { parseDuration, resolveWindow, type ReconcileWindow, type WindowInput } from './window.js';
export { acceptAtInboundGateway, type InboundMessage } from './inbound-inject.js';
export { StoreReader } from './store-reader.js';
export { reconcileDynamoClient } from './clients.js';
