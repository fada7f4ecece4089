import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { App } from 'cdktf';
import { deriveNames, type TsrConfig } from '../../config/model.js';
import { UserError } from '../../errors.js';
import { DEFAULT_OUT_DIR } from './deployment-record.js';
import { awsNames } from './naming.js';
import { GlobalStack } from './stacks/global-stack.js';
import { stateBackendOf, stateFileName, stateKey, type StateBackend } from './stacks/provider.js';
import { RegionalStack } from './stacks/regional-stack.js';

export { DEFAULT_OUT_DIR };

export interface SynthOptions {
  /** Services image for every ECS task; default: each region's ECR repository, tag `latest`. */
  readonly image?: string;
}

export interface SynthesizedStack {
  readonly id: string;
  readonly kind: 'global' | 'regional';
  readonly region?: string;
  /** Directory holding cdk.tf.json; terraform runs here. */
  readonly dir: string;
  /** Stacks that must be applied before this one. */
  readonly dependsOn: readonly string[];
  readonly resourceCount: number;
  readonly dataSourceCount: number;
  /** Resource count per Terraform resource type. */
  readonly resourcesByType: Readonly<Record<string, number>>;
}

export interface SynthResult {
  readonly outDir: string;
  /** Where terraform keeps the stacks' state (aws.stateBucket / aws.stateLockTable; default local files). */
  readonly state: StateBackend & { readonly location: string };
  /** Things the reader should know about the result (e.g. local state). */
  readonly notes: readonly string[];
  readonly environment: string;
  readonly regions: readonly string[];
  /** In apply order: global, the primary region, then the other regions. */
  readonly stacks: readonly SynthesizedStack[];
  readonly resourceCount: number;
  readonly durationMs: number;
}

export interface TerraformJson {
  resource?: Record<string, Record<string, unknown>>;
  data?: Record<string, Record<string, unknown>>;
  locals?: Record<string, unknown>;
  output?: Record<string, unknown>;
  provider?: Record<string, Record<string, unknown>[]>;
  terraform?: Record<string, unknown>;
}

function countBlocks(blocks: TerraformJson['resource']): { total: number; byType: Record<string, number> } {
  const byType: Record<string, number> = {};
  let total = 0;
  for (const [type, instances] of Object.entries(blocks ?? {})) {
    byType[type] = Object.keys(instances).length;
    total += byType[type];
  }
  return { total, byType };
}

/** Reads one synthesized stack's Terraform JSON. */
export function readStackJson(stackDir: string): TerraformJson {
  return JSON.parse(readFileSync(path.join(stackDir, 'cdk.tf.json'), 'utf8')) as TerraformJson;
}

/**
 * Synthesizes the AWS infrastructure (offline: no terraform, no credentials) into `outDir`: one global stack and
 * one stack per region, as Terraform JSON under `outDir/stacks/<id>/cdk.tf.json`. Terraform state files already in
 * those directories are left alone.
 */
export function synthesize(
  config: TsrConfig,
  outDir: string = DEFAULT_OUT_DIR,
  options: SynthOptions = {},
): SynthResult {
  const started = performance.now();
  if (config.regions.length < 2) {
    throw new UserError(
      `the AWS target needs at least two regions (active and hot standby), got ${config.regions.length}`,
      'pass --regions with two or more regions, e.g. --regions us-east-1,us-west-2',
    );
  }
  const absoluteOut = path.resolve(outDir);
  mkdirSync(absoluteOut, { recursive: true });
  const names = deriveNames(config);
  const aws = awsNames(config);
  const app = new App({ outdir: absoluteOut, skipValidation: false });

  const global = new GlobalStack(app, aws.globalStack, { config, names, aws });
  const [primary, ...others] = config.regions;
  const primaryStack = new RegionalStack(app, aws.regionalStack(primary), {
    config,
    names,
    aws,
    region: primary,
    image: options.image,
  });
  primaryStack.addDependency(global);
  const regional = [primaryStack];
  for (const region of others) {
    const stack = new RegionalStack(app, aws.regionalStack(region), {
      config,
      names,
      aws,
      region,
      image: options.image,
    });
    // Secondary Aurora clusters join a global cluster that already has its writer (the primary region's); the VPC
    // peering with every earlier region needs that region's VPC.
    stack.addDependency(global);
    for (const earlier of regional) stack.addDependency(earlier);
    regional.push(stack);
  }
  app.synth();

  const describe = (id: string, kind: 'global' | 'regional', region?: string): SynthesizedStack => {
    const dir = path.join(absoluteOut, 'stacks', id);
    const json = readStackJson(dir);
    const resources = countBlocks(json.resource);
    const data = countBlocks(json.data);
    const earlier = kind === 'global' ? [] : config.regions.slice(0, config.regions.indexOf(region as string));
    const dependsOn = kind === 'global' ? [] : [aws.globalStack, ...earlier.map((r) => aws.regionalStack(r))];
    return {
      id,
      kind,
      region,
      dir,
      dependsOn,
      resourceCount: resources.total,
      dataSourceCount: data.total,
      resourcesByType: resources.byType,
    };
  };
  const stacks = [
    describe(global.node.id, 'global'),
    ...regional.map((stack) => describe(stack.node.id, 'regional', stack.region)),
  ];
  const backend = stateBackendOf(config);
  const notes: string[] = [];
  let location: string;
  if (backend.kind === 'local') {
    location = path.join(absoluteOut, 'stacks', '<stack>', stateFileName('<stack>'));
    notes.push(
      `Terraform state is local (${location}): keep ${absoluteOut} (it holds the generated passwords: keep it ` +
        'private), and do not apply from another machine. ' +
        'For shared use set aws.stateBucket (and aws.stateLockTable) in tsr.config.yaml.',
    );
  } else {
    location = `s3://${backend.bucket}/${stateKey(config.environment, '<stack>')}`;
    if (!backend.lockTable) {
      notes.push('State is locked with S3 native locking (use_lockfile): needs terraform or tofu 1.10 or later.');
    }
  }
  return {
    outDir: absoluteOut,
    state: { ...backend, location },
    notes,
    environment: config.environment,
    regions: config.regions,
    stacks,
    resourceCount: stacks.reduce((sum, s) => sum + s.resourceCount, 0),
    durationMs: Math.round(performance.now() - started),
  };
}
