import type { AppName } from '../../config/apps.js';
import { type PgServer, subscriptionName, withClient } from './postgres-replication.js';
import type { RegionRelays } from './region-relays.js';
import type { ServiceFleet } from './service-fleet.js';

/**
 * What the fault routes need from the control process: its fleet, its engines by id, and its database topology.
 * The control process owns processes and replication, so faults that touch them are carried out here, and each
 * has an undo that puts back exactly what it changed.
 */
export interface FaultHost {
  fleet(): ServiceFleet | undefined;
  /** The cross-region broker links (a partition cuts them). */
  relays(): RegionRelays | undefined;
  /** Writes the state file again (a partition shows in it). */
  save(): void;
  /** Stops an engine on purpose (it is not reported as having crashed). */
  stopEngine(id: string): Promise<void>;
  /** SIGKILL to an engine and every process it owns: a crash, not a clean stop. */
  killEngine(id: string): Promise<void>;
  /** Starts a stopped engine again on its ports and data; `ports` restricts an ARC cluster to some endpoints. */
  startEngine(id: string, ports?: readonly number[]): Promise<void>;
  enginePorts(id: string): readonly number[];
  apps(): readonly AppName[];
  databaseName(app: AppName): string;
  writer(app: AppName): string;
  liveRegions(): readonly string[];
  pgServer(region: string): PgServer;
  password(): string;
}

/** Turns every database subscription of the live replicas on or off: cross-region database replication paused. */
async function setDatabaseReplication(host: FaultHost, enabled: boolean): Promise<string[]> {
  const changed: string[] = [];
  for (const app of host.apps()) {
    const database = host.databaseName(app);
    for (const region of host.liveRegions().filter((r) => r !== host.writer(app))) {
      const name = subscriptionName(database, region);
      await withClient(host.pgServer(region), host.password(), database, async (client) => {
        const { rowCount } = await client.query('SELECT 1 FROM pg_subscription WHERE subname = $1', [name]);
        if (!rowCount) return;
        await client.query(`ALTER SUBSCRIPTION ${name} ${enabled ? 'ENABLE' : 'DISABLE'}`);
        changed.push(`${database}@${region}`);
      });
    }
  }
  return changed;
}

function required(params: URLSearchParams, name: string): string {
  const value = params.get(name);
  if (!value) throw new Error(`missing query parameter ${name}`);
  return value;
}

/**
 * Handles `POST /faults/<action>` for the game-day fault library; undefined for any other route.
 *   service-kill?filter=&hold=1     SIGKILL; with hold the service stays down until service-resume
 *   service-resume?filter=          start services held down (a no-op for running ones)
 *   service-signal?filter=&signal=STOP|CONT   a hang the supervisor does not see as a crash, and its end
 *   engine-stop|engine-start|engine-kill?id=  e.g. broker@us-east-1, postgres@us-west-2
 *   arc?up=N                        keep only the first N ARC endpoints answering (0: none); up=all restores
 *   db-replication?enabled=0|1      pause or resume every database subscription
 *   partition?cut=1|0               cut or heal the regions' broker links both ways (replication is paused by the
 *                                   link's and db-replication's own routes: the fault sends all three)
 */
export async function handleFaultRoute(host: FaultHost, pathname: string, params: URLSearchParams): Promise<unknown> {
  if (!pathname.startsWith('/faults/')) return undefined;
  const action = pathname.slice('/faults/'.length);
  const fleet = host.fleet();
  switch (action) {
    case 'service-kill':
    case 'service-resume':
    case 'service-signal': {
      if (!fleet) throw new Error('services are not started yet');
      const filter = required(params, 'filter');
      if (action === 'service-kill') return { killed: fleet.kill(filter, params.get('hold') === '1') };
      if (action === 'service-resume') return { resumed: await fleet.resumeHeld(filter) };
      const signal = required(params, 'signal');
      if (signal !== 'STOP' && signal !== 'CONT') throw new Error(`signal must be STOP or CONT, not ${signal}`);
      return { signalled: fleet.signal(filter, `SIG${signal}`) };
    }
    case 'engine-stop':
      await host.stopEngine(required(params, 'id'));
      return { stopped: params.get('id') };
    case 'engine-kill':
      await host.killEngine(required(params, 'id'));
      return { killed: params.get('id') };
    case 'engine-start':
      await host.startEngine(required(params, 'id'));
      return { started: params.get('id') };
    case 'arc': {
      const up = required(params, 'up');
      const ports = host.enginePorts('arc');
      const count = up === 'all' ? ports.length : Number(up);
      if (!Number.isInteger(count) || count < 0 || count > ports.length)
        throw new Error(`up must be 0…${ports.length} or all, not ${up}`);
      await host.stopEngine('arc');
      if (count > 0) await host.startEngine('arc', ports.slice(0, count));
      return { endpointsUp: count, of: ports.length };
    }
    case 'db-replication': {
      const enabled = required(params, 'enabled') === '1';
      return { enabled, subscriptions: await setDatabaseReplication(host, enabled) };
    }
    case 'partition': {
      const relays = host.relays();
      if (!relays) throw new Error('the cross-region links are not started yet');
      const cut = required(params, 'cut') === '1';
      const connectionsBroken = cut ? relays.partition() : (relays.heal(), 0);
      host.save();
      return { partitioned: cut, connectionsBroken };
    }
    default:
      throw new Error(`unknown fault action ${action}`);
  }
}
