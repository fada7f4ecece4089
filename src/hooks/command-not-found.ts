import type { Hook } from '@oclif/core';
import { ExitCode } from '../errors.js';
import { suggestCommand } from '../domain/suggest.js';

/**
 * "Did you mean …" for a command that does not exist, off a terminal too (oclif's not-found plugin suggests only
 * on one, by a prompt on stdout). oclif joins every word into the id (`rotat trade` → `rotat:trade`): the words
 * that come after the misspelt command are kept as its arguments in the suggestion.
 */
const hook: Hook<'command_not_found'> = async function ({ id, argv = [], config }) {
  const ids = config.commands.filter((c) => !c.hidden).flatMap((c) => [c.id, ...c.aliases]);
  const words = id.split(':');
  const command = suggestCommand(words, ids);
  const suggestion = command && [command, ...argv].join(' ');
  const typed = [id.replaceAll(':', ' '), ...argv].join(' ');
  const message = `"${typed}" is not a ${config.bin} command${suggestion ? `; did you mean \`${config.bin} ${suggestion}\`?` : ''}`;
  const topic = config.findTopic(words[0]) ? ` ${words[0]}` : '';
  const fix = `\`${config.bin} help${topic}\` lists the commands`;
  if (argv.includes('--json')) {
    process.stdout.write(`${JSON.stringify({ error: { message, fix, exitCode: ExitCode.usage } }, null, 2)}\n`);
  } else {
    process.stderr.write(`Error: ${message}\nFix: ${fix}\n`);
  }
  this.exit(ExitCode.usage);
};

export default hook;
