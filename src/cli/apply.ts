// Applying the iptables artifact beside other tools' rules, idempotently. iptables-restore
// --noflush alone cannot do it: it adds a jump each time it loads a file, and knows no
// "add unless present". So `meshcap apply` reads what the node has (iptables-save), and
// loads one --noflush transaction per family that deletes meshcap's jumps found in other
// chains, creates or flushes the chains the artifact declares and fills them, adds the
// artifact's jumps once, and deletes meshcap's chains the artifact no longer has. Other
// tools' chains, rules and policies are never named in it. What meshcap owns (the same as
// the shell script): the chains isOwnChain names, and the rules of other chains that jump
// or go to them.
import { isOwnChain } from '../../backends/iptables/noflush.js';
import { splitWords } from '../../backends/iptables/import.js';

interface SavedTable {
  /** meshcap's chains the node has. */
  own: Set<string>;
  /** Rules of other chains that jump or go to one of meshcap's, as iptables-save prints them. */
  jumps: string[];
}

/** What an iptables-save listing holds of meshcap's, per table. */
export function ownedState(saved: string): Map<string, SavedTable> {
  const tables = new Map<string, SavedTable>();
  let cur: SavedTable | undefined;
  for (const raw of saved.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('*')) {
      cur = { own: new Set(), jumps: [] };
      tables.set(line.slice(1), cur);
    } else if (!cur || line === '' || line.startsWith('#') || line === 'COMMIT') continue;
    else if (line.startsWith(':')) {
      const name = line.slice(1).split(/\s/)[0];
      if (isOwnChain(name)) cur.own.add(name);
    } else {
      const w = splitWords(line.replace(/^\[\d+:\d+\]\s+/, ''));
      if (w[0] !== '-A' || isOwnChain(w[1])) continue;
      const t = w.findIndex((x, i) => (x === '-j' || x === '-g') && isOwnChain(w[i + 1] ?? ''));
      if (t > 0) cur.jumps.push(line.replace(/^\[\d+:\d+\]\s+/, ''));
    }
  }
  return tables;
}

/** The artifact's table blocks: the lines between `*table` and COMMIT. */
function artifactTables(text: string): Map<string, string[]> {
  const tables = new Map<string, string[]>();
  let cur: string[] | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('*')) tables.set(line.slice(1), (cur = []));
    else if (line === 'COMMIT') cur = undefined;
    else cur?.push(line);
  }
  return tables;
}

/**
 * The one --noflush transaction that takes the node from `saved` to the artifact (or, for
 * `artifact` '', removes meshcap's rules); '' when there is nothing to do.
 */
export function applyTransaction(artifact: string, saved: string): string {
  const now = ownedState(saved);
  const want = artifactTables(artifact);
  const out: string[] = [];
  for (const table of new Set([...now.keys(), ...want.keys()])) {
    const have = now.get(table) ?? { own: new Set<string>(), jumps: [] };
    const lines = want.get(table) ?? [];
    const declared = new Set(lines.filter((l) => l.startsWith(':')).map((l) => l.slice(1).split(/\s/)[0]));
    const stale = [...have.own].filter((c) => !declared.has(c));
    if (!lines.length && !have.jumps.length && !stale.length) continue;
    out.push(`*${table}`);
    // iptables-save prints each rule as iptables-restore takes it: -A becomes -D.
    for (const j of have.jumps) out.push(j.replace(/^-A /, '-D '));
    out.push(...lines);
    // Flushed first: a stale chain may still be the target of another stale one.
    for (const c of stale) out.push(`-F ${c}`);
    for (const c of stale) out.push(`-X ${c}`);
    out.push('COMMIT');
  }
  return out.length ? out.join('\n') + '\n' : '';
}
