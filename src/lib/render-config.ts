import type { ResourceNames, TsrConfig } from '../config/model.js';

/** One line per setting: name, value, and where it came from. */
function renderSettings(config: TsrConfig, sources: Readonly<Record<string, string>>): string[] {
  const sections = { local: config.local, aws: config.aws } as Record<string, Record<string, unknown>>;
  const rows: [string, string][] = Object.keys(sources).map((key) => {
    const [head, inner] = key.split('.');
    const value = inner === undefined ? (config as unknown as Record<string, unknown>)[head] : sections[head]?.[inner];
    const text = Array.isArray(value) ? value.join(', ') : String(value);
    return [key, key === 'regions' ? `${text} (primary ${config.regions[0]})` : text];
  });
  const keyWidth = Math.max(...rows.map(([k]) => k.length));
  const valueWidth = Math.max(...rows.map(([, v]) => v.length));
  return rows.map(([key, value]) => `${key.padEnd(keyWidth)}  ${value.padEnd(valueWidth)}  ${sources[key]}`);
}

export function renderConfig(
  config: TsrConfig,
  names: ResourceNames,
  sources: Readonly<Record<string, string>>,
): string {
  const lines = [
    ...renderSettings(config, sources),
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
