// Bundles the service entry point (dist/services/main.js) and everything it imports into one file,
// dist/services/main.bundle.mjs, which the local platform starts for every service process: loading one file instead
// of a few thousand modules (the AWS SDK above all) takes about half the time, and a deploy or a returning region
// starts twenty of them at once on a small machine. Part of `npm run build`; the unbundled main.js stays for the
// container image and as the fallback.
import { readFileSync, writeFileSync } from 'node:fs';
import { build } from 'esbuild';

const OUTFILE = 'dist/services/main.bundle.mjs';

await build({
  entryPoints: ['dist/services/main.js'],
  outfile: OUTFILE,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: ['node20'],
  // pg loads its optional native binding only when asked to; it is not installed.
  external: ['pg-native'],
  // CommonJS dependencies inside an ES module bundle still call require() for Node's built-ins.
  banner: {
    js: "import { createRequire as __tsrCreateRequire } from 'node:module'; const require = __tsrCreateRequire(import.meta.url);",
  },
  legalComments: 'none',
  logLevel: 'warning',
});

// V8 keeps a script's source in memory, one byte a character only when every character is Latin-1: a few comments
// of bundled dependencies (§, —) made every service hold its 3 MB bundle as 6.4 MB. esbuild already escapes
// non-ASCII characters in code; what it leaves is in comments, where an escape reads as well.
const bundled = readFileSync(OUTFILE, 'utf8');
writeFileSync(
  OUTFILE,
  bundled.replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`),
);
