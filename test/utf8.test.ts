// Input files must be UTF-8: the first invalid byte is found exactly (for the diagnostic's
// position), and a file that is not UTF-8 is refused by check, fmt and verify alike.
import fc from 'fast-check';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { firstInvalidUtf8 } from '../src/language/load.js';
import { cli, scratchDir } from './helpers.js';

const fatal = new TextDecoder('utf-8', { fatal: true });
const decodes = (b: Uint8Array) => {
  try {
    fatal.decode(b);
    return true;
  } catch {
    return false;
  }
};

describe('firstInvalidUtf8', () => {
  it('agrees with the WHATWG decoder: valid exactly when it reaches the end, and the prefix before it always decodes', () => {
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 24 }),
      fc.string({ unit: 'grapheme', maxLength: 12 }).map((s) => new Uint8Array(Buffer.from(s, 'utf8'))),
      fc.tuple(fc.string({ unit: 'grapheme', maxLength: 6 }), fc.uint8Array({ minLength: 1, maxLength: 3 }), fc.string({ maxLength: 6 })).map(([a, x, b]) => new Uint8Array([...Buffer.from(a), ...x, ...Buffer.from(b)])),
    );
    fc.assert(
      fc.property(bytes, (b) => {
        const at = firstInvalidUtf8(b);
        expect(at === b.length).toBe(decodes(b));
        expect(decodes(b.subarray(0, at))).toBe(true);
      }),
      { seed: 20261207, numRuns: 4000 },
    );
  });
});

describe('a policy that is not UTF-8', () => {
  const s = scratchDir();
  afterAll(() => s.cleanup());
  const write = () => {
    const f = join(s.dir, 'latin1.intercept');
    writeFileSync(f, Buffer.concat([Buffer.from('policy p {\n  # caf'), Buffer.from([0xe9]), Buffer.from('\n  inbound { capture ports * }\n}\n')]));
    return f;
  };

  it('check: not-utf8 with the byte and its line and column, exit 2', () => {
    const f = write();
    const r = cli('check', f);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${f}: error[not-utf8]: ${f} is not UTF-8 text: byte 0xe9 at line 2, column 8`);
  });

  it('fmt --write refuses it and leaves the bytes as they were', () => {
    const f = write();
    const before = readFileSync(f);
    const r = cli('fmt', '--write', f);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('error[not-utf8]');
    expect(readFileSync(f).equals(before)).toBe(true);
  });

  it('verify refuses a rule file that is not UTF-8 the same way', () => {
    const rules = join(s.dir, 'latin1.rules');
    writeFileSync(rules, Buffer.concat([Buffer.from('*nat\n:OUTPUT ACCEPT [0:0]\n-A OUTPUT -m comment --comment "caf'), Buffer.from([0xe9]), Buffer.from('" -j RETURN\nCOMMIT\n')]));
    const r = cli('verify', 'specs/istio-sidecar.intercept', '--against', rules);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${rules}: error[not-utf8]: ${rules} is not UTF-8 text: byte 0xe9 at line 3`);
  });
});
