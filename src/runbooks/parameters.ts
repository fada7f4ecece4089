import { isAppName } from '../config/apps.js';
import { ExitCode, UserError } from '../errors.js';
import { closeNames } from '../clients/arc-routing-controls.js';
import { parseDuration } from './duration.js';
import type { ParameterSpec, ParamValue, RunbookDefinition } from './model.js';
import type { PlanEnv } from './registry.js';

/** Region parameter values that name a role rather than a region. */
export const REGION_ALIASES = {
  primary: 'the first configured region',
  secondary: 'the second configured region',
  active: 'the region where the app runs now (its <app>-app control is On)',
  standby: 'the first region where the app does not run now',
} as const;

/** The region where `app` runs now: the one region whose `<app>-app-*` control is On (else its one dns On). */
export async function activeRegion(env: PlanEnv, app: string): Promise<string> {
  if (!env.platform) {
    throw new UserError(
      `finding the region where ${app} runs needs the platform, which is not reachable`,
      'deploy it (`tsr deploy`), or name the region: --from <region> (tsr rotate, tsr failover) or ' +
        '--param source=<region> (tsr runbook run)',
      ExitCode.notDeployed,
    );
  }
  const controls = await env.platform.routingControls().list();
  const on = (scope: string) =>
    env.config.regions.filter((r) => controls.some((c) => c.name === `${app}-${scope}-${r}` && c.state === 'On'));
  const app_ = on('app');
  if (app_.length === 1) return app_[0];
  const dns = on('dns');
  if (app_.length === 0 && dns.length === 1) return dns[0];
  throw new UserError(
    `cannot tell where ${app} runs: ${app}-app is On in ${app_.length ? app_.join(' and ') : 'no region'}`,
    'name the region: --from <region> (tsr rotate, tsr failover) or --param source=<region> (tsr runbook run); ' +
      '`tsr routing-control list` shows the controls',
    ExitCode.unhealthy,
  );
}

function badValue(name: string, message: string, fix?: string): UserError {
  return new UserError(`parameter ${name}: ${message}`, fix, ExitCode.usage);
}

async function resolveRegion(name: string, text: string, env: PlanEnv, app: string | undefined): Promise<string> {
  const regions = env.config.regions;
  const needApp = () => {
    if (!app) throw badValue(name, `"${text}" needs an app parameter to know which app`);
    return app;
  };
  if (env.offline && (text === 'active' || text === 'standby')) return text;
  switch (text) {
    case 'primary':
      return regions[0];
    case 'secondary':
      if (regions.length < 2) throw badValue(name, `there is no secondary region (regions: ${regions.join(', ')})`);
      return regions[1];
    case 'active':
      return activeRegion(env, needApp());
    case 'standby': {
      const active = await activeRegion(env, needApp());
      const other = regions.find((r) => r !== active);
      if (!other) throw badValue(name, `${app} runs in ${active} and there is no other region`);
      return other;
    }
  }
  if (regions.includes(text)) return text;
  const close = closeNames(text, regions);
  throw badValue(
    name,
    `unknown region "${text}" (regions: ${regions.join(', ')}; or ${Object.keys(REGION_ALIASES).join(', ')})`,
    close.length ? `did you mean ${close.join(', ')}?` : undefined,
  );
}

async function convert(
  name: string,
  raw: unknown,
  spec: ParameterSpec,
  env: PlanEnv,
  app: string | undefined,
): Promise<ParamValue> {
  const text = typeof raw === 'string' ? raw.trim() : undefined;
  let value: ParamValue;
  switch (spec.type) {
    case 'app':
      if (text === undefined || !isAppName(text) || !env.config.apps.includes(text)) {
        throw badValue(name, `unknown app "${String(raw)}" (apps: ${env.config.apps.join(', ')})`);
      }
      value = text;
      break;
    case 'region':
      if (text === undefined) throw badValue(name, `expected a region, got ${JSON.stringify(raw)}`);
      value = await resolveRegion(name, text, env, app);
      break;
    case 'regions': {
      const list = Array.isArray(raw) ? raw.map(String) : String(raw).split(',');
      value = await Promise.all(list.map((r) => resolveRegion(name, r.trim(), env, app)));
      break;
    }
    case 'number': {
      const number = typeof raw === 'number' ? raw : text !== undefined && text !== '' ? Number(text) : NaN;
      if (!Number.isFinite(number)) throw badValue(name, `expected a number, got ${JSON.stringify(raw)}`);
      value = number;
      break;
    }
    case 'boolean':
      if (typeof raw === 'boolean') value = raw;
      else if (text && /^(true|yes|on|1)$/i.test(text)) value = true;
      else if (text && /^(false|no|off|0)$/i.test(text)) value = false;
      else throw badValue(name, `expected true or false, got ${JSON.stringify(raw)}`);
      break;
    case 'duration':
      if (text === undefined || parseDuration(text) === undefined) {
        throw badValue(name, `expected a duration such as 30s or 2m, got ${JSON.stringify(raw)}`);
      }
      value = text;
      break;
    case 'string':
      value = String(raw);
      break;
  }
  if (spec.choices && !spec.choices.includes(value as string | number)) {
    throw badValue(name, `${JSON.stringify(value)} is not one of ${spec.choices.join(', ')}`);
  }
  return value;
}

/**
 * Checks and converts the given parameter values (strings from `--param k=v`, or typed values), fills in
 * defaults and resolves region aliases. App parameters are resolved first, so `active` knows its app.
 */
export async function resolveParameters(
  definition: RunbookDefinition,
  given: Readonly<Record<string, unknown>>,
  env: PlanEnv,
): Promise<Record<string, ParamValue>> {
  const specs = definition.parameters ?? {};
  const unknown = Object.keys(given).filter((k) => !(k in specs));
  if (unknown.length) {
    throw new UserError(
      `runbook ${definition.name} has no parameter ${unknown.join(', ')}`,
      Object.keys(specs).length ? `its parameters: ${Object.keys(specs).join(', ')}` : 'it takes no parameters',
      ExitCode.usage,
    );
  }
  const missing = Object.entries(specs)
    .filter(([name, spec]) => given[name] === undefined && spec.default === undefined)
    .map(([name]) => name);
  if (missing.length) {
    throw new UserError(
      `runbook ${definition.name} needs ${missing.map((m) => `--param ${m}=…`).join(' ')}`,
      missing.map((m) => `${m}: ${specs[m].description ?? specs[m].type}`).join('; '),
      ExitCode.usage,
    );
  }
  const values: Record<string, ParamValue> = {};
  const ordered = Object.entries(specs).sort(([, a], [, b]) => Number(b.type === 'app') - Number(a.type === 'app'));
  let app: string | undefined;
  for (const [name, spec] of ordered) {
    values[name] = await convert(name, given[name] ?? spec.default, spec, env, app);
    if (spec.type === 'app') app ??= values[name] as string;
  }
  // Declaration order, for display.
  return Object.fromEntries(Object.keys(specs).map((name) => [name, values[name]]));
}

/** The variables every runbook can use besides its parameters. */
export function builtinVariables(env: PlanEnv): Record<string, ParamValue> {
  const regions = env.config.regions;
  return {
    env: env.config.environment,
    primary: regions[0],
    ...(regions.length > 1 ? { secondary: regions[1] } : {}),
    regions: [...regions],
  };
}
