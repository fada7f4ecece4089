import type { ResourceNames, TsrConfig } from '../config/model.js';

export function renderConfig(config: TsrConfig, names: ResourceNames): string {
  const lines = [
    `environment  ${config.environment}`,
    `target       ${config.target}`,
    `regions      ${config.regions.join(', ')} (primary ${config.regions[0]})`,
    `apps         ${config.apps.join(', ')}`,
    `workspace    ${config.workspace}`,
    '',
    'streams',
    ...names.streams.map((s) => `  ${s.name}`),
    'tables',
    ...names.tables.map((t) => `  ${t.name}${t.global ? '  (global)' : '  (regional)'}`),
    'databases',
    ...Object.values(names.databases).map((d) => `  ${d}`),
    'topics',
    ...Object.values(names.topics).map((t) => `  ${t}`),
    'routing controls',
    ...names.routingControls.map((c) => `  ${c.name}`),
    'safety rules',
    ...names.safetyRules.map((r) => `  ${r.name}  (${r.kind})`),
  ];
  return lines.join('\n');
}
