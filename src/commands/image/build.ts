import { Flags } from '@oclif/core';
import { TsrCommand } from '../../lib/base-command.js';
import { buildImage, findDocker, IMAGE_PLATFORM, LOCAL_IMAGE, type BuildResult } from '../../infra/aws/image.js';

export default class ImageBuild extends TsrCommand<typeof ImageBuild> {
  static override summary = 'Build the services image for the ECS tasks (docker buildx, linux/arm64)';
  static override description = `Builds the repository's Dockerfile with \`docker buildx build --platform ${IMAGE_PLATFORM} --load\` as ${LOCAL_IMAGE}:<tag>, for the tasks' architecture whatever the build machine's (an x86 machine needs QEMU for buildx; the error says how). Then \`tsr image push\` puts it in every region's ECR repository.`;
  static override examples = [
    '<%= config.bin %> image build',
    '<%= config.bin %> image build --tag v1.4.0 && <%= config.bin %> image push --tag v1.4.0',
  ];
  static override flags = {
    tag: Flags.string({ description: 'image tag', default: 'latest' }),
    context: Flags.string({ description: 'directory holding the Dockerfile', default: '.' }),
  };

  async run(): Promise<BuildResult> {
    const docker = findDocker(process.env);
    if (!this.jsonEnabled()) this.log(`Building ${LOCAL_IMAGE}:${this.flags.tag} for ${IMAGE_PLATFORM}…`);
    const result = await buildImage(
      { docker, env: process.env, onLine: this.jsonEnabled() ? undefined : (line) => this.logToStderr(`  ${line}`) },
      { context: this.flags.context, tag: this.flags.tag },
    );
    if (!this.jsonEnabled())
      this.log(`Built ${result.image} (${result.platform}) in ${(result.durationMs / 1000).toFixed(1)} s`);
    return result;
  }
}
