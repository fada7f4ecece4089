/**
 * The services image on AWS: built from the repository's Dockerfile for the ECS tasks' architecture with docker
 * buildx, pushed to the ECR repository of every region (each region's tasks pull from their own, so a region stays
 * independent of the others), and rolled out by a new ECS deployment of every service.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import path from 'node:path';
import { ECRClient, GetAuthorizationTokenCommand } from '@aws-sdk/client-ecr';
import { ECSClient, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { STAGES } from '../../config/apps.js';
import type { TsrConfig } from '../../config/model.js';
import { ExitCode, UserError } from '../../errors.js';
import { checkAwsCredentials } from './credentials.js';
import { awsNames, IMAGE_PLATFORM } from './naming.js';

export { IMAGE_PLATFORM };

/** The name of the image built locally, before it is tagged for each region's repository. */
export const LOCAL_IMAGE = 'tsr-services';
/** Task definitions run this tag (see constructs/services.ts); a push always moves it too. */
export const RUNNING_TAG = 'latest';

const DOCKER_FIX =
  'install Docker with the buildx plugin (https://docs.docker.com/engine/install/), or set TSR_DOCKER to its path; ' +
  'without docker, build and push from a machine or CI job that has it (see README: "The services image on AWS")';

/** docker on PATH, or TSR_DOCKER. */
export function findDocker(env: NodeJS.ProcessEnv = process.env): string {
  const candidates = env.TSR_DOCKER
    ? [env.TSR_DOCKER]
    : (env.PATH ?? '')
        .split(path.delimiter)
        .filter(Boolean)
        .map((dir) => path.join(dir, 'docker'));
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // next
    }
  }
  throw new UserError(
    env.TSR_DOCKER ? `TSR_DOCKER=${env.TSR_DOCKER} is not an executable file` : 'docker was not found on PATH',
    DOCKER_FIX,
    ExitCode.usage,
  );
}

export interface DockerRun {
  readonly docker: string;
  readonly env: NodeJS.ProcessEnv;
  /** Each output line, for progress. */
  readonly onLine?: (line: string) => void;
}

/** Runs docker; rejects naming the command and its last lines on a non-zero exit. `input` goes to its stdin. */
export function runDocker(run: DockerRun, args: readonly string[], input?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(run.docker, [...args], { env: run.env, stdio: ['pipe', 'pipe', 'pipe'] });
    const tail: string[] = [];
    const take = (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n').filter(Boolean)) {
        tail.push(line);
        if (tail.length > 20) tail.shift();
        run.onLine?.(line);
      }
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    child.stdin.end(input);
    child.once('error', reject);
    child.once('close', (code) => {
      if (code === 0) return resolve();
      // `docker login` gets the password on stdin, never as an argument: the command line is safe to show.
      reject(
        new UserError(
          `docker ${args[0]} ${args[1] ?? ''} failed (exit ${code}):\n${tail.join('\n')}`.trim(),
          args[0] === 'buildx'
            ? `${DOCKER_FIX}; for another architecture buildx needs QEMU (\`docker run --privileged --rm tonistiigi/binfmt --install arm64\`)`
            : undefined,
        ),
      );
    });
  });
}

export interface BuildOptions {
  /** Directory holding the Dockerfile (the repository root). */
  readonly context: string;
  readonly tag: string;
}

export interface BuildResult {
  readonly image: string;
  readonly platform: string;
  readonly durationMs: number;
}

/** `docker buildx build --platform linux/arm64 --load`: an image for the tasks' architecture on any build machine. */
export async function buildImage(run: DockerRun, options: BuildOptions): Promise<BuildResult> {
  const started = Date.now();
  if (!existsSync(path.join(options.context, 'Dockerfile'))) {
    throw new UserError(
      `no Dockerfile in ${options.context}`,
      'run it from a checkout of tsr (the Dockerfile is at its root), or pass --context',
      ExitCode.usage,
    );
  }
  const image = `${LOCAL_IMAGE}:${options.tag}`;
  await runDocker(run, ['buildx', 'build', '--platform', IMAGE_PLATFORM, '--tag', image, '--load', options.context]);
  return { image, platform: IMAGE_PLATFORM, durationMs: Date.now() - started };
}

