import { Command } from '@oclif/core';

export interface VersionInfo {
  readonly name: string;
  readonly version: string;
  readonly node: string;
  readonly platform: string;
  readonly arch: string;
}

export default class Version extends Command {
  static override summary = 'Show the version of tsr, of Node.js and the platform (also -v, --version)';
  static override examples = ['<%= config.bin %> version', '<%= config.bin %> version --json'];
  // Not a TsrCommand: it reads no configuration, so a broken tsr.config.yaml cannot hide the version.
  static override enableJsonFlag = true;

  async run(): Promise<VersionInfo> {
    await this.parse(Version);
    const info = {
      name: this.config.name,
      version: this.config.version,
      node: process.versions.node,
      platform: process.platform,
      arch: process.arch,
    };
    if (!this.jsonEnabled()) this.log(this.config.userAgent);
    return info;
  }
}
