import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { BUILTIN_STEP_TYPES } from '../../src/runbooks/index.js';
import { ROOT } from '../helpers/cli.js';

/** GitHub's heading anchor: lower case, punctuation dropped, spaces to dashes. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} -]/gu, '')
    .replace(/ /g, '-');
}

function anchorsOf(file: string): Set<string> {
  const text = readFileSync(file, 'utf8').replace(/```[\s\S]*?```/g, '');
  return new Set([...text.matchAll(/^#{1,6} (.+)$/gm)].map((m) => slug(m[1])));
}

/** Every text file below `dir` (relative to the repository) with one of `extensions`. */
function filesIn(dir: string, extensions: readonly string[]): string[] {
  const full = path.join(ROOT, dir);
  if (!existsSync(full)) return [];
  if (statSync(full).isFile()) return [dir];
  return readdirSync(full, { recursive: true, encoding: 'utf8' })
    .filter((f) => extensions.some((e) => f.endsWith(e)))
    .map((f) => path.join(dir, f));
}

const SOURCES = [
  ...['src', 'test', 'bench', 'runbooks', 'docs'].flatMap((d) => filesIn(d, ['.ts', '.yaml', '.md'])),
  'README.md',
];

describe('the design lives in the repository', () => {
  it('every citation of docs/… names a file and a heading that exist', () => {
    const problems: string[] = [];
    let citations = 0;
    for (const file of SOURCES) {
      const text = readFileSync(path.join(ROOT, file), 'utf8');
      // docs/<file>.md#<heading> anywhere, and relative markdown links between the docs.
      const cited = [
        ...[...text.matchAll(/docs\/([\w-]+\.md)(?:#([\w-]+))?/g)].map((m) => ({ doc: m[1], anchor: m[2] })),
        ...(file.startsWith('docs')
          ? [...text.matchAll(/\]\(([\w-]+\.md)(?:#([\w-]+))?\)/g)].map((m) => ({ doc: m[1], anchor: m[2] }))
          : []),
      ];
      for (const { doc, anchor } of cited) {
        citations++;
        const target = path.join(ROOT, 'docs', doc);
        if (!existsSync(target)) problems.push(`${file}: docs/${doc} does not exist`);
        else if (anchor && !anchorsOf(target).has(anchor)) problems.push(`${file}: docs/${doc} has no #${anchor}`);
      }
    }
    expect(problems).toEqual([]);
    expect(citations).toBeGreaterThan(15);
  });

  it('nothing cites a design document outside the repository', () => {
    const outside = SOURCES.filter((file) => file !== 'test/unit/docs-citations.test.ts').flatMap((file) =>
      /\.\.\/shared|DOMAIN\.md|DOMAIN §|ARCHITECTURE\.md/.test(readFileSync(path.join(ROOT, file), 'utf8'))
        ? [file]
        : [],
    );
    expect(outside).toEqual([]);
  });

  it('docs/runbooks.md documents every built-in step type', () => {
    const text = readFileSync(path.join(ROOT, 'docs', 'runbooks.md'), 'utf8');
    const missing = BUILTIN_STEP_TYPES.map((t) => t.type).filter((type) => !text.includes(`\`${type}\``));
    expect(missing).toEqual([]);
  });
});
