/**
 * One line of progress on stderr for a wait: redrawn in place on a terminal; elsewhere (logs, CI) printed only when
 * it changes and at most every 2 s, so a long wait leaves a readable trail instead of a flood.
 */
export function statusLine({ silent = false }: { silent?: boolean } = {}): {
  update(text: string): void;
  done(): void;
} {
  const tty = process.stderr.isTTY;
  let last = '';
  let lastAt = 0;
  return {
    update(text: string) {
      if (silent || text === last) return;
      if (tty) process.stderr.write(`\r\x1b[2K${text}`);
      else if (Date.now() - lastAt >= 2_000) {
        process.stderr.write(`${text}\n`);
        lastAt = Date.now();
      } else return;
      last = text;
    },
    done() {
      if (!silent && tty && last) process.stderr.write('\n');
    },
  };
}
