import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * Layers (docs/architecture.md#layers): imports point one way, from the person to the data. Each entry names a
 * folder of src/ and the folders it must never import; a wrong-way import fails `npm run lint`.
 */
const CLI_SIDE = ['commands', 'dashboard', 'lib', 'runbooks', 'reconcile', 'verdict', 'platform', 'infra', 'gameday'];
const LAYERS = [
  // The dashboard is a face of the CLI (its buttons call what the commands call); the local platform starts it as
  // a process, by path, never by import.
  { folder: 'dashboard', never: ['commands'] },
  // Game days run scenarios on the runbook engine and judge them with the verdict; only commands and the dashboard
  // sit above them.
  { folder: 'gameday', never: ['commands', 'dashboard', 'lib', 'infra'] },
  { folder: 'runbooks', never: ['commands', 'dashboard', 'gameday'] },
  { folder: 'reconcile', never: ['commands', 'dashboard', 'runbooks', 'verdict', 'gameday'] },
  // The verdict per trade: used by game days and commands; reads the ledger, the core databases and the safe stores.
  { folder: 'verdict', never: ['commands', 'dashboard', 'runbooks', 'gameday'] },
  // What commands and drills share to talk to a person: tables, prompts, progress, the base command.
  { folder: 'lib', never: ['commands', 'dashboard', 'runbooks', 'reconcile', 'verdict', 'gameday'] },
  { folder: 'platform', never: ['commands', 'dashboard', 'lib', 'runbooks', 'reconcile', 'verdict', 'gameday'] },
  // Local infrastructure applies the core databases' migrations (services/core-db) before starting the services.
  {
    folder: 'infra',
    never: ['commands', 'dashboard', 'lib', 'runbooks', 'reconcile', 'verdict', 'platform', 'gameday'],
    services: 'core-db',
  },
  // The services ship alone in the container image: their runtime, the domain, config and the shared clients only.
  { folder: 'services', never: CLI_SIDE },
  { folder: 'clients', never: [...CLI_SIDE, 'services'] },
  { folder: 'config', never: [...CLI_SIDE, 'services', 'clients'] },
  { folder: 'domain', never: [...CLI_SIDE, 'services', 'clients', 'config'] },
];

function layerRule({ folder, never, services }) {
  const patterns = [
    {
      regex: `^(\\.\\./)+(${never.join('|')})/`,
      message: `src/${folder} must not import ${never.join(', ')} (docs/architecture.md#layers)`,
    },
  ];
  if (services) {
    patterns.push({
      regex: `^(\\.\\./)+services/(?!${services}/)`,
      message: `src/${folder} may use only services/${services} of the services (docs/architecture.md#layers)`,
    });
  }
  return {
    files: [`src/${folder}/**/*.ts`],
    rules: { 'no-restricted-imports': ['error', { patterns }] },
  };
}

export default tseslint.config(
  { ignores: ['dist/', 'coverage/', 'cdktf.out/', '.tsr/', '.bench/', 'node_modules/', 'bin/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  ...LAYERS.map(layerRule),
);
