import net from 'node:net';
import { bindPort, closeServer } from './http-server.js';

/** One direction between two regions: services in `from` reach `to`'s broker through this relay's port. */
export interface RelayRoute {
  readonly from: string;
  readonly to: string;
}

/** Where a region's broker listens now (it may come back on another port after region-down/up). */
export type BrokerAddress = (region: string) => { host: string; port: number } | undefined;

/**
 * The network between regions on one machine. On AWS a service reaches another region's broker over a peering
 * link that can fail; locally every process shares one loopback, so cross-region broker connections go through a
 * small TCP relay per direction instead, and cutting those relays is a real partition: established connections
 * break and new ones hang (a black hole, as a lost link looks to a client: no refusal, no answer) until healed.
 * Connections inside a region and the operator's own (tsr, the generator: outside the platform) are direct.
 */
export class RegionRelays {
  private readonly servers = new Map<string, net.Server>();
  private readonly ports = new Map<string, number>();
  private readonly open = new Set<net.Socket>();
  private readonly held = new Set<net.Socket>();
  private cut = false;

  constructor(
    private readonly routes: readonly RelayRoute[],
    private readonly broker: BrokerAddress,
  ) {}

  /** Every ordered pair of distinct regions. */
  static routesBetween(regions: readonly string[]): RelayRoute[] {
    return regions.flatMap((from) => regions.filter((to) => to !== from).map((to) => ({ from, to })));
  }

  private static key(route: RelayRoute): string {
    return `${route.from}>${route.to}`;
  }

  /** Binds each route on its preferred port (any free one when that is taken and `anyPortIfTaken`). */
  async start(preferred: readonly number[], anyPortIfTaken: boolean): Promise<void> {
    for (const [i, route] of this.routes.entries()) {
      const server = net.createServer((client) => this.accept(route, client));
      const port = await bindPort(server, preferred[i] ?? 0, anyPortIfTaken);
      this.servers.set(RegionRelays.key(route), server);
      this.ports.set(RegionRelays.key(route), port);
    }
  }

  /** The ports bound, in route order (the next deploy prefers them). */
  boundPorts(): number[] {
    return this.routes.map((route) => this.ports.get(RegionRelays.key(route)) ?? 0);
  }

  /** Every route's URL by "from>to". */
  urls(): Record<string, string> {
    return Object.fromEntries(
      this.routes.flatMap((route) => {
        const url = this.url(route.from, route.to);
        return url ? [[RegionRelays.key(route), url]] : [];
      }),
    );
  }

  /** The URL a service in `from` uses for `to`'s broker. */
  url(from: string, to: string): string | undefined {
    const port = this.ports.get(RegionRelays.key({ from, to }));
    return port ? `mqtt://127.0.0.1:${port}` : undefined;
  }

  get partitioned(): boolean {
    return this.cut;
  }

  /** Cuts every route: open connections break, new ones are held unanswered until `heal`. */
  partition(): number {
    this.cut = true;
    const broken = this.open.size;
    for (const socket of this.open) socket.destroy();
    return broken;
  }

  /** Heals the partition: connections held in the black hole are closed so their clients reconnect at once. */
  heal(): void {
    this.cut = false;
    for (const socket of this.held) socket.destroy();
    this.held.clear();
  }

  private accept(route: RelayRoute, client: net.Socket): void {
    client.on('error', () => client.destroy());
    if (this.cut) {
      this.held.add(client);
      client.on('close', () => this.held.delete(client));
      return;
    }
    const address = this.broker(route.to);
    if (!address) {
      client.destroy();
      return;
    }
    const upstream = net.connect(address.port, address.host);
    const pair = [client, upstream];
    for (const socket of pair) {
      this.open.add(socket);
      socket.on('error', () => pair.forEach((s) => s.destroy()));
      socket.on('close', () => {
        this.open.delete(socket);
        pair.forEach((s) => s.destroy());
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  }

  async stop(): Promise<void> {
    for (const socket of [...this.open, ...this.held]) socket.destroy();
    await Promise.all([...this.servers.values()].map(closeServer));
    this.servers.clear();
  }
}
