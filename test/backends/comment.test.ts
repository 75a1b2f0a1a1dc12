// Rule comments and script headers carry the user's text (file names, purposes): one line,
// no control characters, within the kernel's byte limits, never cut inside a character.
import { describe, expect, it } from 'vitest';
import { oneLine } from '../../backends/comment.js';
import { commentOf as nftComment } from '../../backends/nftables/emit.js';
import { commentOf as iptComment } from '../../backends/iptables/emit.js';
import type { Rule } from '../../src/ir/types.js';

const wellFormed = (s: string) => Buffer.from(s, 'utf8').toString('utf8') === s;

describe('oneLine', () => {
  it('turns control characters into spaces and keeps the rest', () => {
    expect(oneLine('a\nb\r\tc\x1b[31md\x7f')).toBe('a b  c [31md ');
  });

  it('cuts within the byte limit on a character boundary', () => {
    const s = '😀'.repeat(100); // 4 bytes and 2 UTF-16 units each
    for (const max of [0, 1, 3, 4, 5, 127, 255]) {
      const cut = oneLine(s, max);
      expect(Buffer.byteLength(cut)).toBeLessThanOrEqual(max);
      expect(Buffer.byteLength(cut)).toBeGreaterThan(max - 4);
      expect(wellFormed(cut), `max ${max}`).toBe(true);
    }
  });
});

describe('rule comments from a hostile file name', () => {
  const rule = (file: string): Rule => ({
    matches: [],
    action: { kind: 'accept' },
    origin: { span: { file, start: { line: 3, col: 1, offset: 0 }, end: { line: 3, col: 2, offset: 1 } }, purpose: 'why' },
  });

  it.each([
    ['a newline and a command', 'x\n-A OUTPUT -j ACCEPT\n#.intercept'],
    ['characters outside the BMP, cut at the limit', '𝔘'.repeat(80) + '.intercept'],
    ['a terminal escape', 'a\x1b]0;title\x07.intercept'],
  ])('%s: one line, no control characters, well-formed UTF-8 within the limit', (_n, file) => {
    for (const [text, max] of [[nftComment(rule(file)), 127], [iptComment(rule(file)), 255]] as const) {
      expect(text).not.toMatch(/[\x00-\x1f\x7f]/); // eslint-disable-line no-control-regex -- what must not be there
      expect(Buffer.byteLength(text)).toBeLessThanOrEqual(max);
      expect(wellFormed(text)).toBe(true);
      expect(text.startsWith('meshcap ')).toBe(true);
    }
  });
});
