import { TsrCommand } from '../../lib/base-command.js';
import { deriveNames, type ResourceNames, type TsrConfig } from '../../config/model.js';
import { renderConfig } from '../../lib/render-config.js';

export default class ConfigShow extends TsrCommand<typeof ConfigShow> {
  static override summary = 'Show the resolved configuration and every resource name derived from it';
  static override description =
    'Settings come from defaults, then tsr.config.yaml (or --config), then TSR_* environment variables, then flags. ' +
    'Use this to check what a deploy or runbook would act on before running it.';
  static override examples = [
    '<%= config.bin %> config show',
    '<%= config.bin %> config show --regions eu-west-1,eu-central-1 --json',
  ];

  async run(): Promise<{ config: TsrConfig; names: ResourceNames }> {
    const config = this.loadConfig();
    const names = deriveNames(config);
    if (!this.jsonEnabled()) this.log(renderConfig(config, names));
    return { config, names };
  }
}
