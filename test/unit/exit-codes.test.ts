import { readFileSync } from 'node:fs';
import path from 'node:path';
import { EXIT_CODES, ExitCode } from '../../src/errors.js';
import { ROOT } from '../helpers/cli.js';

describe('exit codes', () => {
  it('the table covers every exit code once', () => {
    expect(EXIT_CODES.map((e) => e.code).sort((a, b) => a - b)).toEqual(Object.values(ExitCode).sort((a, b) => a - b));
  });

  it("the README's list says what the table says, no more, no less", () => {
    const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8').replace(/\s+/g, ' ');
    const listed = /exit codes are ([^.]+)\./.exec(readme)?.[1] ?? '';
    expect(EXIT_CODES.filter((e) => !listed.includes(`${e.code} ${e.short}`)).map((e) => e.code)).toEqual([]);
    const codes = [...listed.matchAll(/(?:^|, )(\d+) /g)].map((m) => Number(m[1]));
    expect(codes).toEqual(EXIT_CODES.map((e) => e.code));
  });
});
