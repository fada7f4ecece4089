import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ESLint } from 'eslint';
import { ROOT } from '../helpers/cli.js';

/** Relative imports of every module under src/, by file (`import type` included: a cycle of types is still one). */
function importGraph(): Map<string, string[]> {
  const src = path.join(ROOT, 'src');
  const files = readdirSync(src, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const text = readFileSync(path.join(src, file), 'utf8');
    const targets = [...text.matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s+'(\.{1,2}\/[^']+)\.js'/g)].map((m) =>
      path.join(path.dirname(file), `${m[1]}.ts`),
    );
    graph.set(file, targets);
  }
  return graph;
}

/** The import cycles of a graph, each as the files around it. */
function cycles(graph: Map<string, string[]>): string[][] {
  const found: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (file: string) => {
    state.set(file, 'open');
    stack.push(file);
    for (const next of graph.get(file) ?? []) {
      if (state.get(next) === 'open') found.push([...stack.slice(stack.indexOf(next)), next]);
      else if (!state.has(next) && graph.has(next)) visit(next);
    }
    stack.pop();
    state.set(file, 'done');
  };
  for (const file of graph.keys()) if (!state.has(file)) visit(file);
  return found;
}

describe('layers', () => {
  const eslint = new ESLint({ cwd: ROOT });
  const lint = async (file: string, code: string) => {
    const [result] = await eslint.lintText(code, { filePath: path.join(ROOT, file) });
    return result.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
  };

  it('npm run lint refuses a wrong-way import and accepts the right way', async () => {
    expect(await lint('src/services/runtime/wrong.ts', "export { x } from '../../platform/platform.js';\n")).toEqual([
      expect.stringContaining(
        'src/services must not import commands, dashboard, lib, runbooks, reconcile, verdict, platform, infra, gameday',
      ),
    ]);
    // The dashboard calls what the commands call, never a command; nothing below it imports it.
    expect(await lint('src/dashboard/wrong.ts', "export { x } from '../commands/rotate.js';\n")).toHaveLength(1);
    expect(await lint('src/platform/wrong.ts', "export { x } from '../dashboard/server.js';\n")).toHaveLength(1);
    expect(await lint('src/dashboard/right.ts', "export { x } from '../runbooks/execute.js';\n")).toEqual([]);
    expect(await lint('src/infra/local/wrong.ts', "export { x } from '../../runbooks/index.js';\n")).toHaveLength(1);
    expect(await lint('src/infra/local/wrong.ts', "export { x } from '../../services/pipeline/gateway.js';\n")).toEqual(
      [expect.stringContaining('may use only services/core-db')],
    );
    expect(await lint('src/runbooks/wrong.ts', "export { x } from '../gameday/run.js';\n")).toHaveLength(1);
    expect(await lint('src/domain/wrong.ts', "export { x } from '../config/model.js';\n")).toHaveLength(1);
    expect(await lint('src/services/runtime/right.ts', "export { x } from '../../clients/types.js';\n")).toEqual([]);
    expect(await lint('src/commands/right.ts', "export { x } from '../infra/local/state.js';\n")).toEqual([]);
  });

  it('src/ has no import cycle', () => {
    const graph = importGraph();
    expect(graph.size).toBeGreaterThan(100);
    expect(cycles(graph).map((c) => c.join(' → '))).toEqual([]);
  });
});
