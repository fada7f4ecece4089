import { editDistance } from '../domain/suggest.js';
import { ExitCode, UserError } from '../errors.js';

/** AWS commercial regions tsr accepts. Regions are names here; the local target only borrows them as labels. */
export const AWS_REGIONS = [
  'us-east-1',
  'us-east-2',
  'us-west-1',
  'us-west-2',
  'ca-central-1',
  'ca-west-1',
  'sa-east-1',
  'mx-central-1',
  'eu-west-1',
  'eu-west-2',
  'eu-west-3',
  'eu-central-1',
  'eu-central-2',
  'eu-north-1',
  'eu-south-1',
  'eu-south-2',
  'ap-south-1',
  'ap-south-2',
  'ap-southeast-1',
  'ap-southeast-2',
  'ap-southeast-3',
  'ap-southeast-4',
  'ap-southeast-5',
  'ap-southeast-7',
  'ap-northeast-1',
  'ap-northeast-2',
  'ap-northeast-3',
  'ap-east-1',
  'me-south-1',
  'me-central-1',
  'il-central-1',
  'af-south-1',
] as const;

export type RegionName = string;

export function isKnownRegion(region: string): boolean {
  return (AWS_REGIONS as readonly string[]).includes(region);
}

/** The closest known region names to a typo, for "did you mean" hints. */
export function suggestRegions(region: string): string[] {
  return AWS_REGIONS.map((r) => ({ r, d: editDistance(region, r) }))
    .filter(({ d }) => d <= 3)
    .sort((x, y) => x.d - y.d)
    .slice(0, 3)
    .map(({ r }) => r);
}

/** A region given on the command line must be one of the configuration's: checked before the platform is opened. */
export function requireConfiguredRegion(config: { readonly regions: readonly string[] }, region: string): string {
  if (config.regions.includes(region)) return region;
  const close = suggestRegions(region).filter((r) => config.regions.includes(r));
  throw new UserError(
    `region ${region} is not one of this environment's regions (${config.regions.join(', ')})`,
    close.length ? `did you mean ${close.join(' or ')}?` : `use one of ${config.regions.join(', ')}`,
    ExitCode.usage,
  );
}
