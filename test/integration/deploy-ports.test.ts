import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import path from 'node:path';
import type { LocalState } from '../../src/infra/local/state.js';
import { runTsr, tempWorkspace } from '../helpers/cli.js';

const portsOf = (state: LocalState, id: string) => state.processes.find((p) => p.id === id)?.ports ?? [];
const readState = (dir: string) => JSON.parse(readFileSync(path.join(dir, 'state.json'), 'utf8')) as LocalState;

async function hold(port: number): Promise<Server> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return server;
}

/** Issue 13 item 5: a port taken by another program between two deploys moves that engine; the deploy succeeds. */
describe('local deploy and taken ports', () => {
  const dir = tempWorkspace('tsr-ports-');
  const blockers: Server[] = [];

  afterAll(async () => {
    for (const blocker of blockers) blocker.close();
    await runTsr(['destroy', '--yes', '--purge', '--workspace', dir]);
  }, 120_000);

  it('keeps the ports of the last run where it can, and binds others where another program took one', async () => {
    expect((await runTsr(['deploy', '--workspace', dir])).code).toBe(0);
    const before = readState(dir);
    expect((await runTsr(['destroy', '--yes', '--workspace', dir])).code).toBe(0);

    // Another program takes a broker's port and a PostgreSQL port (which cannot bind port 0 and must retry).
    const [brokerPort] = portsOf(before, 'broker@us-west-2');
    const [postgresPort] = portsOf(before, 'postgres@us-east-1');
    blockers.push(await hold(brokerPort), await hold(postgresPort));

    const again = await runTsr(['deploy', '--workspace', dir]);
    expect({ code: again.code, stderr: again.code ? again.stderr : '' }).toEqual({ code: 0, stderr: '' });
    const after = readState(dir);
    expect(portsOf(after, 'broker@us-west-2')[0]).not.toBe(brokerPort);
    expect(portsOf(after, 'postgres@us-east-1')[0]).not.toBe(postgresPort);
    expect(after.endpoints.regions['us-east-1'].postgres.port).toBe(portsOf(after, 'postgres@us-east-1')[0]);
    // Everything else answers where it did before.
    for (const id of ['kinesis@us-east-1', 'dynamodb@us-west-2', 'arc', 'dynamo-link']) {
      expect(portsOf(after, id)).toEqual(portsOf(before, id));
    }
  }, 300_000);
});
