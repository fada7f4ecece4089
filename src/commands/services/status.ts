import { TsrCommand } from '../../lib/base-command.js';
import { renderServices } from '../../lib/render-services.js';
import { ExitCode } from '../../errors.js';
import { listServices, type ServiceStatus } from '../../platform/local-services.js';
import { openLocalPlatform } from '../../platform/open.js';

export default class ServicesStatus extends TsrCommand<typeof ServicesStatus> {
  static override summary = 'Show every service process: up or down, restarts, records in/out, rejections, backlog';
  static override description =
    'One process per stage per region (plus the generator), supervised like ECS tasks: a process that dies is ' +
    'restarted with backoff. Counters come from each service itself. Exits 4 if any service is down.';
  static override examples = ['<%= config.bin %> services status', '<%= config.bin %> services status --json'];

  async run(): Promise<{ services: ServiceStatus[] }> {
    const platform = await openLocalPlatform(this.loadConfig());
    try {
      const services = await listServices(platform.state);
      if (!this.jsonEnabled()) this.log(renderServices(services));
      if (services.some((s) => !s.up)) process.exitCode = ExitCode.unhealthy;
      return { services };
    } finally {
      await platform.close();
    }
  }
}
