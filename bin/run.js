#!/usr/bin/env node
import { execute, settings } from '@oclif/core';

// The built CLI runs what was built, whatever NODE_ENV says (jest sets "test", which makes oclif look for the
// TypeScript sources of the help class and hooks); ./bin/dev.js is the way to run the sources.
settings.enableAutoTranspile = false;

// The AWS SDK versions are pinned in package-lock.json; its Node 22 notice is not something a user can act on.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

await execute({ dir: import.meta.url });
