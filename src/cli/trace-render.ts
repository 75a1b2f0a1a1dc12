// Rendering simulator traces for people and for JSON.
import { ruleText } from '../../backends/iptables/emit.js';
import { hasKeyList, ifaceNames, isKeyMatch, type KeyMatch } from '../ir/keys.js';
import type { Action, Family, Match, Rule } from '../ir/types.js';
import type { SimResult, TraceStep } from '../sim/simulate.js';
import { outcomeText } from '../verify/compare.js';

export function stepRuleText(s: TraceStep): string {
  if (!s.rule) return '';
  const fam = (s.family === 'inet' ? 'ipv4' : s.family) as Family;
  const text = (r: Rule) => ruleText(s.chain, r, fam, { comments: false })[0] ?? `-A ${s.chain}`;
  try {
    const r = s.rule;
    if (r.action.kind !== 'vmap') {
      const lines = ruleText(s.chain, r, fam, { comments: false });
      if (lines.length === 1 || !hasKeyList(r)) return lines[0] ?? `-A ${s.chain}`;
    }
    // A list iptables writes as several rules, or a verdict map: one rule, shown as one (iptables words, nft's braces).
    const lists = r.matches.filter((m): m is KeyMatch => isKeyMatch(m) && ('names' in m || 'ids' in m));
    const head = text({ ...r, matches: r.matches.filter((m) => !(lists as Match[]).includes(m)), action: { kind: 'counter' } });
    const verdict = (a: Action) => text({ ...r, matches: [], effects: [], action: a }).replace(`-A ${s.chain} `, '');
    const tail = r.action.kind === 'vmap' ? `vmap ${r.action.key} { ${r.action.entries.map((e) => `${keyValues(e.match)} : ${verdict(e.action)}`).join(', ')} }` : verdict(r.action);
    return [head, ...lists.map((m) => `${m.neg ? '! ' : ''}${m.kind} { ${keyValues(m)} }`), tail].join(' ');
  } catch {
    return `-A ${s.chain} (${s.rule.matches.length} matches)`;
  }
}

/** The values of a key match, as nft lists them. */
function keyValues(m: KeyMatch): string {
  if (m.kind === 'iif' || m.kind === 'oif') return ifaceNames(m).map((n) => (n.prefix ? `${n.name}*` : n.name)).join(', ');
  if ('ids' in m) return m.ids.map(([lo, hi]) => (lo === hi ? String(lo) : `${lo}-${hi}`)).join(', ');
  return 'id' in m ? String(m.id) : '';
}

export function stepJson(s: TraceStep) {
  return {
    family: s.family,
    table: s.table,
    chain: s.chain,
    rule: s.index,
    text: stepRuleText(s),
    effect: s.effect,
    source: s.rule?.origin.span ? `${s.rule.origin.span.file}:${s.rule.origin.span.start.line}` : null,
    purpose: s.rule?.origin.purpose ?? null,
  };
}

export function renderTrace(r: SimResult, indent = ''): string {
  const lines: string[] = [];
  for (const s of r.path) {
    const where = `${s.table}/${s.chain}${s.index ? ' #' + s.index : ''}`;
    const src = s.rule?.origin.span ? `  (${s.rule.origin.span.file}:${s.rule.origin.span.start.line})` : '';
    lines.push(`${indent}${where.padEnd(32)} ${s.effect}${src}`);
    if (s.rule) {
      lines.push(`${indent}    ${stepRuleText(s)}`);
      if (s.rule.origin.purpose) lines.push(`${indent}    why: ${s.rule.origin.purpose}`);
    }
  }
  if (!r.path.length) {
    const looped = r.packet?.looped ? ' (NAT chains do not run again for a packet back in through lo)' : '';
    lines.push(`${indent}(no chain of this hook and family ran: nothing happens to it${looped})`);
  }
  lines.push(`${indent}=> ${outcomeText(r.outcome)}`);
  return lines.join('\n') + '\n';
}

/** Where a step is, for people: `file:line table/chain #n` (or the chain's policy). */
export function stepWhere(s: TraceStep | undefined): string {
  if (!s) return '(no chain ran)';
  const at = s.rule?.origin.span ? `${s.rule.origin.span.file}:${s.rule.origin.span.start.line} ` : '';
  return s.rule ? `${at}${s.table}/${s.chain} #${s.index}: ${stepRuleText(s)}` : `${s.table}/${s.chain} ${s.effect} (no rule decided)`;
}

/** The two lines under a reported difference: the rule on each side that decided it. */
export function decidedLines(by: { a?: TraceStep; b?: TraceStep } | undefined, labelA: string, labelB: string, indent: string): string {
  if (!by) return '';
  const w = Math.max(labelA.length, labelB.length) + 1;
  return `${indent}${(labelA + ':').padEnd(w)} ${stepWhere(by.a)}\n${indent}${(labelB + ':').padEnd(w)} ${stepWhere(by.b)}\n`;
}
