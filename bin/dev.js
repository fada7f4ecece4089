#!/usr/bin/env -S node --import tsx --no-warnings
// Development entry: runs the TypeScript sources directly. Users, services and tests run bin/run.js on the build.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
import { execute } from '@oclif/core';

await execute({ development: true, dir: import.meta.url });
