/**
 * Structured JSON logs (pino), one line per event, bound to the service, region and stage. Secrets never reach a
 * line: known secret fields are censored wherever they appear (two levels deep), and the configuration is logged
 * only through `ServiceConfig.redacted()`.
 */
import { pino, type DestinationStream, type Logger } from 'pino';
import type { ServiceConfig } from './service-config.js';

export type { Logger } from 'pino';

/** Field names censored in every log line, at the top level and up to two objects deep. */
export const SECRET_FIELDS = [
  'password',
  'pgPassword',
  'secret',
  'secretAccessKey',
  'sessionToken',
  'token',
  'authorization',
  'brokerPassword',
] as const;

const REDACT_PATHS = SECRET_FIELDS.flatMap((field) => [field, `*.${field}`, `*.*.${field}`]);

export interface LoggerOptions {
  /** e.g. `tm-core`. */
  readonly service: string;
  readonly region?: string;
  readonly stage?: string;
  readonly app?: string;
  readonly workerId?: string;
  /** Default `info`. */
  readonly level?: string;
  /** Where lines go; default stdout. Tests pass a stream to read them. */
  readonly destination?: DestinationStream;
}

export function createLogger(opts: LoggerOptions): Logger {
  const base: Record<string, string> = { service: opts.service };
  if (opts.app) base.app = opts.app;
  if (opts.region) base.region = opts.region;
  if (opts.stage) base.stage = opts.stage;
  if (opts.workerId) base.workerId = opts.workerId;
  const options = {
    level: opts.level ?? 'info',
    base: { pid: process.pid, ...base },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    formatters: { level: (label: string) => ({ level: label }) },
  };
  return opts.destination ? pino(options, opts.destination) : pino(options);
}

/** The logger of a service process, from its configuration. */
export function serviceLogger(config: ServiceConfig, destination?: DestinationStream): Logger {
  return createLogger({
    service: config.service,
    app: config.app,
    region: config.region,
    stage: config.stage,
    workerId: config.workerId,
    level: config.logLevel,
    destination,
  });
}

/** A logger that drops everything (the default of runtime classes given none). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
