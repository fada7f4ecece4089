/**
 * Jest runs the TypeScript tests as ES modules (the package is ESM; chalk/listr2/inquirer are ESM-only), in two tiers:
 * `unit` (test/unit: no engines, no sockets; `npm run test:unit`) and `integration` (test/integration: the real local
 * engines and the CLI end to end). `npm test` runs both.
 */
const common = {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.test.json' }],
  },
  setupFiles: ['<rootDir>/test/setup-env.ts'],
  // A workspace in the checkout (.tsr) holds PostgreSQL *.snap files: not jest snapshots.
  modulePathIgnorePatterns: ['<rootDir>/.tsr/'],
};

export default {
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    { ...common, displayName: 'integration', testMatch: ['<rootDir>/test/integration/**/*.test.ts'] },
  ],
  testTimeout: 60_000,
  maxWorkers: 2,
};
