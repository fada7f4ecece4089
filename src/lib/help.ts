import { type Command, Errors, Help } from '@oclif/core';
import { EXIT_CODES, ExitCode } from '../errors.js';
import { suggestCommand } from '../domain/suggest.js';

/** oclif's help, with "did you mean" when `tsr help <command>` names no command or topic. */
export default class TsrHelp extends Help {
  /** Commands that declare `static exitCodes` get an EXIT CODES section from the one table in errors.ts. */
  override formatCommand(command: Command.Loadable): string {
    const text = super.formatCommand(command);
    const codes = (command as Command.Loadable & { exitCodes?: readonly number[] }).exitCodes;
    if (!codes?.length) return text;
    const rows = EXIT_CODES.filter((e) => codes.includes(e.code)).map(
      (e) => `${String(e.code).padEnd(4)}${e.short}: ${e.meaning}`,
    );
    return `${text.trimEnd()}\n\n${this.section('EXIT CODES', rows.join('\n'))}`;
  }

  override async showHelp(argv: string[]): Promise<void> {
    try {
      await super.showHelp(argv);
    } catch (error) {
      const subject = /^Command (\S+) not found\.$/.exec((error as Error).message)?.[1];
      if (!subject) throw error;
      const ids = [
        ...this.config.commands.filter((c) => !c.hidden).map((c) => c.id),
        ...this.config.topics.map((t) => t.name),
      ];
      const suggestion = suggestCommand(subject.split(':'), ids);
      const typed = subject.replaceAll(':', ' ');
      const meant = suggestion ? `; did you mean \`${this.config.bin} help ${suggestion}\`?` : '';
      // As the command_not_found hook says it: one unwrapped line, so the suggestion can be copied whole.
      process.stderr.write(`Error: "${typed}" is not a ${this.config.bin} command${meant}\n`);
      process.stderr.write(`Fix: \`${this.config.bin} help\` lists the commands\n`);
      Errors.exit(ExitCode.usage);
    }
  }
}
