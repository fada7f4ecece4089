import { Flags } from '@oclif/core';
import { TsrCommand } from '../../lib/base-command.js';
import { findDocker, LOCAL_IMAGE, pushImage, RUNNING_TAG, type PushResult } from '../../infra/aws/image.js';

export default class ImagePush extends TsrCommand<typeof ImagePush> {
  static override summary = "Push the services image to every region's ECR repository and roll the services";
  static override description = `Pushes ${LOCAL_IMAGE}:<tag> (from \`tsr image build\`) to the ECR repository of every region, as <tag> and as ${RUNNING_TAG} (the tag the task definitions run), logging docker in with a token from ECR, then starts a new ECS deployment of every service so the tasks pull it. Needs the environment deployed (\`tsr deploy --target aws\`) and AWS credentials.`;
  static override examples = [
    '<%= config.bin %> image push --target aws --regions us-east-1,us-west-2',
    '<%= config.bin %> image push --target aws --tag v1.4.0 --no-roll',
  ];
  static override flags = {
    tag: Flags.string({ description: 'tag of the locally built image', default: RUNNING_TAG }),
    roll: Flags.boolean({
      description: 'start a new deployment of every service afterwards',
      default: true,
      allowNo: true,
    }),
  };

  async run(): Promise<PushResult> {
    const config = this.loadConfig();
    const docker = findDocker(process.env);
    const result = await pushImage(
      config,
      { docker, env: process.env, onLine: this.jsonEnabled() ? undefined : (line) => this.logToStderr(`  ${line}`) },
      { tag: this.flags.tag, roll: this.flags.roll },
    );
    if (!this.jsonEnabled()) {
      for (const region of result.regions) {
        this.log(`${region.region}: pushed ${region.pushed.join(', ')}; rolled ${region.rolled.length} services`);
      }
    }
    return result;
  }
}