export interface PushOptions {
  readonly tag: string;
  /** Start a new ECS deployment of every service so tasks run the pushed image (default true). */
  readonly roll?: boolean;
}

export interface RegionPush {
  readonly region: string;
  readonly repository: string;
  /** The references pushed: `<repository>:<tag>` and `<repository>:latest`. */
  readonly pushed: readonly string[];
  /** ECS services given a new deployment. */
  readonly rolled: readonly string[];
}

export interface PushResult {
  readonly account: string;
  readonly image: string;
  readonly regions: readonly RegionPush[];
  readonly durationMs: number;
}

/** The ECS service names of one region (every stage of each app, and the generator). */
function serviceNames(config: TsrConfig): string[] {
  const aws = awsNames(config);
  return [
    ...config.apps.flatMap((app) => STAGES.map((stage) => aws.service(app, stage))),
    ...(config.apps.includes('trade') ? [aws.service('generator')] : []),
  ];
}

/**
 * Pushes the locally built image to every region's ECR repository (logging docker in with a token from ECR's
 * GetAuthorizationToken, passed on stdin), as `<tag>` and as the tag the task definitions run, then rolls every
 * service of the region.
 */
export async function pushImage(config: TsrConfig, run: DockerRun, options: PushOptions): Promise<PushResult> {
  const started = Date.now();
  const identity = await checkAwsCredentials(config.regions[0], config.aws.accountId);
  const aws = awsNames(config);
  const local = `${LOCAL_IMAGE}:${options.tag}`;
  const regions: RegionPush[] = [];
  for (const region of config.regions) {
    const ecr = new ECRClient({ region, maxAttempts: 3 });
    let registry: string;
    let password: string;
    try {
      const token = await ecr.send(new GetAuthorizationTokenCommand({}));
      const data = token.authorizationData?.[0];
      if (!data?.authorizationToken || !data.proxyEndpoint) throw new Error('ECR returned no authorization token');
      // The token is base64 of `AWS:<password>`.
      password = Buffer.from(data.authorizationToken, 'base64').toString('utf8').replace(/^AWS:/, '');
      registry = data.proxyEndpoint.replace(/^https:\/\//, '');
    } catch (error) {
      throw new UserError(
        `cannot get an ECR login for ${region}: ${(error as Error).message}`,
        'check the credentials may call ecr:GetAuthorizationToken, and that the region is deployed',
      );
    } finally {
      ecr.destroy();
    }
    const repository = `${registry}/${aws.ecrRepository}`;
    await runDocker(run, ['login', '--username', 'AWS', '--password-stdin', registry], password);
    const pushed: string[] = [];
    for (const tag of [...new Set([options.tag, RUNNING_TAG])]) {
      const remote = `${repository}:${tag}`;
      await runDocker(run, ['tag', local, remote]);
      await runDocker(run, ['push', remote]);
      pushed.push(remote);
    }
    const rolled: string[] = [];
    if (options.roll !== false) {
      const ecs = new ECSClient({ region, maxAttempts: 3 });
      try {
        for (const service of serviceNames(config)) {
          await ecs.send(new UpdateServiceCommand({ cluster: aws.ecsCluster, service, forceNewDeployment: true }));
          rolled.push(service);
        }
      } catch (error) {
        throw new UserError(
          `pushed to ${repository}, but rolling the services in ${region} failed: ${(error as Error).message}`,
          `deploy first (\`tsr deploy --target aws\`), or roll later with \`tsr image push --tag ${options.tag}\``,
        );
      } finally {
        ecs.destroy();
      }
    }
    regions.push({ region, repository, pushed, rolled });
  }
  return { account: identity.account, image: local, regions, durationMs: Date.now() - started };
}
