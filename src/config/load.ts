import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { UserError } from '../errors.js';
import { APPS } from './apps.js';
import type { TsrConfig } from './model.js';
import { isKnownRegion, suggestRegions } from './regions.js';

export const CONFIG_FILES = ['tsr.config.yaml', 'tsr.config.yml', 'tsr.config.json'] as const;

const regionList = z.array(z.string()).superRefine((regions, ctx) => {
  for (const region of regions) {
    if (!isKnownRegion(region)) {
      const hint = suggestRegions(region);
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        message: `unknown region "${region}"${hint.length ? ` (did you mean ${hint.join(' or ')}?)` : ''}`,
      });
    }
  }
  const duplicates = regions.filter((r, i) => regions.indexOf(r) !== i);
  if (duplicates.length) {
    ctx.addIssue({
      code: z.ZodIssueCode.custom,
      message: `region listed twice: ${[...new Set(duplicates)].join(', ')}`,
    });
  }
  if (regions.length < 2) {
    ctx.addIssue({
      code: z.ZodIssueCode.custom,
      message: `needs at least two regions (active and hot standby), got ${regions.length}`,
    });
  }
});

const configSchema = z
  .object({
    environment: z
      .string()
      .regex(/^[a-z][a-z0-9-]{0,15}$/, 'must start with a letter and use at most 16 of a-z, 0-9 and -'),
    regions: regionList,
    apps: z
      .array(z.enum(APPS))
      .min(1)
      .default([...APPS]),
    target: z.enum(['local', 'aws']),
    workspace: z.string().min(1),
    local: z
      .object({
        arcEndpoints: z.number().int().min(1).max(5).default(3),
        replicationDelayMs: z.number().int().min(0).max(60_000).default(0),
        basePort: z.number().int().min(1024).max(65_000).optional(),
      })
      .strict()
      .default({}),
    aws: z
      .object({
        accountId: z
          .string()
          .regex(/^\d{12}$/, 'must be a 12-digit AWS account id')
          .optional(),
        shardsPerStream: z.number().int().min(1).max(500).default(2),
        tasksPerService: z.number().int().min(1).max(100).default(2),
        auroraInstanceClass: z.string().default('db.r6g.large'),
        brokerInstanceType: z.string().default('mq.m5.large'),
        stateBucket: z
          .string()
          .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be an S3 bucket name')
          .optional(),
        stateLockTable: z
          .string()
          .regex(/^[a-zA-Z0-9_.-]{3,255}$/, 'must be a DynamoDB table name')
          .optional(),
      })
      .strict()
      .default({}),
  })
  .strict();

export interface ConfigOverrides {
  environment?: string;
  regions?: string[];
  target?: 'local' | 'aws';
  workspace?: string;
  configFile?: string;
}

const DEFAULTS = {
  environment: 'dev',
  regions: ['us-east-1', 'us-west-2'],
  target: 'local',
  workspace: '.tsr',
};

/** Splits a comma-separated flag or env value ("us-east-1, us-west-2") into trimmed, non-empty items. */
export function splitList(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new UserError(
      `cannot read config file ${file}: ${(error as Error).message}`,
      'check the path given by --config or TSR_CONFIG',
    );
  }
  try {
    const parsed = file.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
    if (parsed === null || parsed === undefined) return {};
    if (typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('top level must be a mapping of settings');
    return parsed as Record<string, unknown>;
  } catch (error) {
    throw new UserError(
      `config file ${file} is not valid: ${(error as Error).message}`,
      'fix the syntax, or move the file away to use the defaults',
    );
  }
}

function findConfigFile(cwd: string, explicit?: string): string | undefined {
  if (explicit) return path.resolve(cwd, explicit);
  return CONFIG_FILES.map((f) => path.join(cwd, f)).find((f) => existsSync(f));
}

function fromEnvironment(env: NodeJS.ProcessEnv): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (env.TSR_ENV) out.environment = env.TSR_ENV;
  if (env.TSR_REGIONS) out.regions = splitList(env.TSR_REGIONS);
  if (env.TSR_TARGET) out.target = env.TSR_TARGET;
  if (env.TSR_WORKSPACE) out.workspace = env.TSR_WORKSPACE;
  if (env.TSR_BASE_PORT) out.local = { basePort: Number(env.TSR_BASE_PORT) };
  return out;
}

function describeIssues(error: z.ZodError, source: string): UserError {
  const lines = error.issues.map((issue) => {
    const field = issue.path.join('.') || '(top level)';
    return `${field}: ${issue.message}`;
  });
  const fix =
    'set it with a flag (e.g. --regions us-east-1,us-west-2), a TSR_* environment variable, or in ' +
    `${CONFIG_FILES[0]}; see \`tsr --help\``;
  return new UserError(`invalid configuration (${source}):\n  ${lines.join('\n  ')}`, fix);
}

/**
 * Resolves the configuration: defaults, then the config file, then TSR_* environment variables, then flags.
 * Throws a UserError naming each bad field and how to fix it.
 */
export function loadConfig(
  overrides: ConfigOverrides = {},
  env: NodeJS.ProcessEnv = process.env,
  cwd = process.cwd(),
): TsrConfig {
  const file = findConfigFile(cwd, overrides.configFile ?? env.TSR_CONFIG);
  const fromFile = file ? readConfigFile(file) : {};
  const fromFlags = Object.fromEntries(
    Object.entries({
      environment: overrides.environment,
      regions: overrides.regions,
      target: overrides.target,
      workspace: overrides.workspace,
    }).filter(([, v]) => v !== undefined),
  );
  const merged = { ...DEFAULTS, ...fromFile, ...fromEnvironment(env), ...fromFlags };
  const result = configSchema.safeParse(merged);
  if (!result.success) {
    const sources = [file && path.basename(file), 'environment', 'flags'].filter(Boolean).join(', ');
    throw describeIssues(result.error, `from defaults, ${sources}`);
  }
  return { ...result.data, workspace: path.resolve(cwd, result.data.workspace) };
}
