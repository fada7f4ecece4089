/** The shared runtime of every service: configuration, logs, streams, safe stores, region gates and metrics. */
export * from './logger.js';
export * from './metrics.js';
export * from './region-gate.js';
export * from './retry.js';
export * from './safe-store.js';
export * from './service-config.js';
export * from './stream-consumer.js';
export * from './stream-producer.js';
