import { LineCounter, parseDocument } from 'yaml';

/** Where one setting came from: a default, a line of the config file, a TSR_* variable or a flag. */
export type SettingSource =
  | { readonly kind: 'default' }
  | { readonly kind: 'file'; readonly file: string; readonly line?: number }
  | { readonly kind: 'env'; readonly variable: string; readonly raw: string }
  | { readonly kind: 'flag'; readonly flag: string; readonly raw: string };

/** Settings by dotted path (`local.basePort`), each with the layer it came from. */
export type Layer = Map<string, { readonly value: unknown; readonly source: SettingSource }>;

/** Sections whose settings layer one by one: `TSR_BASE_PORT` changes local.basePort, not all of `local`. */
const SECTIONS = ['local', 'aws'] as const;

const isMapping = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** `{local: {basePort: 1}}` → `local.basePort` = 1 (sections only; anything else is one setting). */
export function flatten(values: Record<string, unknown>, source: (key: string) => SettingSource): Layer {
  const layer: Layer = new Map();
  for (const [key, value] of Object.entries(values)) {
    if ((SECTIONS as readonly string[]).includes(key) && isMapping(value)) {
      for (const [inner, innerValue] of Object.entries(value)) {
        layer.set(`${key}.${inner}`, { value: innerValue, source: source(`${key}.${inner}`) });
      }
    } else {
      layer.set(key, { value, source: source(key) });
    }
  }
  return layer;
}

/** Later layers win, setting by setting. */
export function mergeLayers(layers: readonly Layer[]): Layer {
  const merged: Layer = new Map();
  for (const layer of layers) for (const [key, entry] of layer) merged.set(key, entry);
  return merged;
}

export function unflatten(layer: Layer): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, { value }] of layer) {
    const [head, inner] = key.split(/\.(.*)/s);
    if (inner === undefined) out[head] = value;
    else out[head] = { ...(isMapping(out[head]) ? out[head] : {}), [inner]: value };
  }
  return out;
}

/** The 1-based line of each setting in a YAML (or JSON) config file, by dotted path. */
export function settingLines(text: string): Map<string, number> {
  const lines = new Map<string, number>();
  const counter = new LineCounter();
  const document = parseDocument(text, { lineCounter: counter });
  const visit = (node: unknown, prefix: string) => {
    const items = (node as { items?: { key?: { value?: unknown; range?: number[] }; value?: unknown }[] })?.items;
    if (!Array.isArray(items)) return;
    for (const item of items) {
      const key = item.key?.value;
      if (typeof key !== 'string' || !item.key?.range) continue;
      const path = prefix ? `${prefix}.${key}` : key;
      lines.set(path, counter.linePos(item.key.range[0]).line);
      if (!prefix) visit(item.value, path);
    }
  };
  visit(document.contents, '');
  return lines;
}

/** How a source reads in an error or in `tsr config show`. */
export function describeSource(source: SettingSource): string {
  switch (source.kind) {
    case 'default':
      return 'default';
    case 'file':
      return source.line ? `${source.file}:${source.line}` : source.file;
    case 'env':
      return `${source.variable}=${source.raw}`;
    case 'flag':
      return `${source.flag} ${source.raw}`;
  }
}
