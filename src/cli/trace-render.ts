// Rendering simulator traces for people and for JSON.
import { ruleText } from '../../backends/iptables/emit.js';
import type { Family } from '../ir/types.js';
import type { SimResult, TraceStep } from '../sim/simulate.js';
import { outcomeText } from '../verify/compare.js';

export function stepRuleText(s: TraceStep): string {
  if (!s.rule) return '';
  try {
    return ruleText(s.chain, s.rule, (s.family === 'inet' ? 'ipv4' : s.family) as Family, { comments: false })[0];
  } catch {
    return `-A ${s.chain} (${s.rule.matches.length} matches)`;
  }
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
