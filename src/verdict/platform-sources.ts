import { ExitCode, UserError } from '../errors.js';
import { AwsPlatform } from '../platform/aws/aws-platform.js';
import { LocalPlatform } from '../platform/local-platform.js';
import type { Platform } from '../platform/platform.js';
import { awsSources } from './aws-sources.js';
import { isSources, localSources, type VerdictSources } from './sources.js';

/**
 * The sources of any platform: the local one's engines, or on AWS the writers' clusters through the RDS Data API
 * (src/verdict/aws-sources.ts). Async: on AWS the writers are looked up first.
 */
export async function sourcesOf(platform: Platform | VerdictSources): Promise<VerdictSources> {
  if (isSources(platform)) return platform;
  if (platform instanceof LocalPlatform) return localSources(platform);
  if (platform instanceof AwsPlatform) return awsSources(platform);
  throw new UserError(`the verdict cannot read the ${platform.target} target`, undefined, ExitCode.usage);
}

/**
 * Refuses, before a game day with load starts, an AWS platform whose core databases the verdict will not read (a
 * cluster without the Data API, a record without the secrets): a drill is long to find that out at its end.
 */
export async function checkVerdictReadable(platform: Platform): Promise<void> {
  if (platform instanceof AwsPlatform) await awsSources(platform);
}
