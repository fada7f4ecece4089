import { Flags } from '@oclif/core';
import { TsrCommand } from '../../lib/base-command.js';
import { confirmDestructive } from '../../lib/confirm.js';
import { recoverGameDay, type RecoverResult } from '../../gameday/recover.js';
import { ActiveFaults } from '../../platform/faults.js';

export default class GameDayRecover extends TsrCommand<typeof GameDayRecover> {
  static override summary = 'Undo every fault a game day left injected (after tsr itself crashed or was killed)';
  static override description =
    'A game day records each fault with its undo before injecting it, and forgets it once undone. After tsr died ' +
    'mid-run, this undoes whatever the record still holds (newest first, each even if one fails) and stops the ' +
    'generator a dead game day left running. Safe to run twice.';
  static override examples = ['<%= config.bin %> gameday recover', '<%= config.bin %> gameday recover --yes --json'];
  static override flags = { yes: Flags.boolean({ char: 'y', description: 'do not ask for confirmation' }) };

  async run(): Promise<RecoverResult> {
    const config = this.loadConfig();
    const pending = new ActiveFaults(config.workspace).list();
    if (pending.length && !this.flags.yes)
      await confirmDestructive({
        question: `Undo ${pending.length} fault(s): ${pending.map((f) => f.summary).join(', ')}?`,
      });
    const result = await recoverGameDay(config, (text) => !this.jsonEnabled() && this.log(text));
    if (!this.jsonEnabled()) {
      if (!result.undone.length && !result.failed.length)
        this.log('No fault is recorded as injected: nothing to undo.');
      for (const f of result.failed) this.log(`could not undo ${f}`);
      if (result.generatorStopped) this.log('Stopped the generator the game day left running.');
    }
    if (result.failed.length) process.exitCode = 1;
    return result;
  }
}
