// The fuzzer's defects, replayed from test/fixtures/fuzz-cases.ts in-process: each gives
// its exit code and diagnostic, and no internal error or stack trace.
import { afterAll, describe, expect, it } from 'vitest';
import { fuzzCases } from '../fixtures/fuzz-cases.js';
import { cli, scratchDir, STACK_LINE } from '../helpers.js';

describe('defects the fuzzer found', () => {
  const s = scratchDir('meshcap-fuzzcase-');
  afterAll(() => s.cleanup());

  it.each(fuzzCases.map((c, i) => ({ ...c, i })))('$name', (c) => {
    for (const [name, text] of Object.entries(c.files)) s.write(`${c.i}-${name}`, text);
    const path = (name: string) => `${s.dir}/${c.i}-${name}`;
    const argv = c.argv.map((a) => (a.startsWith('@/') ? path(a.slice(2)) : a));
    const r = cli(...argv);
    const all = r.stdout + r.stderr;
    expect(r.code, all).toBe(c.code);
    expect(all).not.toMatch(/internal-/);
    expect(r.stderr).not.toMatch(STACK_LINE);
    if (c.never) expect(all).not.toMatch(c.never);
    if (c.message) expect(all).toContain(c.message);
    if (c.diagnostic) {
      const [code, where] = c.diagnostic.split('@');
      const at = where ? `${path(where.split(':')[0])}:${where.split(':').slice(1).join(':')}: ` : '';
      expect(r.stderr, r.stderr).toContain(`${at}${code === 'duplicate-value' ? 'warning' : 'error'}[${code}]`);
    }
  });
});
