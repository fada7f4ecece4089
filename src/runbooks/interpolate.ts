import type { DocPath, ParamValue } from './model.js';

const REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;
const WHOLE_REFERENCE = /^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$/;
/** Anything that starts like a reference: `${…` up to the next `}` or the end. */
const REFERENCE_LIKE = /\$\{[^}]*\}?/g;

export interface ReferenceUse {
  readonly name: string;
  /** Where it occurs; a key is reported at its map entry. */
  readonly path: DocPath;
}

export interface MalformedReference {
  readonly text: string;
  readonly path: DocPath;
}

/** Every `${name}` in strings and map keys of `value`, and every `${…` that is not a valid reference. */
export function scanReferences(
  value: unknown,
  path: DocPath = [],
): { uses: ReferenceUse[]; malformed: MalformedReference[] } {
  const uses: ReferenceUse[] = [];
  const malformed: MalformedReference[] = [];
  const scanText = (text: string, at: DocPath) => {
    for (const match of text.matchAll(REFERENCE_LIKE)) {
      const valid = /^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$/.exec(match[0]);
      if (valid) uses.push({ name: valid[1], path: at });
      else malformed.push({ text: match[0], path: at });
    }
  };
  const walk = (node: unknown, at: DocPath) => {
    if (typeof node === 'string') scanText(node, at);
    else if (Array.isArray(node)) node.forEach((item, i) => walk(item, [...at, i]));
    else if (node && typeof node === 'object') {
      for (const [key, child] of Object.entries(node)) {
        scanText(key, [...at, key]);
        walk(child, [...at, key]);
      }
    }
  };
  walk(value, path);
  return { uses, malformed };
}

function asText(value: ParamValue): string {
  return Array.isArray(value) ? value.join(',') : String(value);
}

/** Replaces `${name}` in text; a reference to an unknown name is an error (validation reports those first). */
export function interpolateText(text: string, vars: Readonly<Record<string, ParamValue>>): string {
  return text.replace(REFERENCE, (_, name: string) => {
    const value = vars[name];
    if (value === undefined) throw new Error(`unknown variable \${${name}}`);
    return asText(value);
  });
}

/**
 * Resolves references in strings and map keys throughout `value`. A string that is exactly one reference takes the
 * variable's own type (a number stays a number, a list a list); references inside longer text are spliced in.
 */
export function interpolate(value: unknown, vars: Readonly<Record<string, ParamValue>>): unknown {
  if (typeof value === 'string') {
    const whole = WHOLE_REFERENCE.exec(value);
    if (whole && vars[whole[1]] !== undefined) return vars[whole[1]];
    return interpolateText(value, vars);
  }
  if (Array.isArray(value)) return value.map((item) => interpolate(item, vars));
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, child]) => [interpolateText(key, vars), interpolate(child, vars)]),
    );
  }
  return value;
}
