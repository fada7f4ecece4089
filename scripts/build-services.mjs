// Bundles the service entry point (dist/services/main.js) and everything it imports into one file,
// dist/services/main.bundle.mjs, which the local platform starts for every service process: loading one file instead
// of a few thousand modules (the AWS SDK above all) takes about half the time, and a deploy or a returning region
// starts twenty of them at once on a small machine. Part of `npm run build`; the unbundled main.js stays for the
// container image and as the fallback.
import { build } from 'esbuild';

await build({
  entryPoints: ['dist/services/main.js'],
  outfile: 'dist/services/main.bundle.mjs',
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
