import { TsrCommand } from '../../lib/base-command.js';
import { deriveNames, type ResourceNames, type TsrConfig } from '../../config/model.js';
import { describeSource } from '../../config/layers.js';
import { renderConfig } from '../../lib/render-config.js';

export default class ConfigShow extends TsrCommand<typeof ConfigShow> {
  static override summary = 'Show the resolved configuration, where each setting came from, and every resource name';
  static override description =
    'Settings come from defaults, then tsr.config.yaml (or --config), then TSR_* environment variables, then flags, ' +
    "each setting on its own (TSR_BASE_PORT changes local.basePort and leaves the file's other local settings). " +
    'Beside each value: where it came from (default, file:line, TSR_* variable or flag). Use this to check what a ' +
    'deploy or runbook would act on before running it.';
  static override examples = [
    '<%= config.bin %> config show',
    '<%= config.bin %> config show --regions eu-west-1,eu-central-1 --json',
  ];

  async run(): Promise<{ config: TsrConfig; sources: Record<string, string>; names: ResourceNames }> {
    const { config, sources } = this.resolveConfig();
    const described = Object.fromEntries([...sources].map(([key, source]) => [key, describeSource(source)]));
    const names = deriveNames(config);
    if (!this.jsonEnabled()) this.log(renderConfig(config, names, described));
    return { config, sources: described, names };
  }
}
