#!/usr/bin/env node
import { execute } from '@oclif/core';

// The AWS SDK versions are pinned in package-lock.json; its Node 22 notice is not something a user can act on.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

await execute({ dir: import.meta.url });
