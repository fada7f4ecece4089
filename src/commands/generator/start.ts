import { Flags } from '@oclif/core';
import { ExitCode, UserError } from '../../errors.js';
import { TsrCommand } from '../../lib/base-command.js';
import { rateText, renderGenerator } from '../../lib/render-generator.js';
import { statusLine } from '../../lib/status-line.js';
import { type GeneratorStatus, startGenerator, waitForAutoRate } from '../../platform/generator-control.js';
import { openPlatform } from '../../platform/open.js';

export type GeneratorStartResult = GeneratorStatus & {
  /** `--rate auto`: the loop settled on a sustainable rate within --timeout (absent with a fixed rate or --no-wait). */
  readonly settled?: boolean;
};

/** "auto", or whole pairs per second in 1..5000. */
function parseRate(text: string): number | 'auto' {
  if (text === 'auto') return 'auto';
  const rate = Number(text);
  if (!Number.isInteger(rate) || rate < 1 || rate > 5_000)
    throw new UserError(
      `--rate ${text} is not a rate`,
      'give whole pairs per second from 1 to 5000 (e.g. --rate 50), or --rate auto',
      ExitCode.usage,
    );
  return rate;
}

export default class GeneratorStart extends TsrCommand<typeof GeneratorStart> {
  static override summary = 'Start generating trade pairs (turns the trade-generator routing control ON)';
  static override description =
    'The generator submits pairs of trade sides at a steady rate to the broker of the region whose trade dns control ' +
    'is ON: matched, mismatched and unmatched pairs (1/3 each by default), some matched pairs with a settlement ' +
    'difference. Changing --rate while it runs applies at once, without a restart. Every pair and the final state it ' +
    'must reach is written to a ledger, so the outcome can be checked exactly.\n\n' +
    '--rate auto finds and holds the sustainable rate: every 5 s the rate becomes what the platform confirmed over ' +
    'the last 30 s plus the gap to a small backlog in flight (about 6 s of flow), so every stage stays busy and ' +
    'nothing piles up. The command waits (progress on stderr) until what the platform confirmed has stayed within ' +
    '±20% for 30 s with about that much offered, and says what it found; the ' +
    'generator keeps adjusting after that. Exits 4 if it has not settled within --timeout (the generator keeps ' +
    'searching). `tsr generator status` shows the rate found; `tsr generator rate <n>` ends auto.\n\n' +
    'With --target aws the generator is an ECS service: start runs one task (in the first region where trade is not ' +
    'active) and may wait a few minutes for it; the rate goes through a settings item the task polls, and its ledger ' +
    'is the <env>-generator-ledger global table.';
  static override examples = [
    '<%= config.bin %> generator start --rate 50',
    '<%= config.bin %> generator start',
    '<%= config.bin %> generator start --rate auto',
    '<%= config.bin %> generator start --rate auto --no-wait',
  ];
  static exitCodes = [ExitCode.ok, ExitCode.usage, ExitCode.notDeployed, ExitCode.unhealthy];
  static override flags = {
    rate: Flags.string({ description: 'trade pairs per second (1 to 5000), or auto' }),
    wait: Flags.boolean({
      description: 'with --rate auto: wait until the sustainable rate is found',
      default: true,
      allowNo: true,
    }),
    timeout: Flags.integer({
      description: 'with --rate auto: seconds to wait for the rate to settle (10 to 1800)',
      default: 300,
      min: 10,
      max: 1_800,
    }),
  };

  async run(): Promise<GeneratorStartResult> {
    const rate = this.flags.rate === undefined ? undefined : parseRate(this.flags.rate);
    const platform = await openPlatform(this.loadConfig());
    try {
      const started = await startGenerator(platform, { rate });
      if (rate !== 'auto' || !this.flags.wait) {
        if (!this.jsonEnabled()) this.log(renderGenerator(started));
        return started;
      }
      const line = statusLine({ silent: this.jsonEnabled() });
      const { settled, status } = await waitForAutoRate(platform, {
        timeoutMs: this.flags.timeout * 1000,
        onProgress: (s) =>
          line.update(
            `${rateText(s)}; confirmed ${s.flow?.confirmedPerSecond ?? '?'} pairs/s, ` +
              `${s.flow?.backlog ?? '?'} pairs awaiting confirmation`,
          ),
      }).finally(() => line.done());
      if (!settled) process.exitCode = ExitCode.unhealthy;
      if (!this.jsonEnabled()) {
        this.log(renderGenerator(status));
        this.log(
          settled
            ? `Sustainable rate found: ${status.auto?.found} pairs/s; the generator holds it (and follows the platform if that changes).`
            : `No steady rate within ${this.flags.timeout} s: the generator keeps searching (now ${status.auto?.rate} pairs/s). ` +
                'Fix: `tsr status` shows where the platform falls behind; wait longer with --timeout.',
        );
      }
      return { ...status, settled };
    } finally {
      await platform.close();
    }
  }
}
