/** `npm run bench`: every performance figure the issues ask for, printed in one run. */
import { benchPlatform } from './platform.js';

const sections: [string, () => Promise<void>][] = [['Local platform', () => benchPlatform()]];
const only = process.argv[2];

for (const [title, run] of sections) {
  if (only && !title.toLowerCase().includes(only.toLowerCase())) continue;
  console.log(`\n== ${title}`);
  await run();
}
