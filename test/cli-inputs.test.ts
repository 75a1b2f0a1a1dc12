import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { expandInputs, guessSyntax } from '../src/language/load.js';
import { cliOutErr, scratchDir } from './helpers.js';

// Directories and `-` (standard input) where commands take files: check, fmt, compile.
const main = resolve(import.meta.dirname, '../dist/src/cli/main.js');
const meshcap = (input: string, ...args: string[]) => {
  const r = spawnSync(process.execPath, [main, ...args], { input, encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
};
const s = scratchDir();
afterAll(() => s.cleanup());
const GOOD = 'policy p {\n  inbound {\n    capture ports 80\n  }\n}\n';
const BAD = 'policy q {\n  inbound { capture ports 0 }\n}\n';
mkdirSync(join(s.dir, 'tree/sub'), { recursive: true });
mkdirSync(join(s.dir, 'tree/.hidden'), { recursive: true });
mkdirSync(join(s.dir, 'empty'));
s.write('tree/a.intercept', GOOD);
s.write('tree/sub/b.intercept', BAD);
s.write('tree/.hidden/c.intercept', BAD);
s.write('tree/notes.txt', 'not a policy');

describe('directories and standard input', () => {
  it('a directory stands for the policies in it and its subfolders, in name order, hidden folders skipped', () => {
    const r = expandInputs([join(s.dir, 'tree')]);
    expect(r.files).toEqual([join(s.dir, 'tree/a.intercept'), join(s.dir, 'tree/sub/b.intercept')]);
    expect(r.diagnostics).toEqual([]);
    const c = cliOutErr('check', '-v', join(s.dir, 'tree'));
    expect(c.code).toBe(2);
    expect(c.out).toContain(`ok: ${join(s.dir, 'tree/a.intercept')}`);
    expect(c.err).toContain(`${join(s.dir, 'tree/sub/b.intercept')}:2:27: error[invalid-port]`);
    expect(c.err).not.toContain('.hidden');
  });

  it('a directory with no policy is file-unreadable, saying so', () => {
    const r = cliOutErr('check', join(s.dir, 'empty'));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/error\[file-unreadable\]: cannot read .*empty: it is a directory with no \.intercept, \.yaml or \.yml file/);
  });

  it('check - reads standard input, named <stdin> in diagnostics; YAML when it starts with a key', () => {
    expect(meshcap(GOOD, 'check', '-').code).toBe(0);
    const bad = meshcap(BAD, 'check', '-');
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('<stdin>:2:27: error[invalid-port]');
    const yaml = readFileSync(resolve(import.meta.dirname, '../specs/istio-dns-capture.yaml'), 'utf8');
    expect(guessSyntax(yaml)).toBe('yaml');
    expect(guessSyntax(GOOD)).toBe('intercept');
    expect(meshcap(yaml, 'check', '-').code).toBe(0);
  });

  it('fmt --check takes directories and -, fmt - prints, fmt --write - is a usage error', () => {
    const tree = cliOutErr('fmt', '--check', join(s.dir, 'tree'));
    expect(tree.code).toBe(1);
    expect(tree.err).toBe(`not formatted: ${join(s.dir, 'tree/sub/b.intercept')}\n`);
    expect(meshcap(GOOD, 'fmt', '--check', '-').code).toBe(0);
    const messy = meshcap('policy p {\ninbound { capture ports 80 }\n}\n', 'fmt', '--check', '-');
    expect(messy.code).toBe(1);
    expect(messy.err).toContain('not formatted: <stdin>');
    expect(meshcap('policy p {\ninbound { capture ports 80 }\n}\n', 'fmt', '-').out).toBe(GOOD);
    expect(meshcap(GOOD, 'fmt', '--write', '-').code).toBe(3);
  });

  it('compile - compiles and proves standard input', () => {
    const spec = readFileSync(resolve(import.meta.dirname, '../specs/istio-sidecar.intercept'), 'utf8');
    const r = meshcap(spec, 'compile', '-v', '--backend', 'iptables', '-');
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/verified: IR = iptables output: equal/);
    expect(r.out).toContain('"meshcap <stdin>:');
  });
});
