#!/usr/bin/env -S node --import tsx --no-warnings
// Development entry: runs the TypeScript sources directly. Users, services and tests run bin/run.js on the build.
import { execute } from '@oclif/core';

await execute({ development: true, dir: import.meta.url });
