import { mkdtempSync, chmodSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startKinesisEngine } from '../../src/infra/local/engines/kinesis-engine.js';
import { startPostgresEngine } from '../../src/infra/local/engines/postgres-engine.js';
import type { StartedEngine } from '../../src/infra/local/engines/server-util.js';

/** A port held by "another program" for the whole test. */
async function holdPort(): Promise<{ port: number; release: () => Promise<void> }> {
  const blocker: Server = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', () => resolve()));
  const { port } = blocker.address() as { port: number };
  return { port, release: () => new Promise((resolve) => blocker.close(() => resolve())) };
}

/** Real engines on a port that is already taken: with anyPortIfTaken they start elsewhere and say where. */
describe('engines and taken ports', () => {
  const dirs: string[] = [];
  const engines: StartedEngine[] = [];
  const tempDir = () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tsr-ports-'));
    chmodSync(dir, 0o755); // as root, PostgreSQL runs as `postgres` and must reach its data directory
    dirs.push(dir);
    return dir;
  };

  afterAll(async () => {
    for (const engine of engines) await engine.close();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('binds port 0 and reports the port it got', async () => {
    const engine = await startKinesisEngine({ port: 0, dataDir: path.join(tempDir(), 'kinesis') });
    engines.push(engine);
    expect(engine.ports[0]).toBeGreaterThan(0);
    expect(engine.endpoint).toBe(`http://127.0.0.1:${engine.ports[0]}`);
  });

  it('fails naming a taken port it was told to bind exactly, and moves when allowed to', async () => {
    const held = await holdPort();
    try {
      const refused = startKinesisEngine({ port: held.port, dataDir: path.join(tempDir(), 'kinesis') });
      await expect(refused).rejects.toThrow(`port ${held.port} on 127.0.0.1 is already in use`);
      // Another data directory: the refused engine's process would have exited, releasing its LevelDB lock.
      const dataDir = path.join(tempDir(), 'kinesis');
      const engine = await startKinesisEngine({ port: held.port, dataDir, anyPortIfTaken: true });
      engines.push(engine);
      expect(engine.ports[0]).not.toBe(held.port);
      expect(engine.ports[0]).toBeGreaterThan(0);
    } finally {
      await held.release();
    }
  });

  it('PostgreSQL, which cannot bind port 0, starts again on another port when its port was taken', async () => {
    const held = await holdPort();
    const log: string[] = [];
    try {
      const engine = await startPostgresEngine({
        port: held.port,
        dataDir: path.join(tempDir(), 'postgres'),
        password: 'test-password',
        anyPortIfTaken: true,
        onLog: (line) => void log.push(line),
      });
      engines.push(engine);
      expect(engine.ports[0]).not.toBe(held.port);
      expect(engine.endpoint).toBe(`postgres://127.0.0.1:${engine.ports[0]}`);
      expect(log.join('')).toContain(`port ${held.port} was taken before PostgreSQL could bind it`);
    } finally {
      await held.release();
    }
  }, 60_000);
});
