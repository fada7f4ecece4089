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
