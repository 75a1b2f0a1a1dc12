// A bound before a YAML file is composed. The yaml library composes every syntax error it
// finds, and a 1 MB line of `]` is a million of them (minutes of work); its parser is lazy,
// so counting its error tokens stops at the bound at once.
import { Parser } from 'yaml';

/** Where the first syntax error is, when the text has more than `limit` of them (the parser stops reading there). */
export function syntaxErrorsBeyond(text: string, limit: number): { line: number; col: number } | undefined {
  let first: number | undefined;
  let n = 0;
  const count = (t: { type: string; offset: number }) => {
    if (t.type !== 'error') return false;
    first ??= t.offset;
    return ++n > limit;
  };
  for (const t of new Parser().parse(text)) {
    const inner = t.type === 'document' && t.value && 'items' in t.value ? t.value.items.flatMap((i) => ('value' in i && i.value ? [i.value] : [])) : [];
    if (count(t) || inner.some(count)) {
      const before = text.slice(0, first);
      return { line: before.split('\n').length, col: first! - before.lastIndexOf('\n') };
    }
  }
  return undefined;
}
