// What a reported difference tells a person beyond its class: a member of the class they
// would recognise (see facts.ts) and, on each side, the rule that decided the outcome.
// Computed only for the differences that are printed.
import { canonicalAddress } from '../net/ip.js';
import { unionRanges, type Range } from '../net/intervals.js';
import type { Outcome, Packet } from '../sim/packet.js';
import { simulate, type SimResult, type TraceStep } from '../sim/simulate.js';
import { sameOutcome } from './compare.js';
import { allowed, intersect, realistic } from './facts.js';
import type { Side } from './side.js';

/**
 * The step of a trace that decided the part of its outcome that differs from `other`:
 * the verdict or capture (the last accept, drop, return, redirect or tproxy; the chain
 * policy when no rule gave one), else the conntrack zone, else the mark.
 */
export function decidingStep(r: SimResult, other: Outcome): TraceStep | undefined {
  const o = r.outcome;
  const kind = (s: TraceStep) => s.rule?.action.kind;
  const last = (f: (s: TraceStep) => boolean) => [...r.path].reverse().find(f);
  const capture = o.verdict !== other.verdict || (o.redirect?.port ?? null) !== (other.redirect?.port ?? null) || (o.tproxy?.port ?? null) !== (other.tproxy?.port ?? null);
  if (capture) {
    if (o.verdict === 'drop') return r.path[r.path.length - 1];
    if (o.redirect) return last((s) => kind(s) === 'redirect' || kind(s) === 'dnat');
    if (o.tproxy) return last((s) => kind(s) === 'tproxy');
    // Passed: the rule that let it go (an accept, or a return out of the mesh's chain),
    // else the policy of a chain no rule of which decided.
    return last((s) => kind(s) === 'accept' || kind(s) === 'return') ?? last((s) => !s.rule);
  }
  if (o.ctZone !== other.ctZone) return r.path.find((s) => kind(s) === 'ct-zone' && !s.effect.includes('ignored')) ?? r.path[r.path.length - 1];
  return last((s) => ['mark-set', 'connmark-restore', 'tproxy'].includes(kind(s) ?? '') || !!s.rule?.effects?.length) ?? r.path[r.path.length - 1];
}

/**
 * When no rule decided on one side (only chain policies), the policy of the table where
 * the other side's deciding rule is ("nat/OUTPUT policy accept" beside a redirect in nat).
 */
export function alongside(r: SimResult, mine: TraceStep | undefined, theirs: TraceStep | undefined): TraceStep | undefined {
  if (!mine || mine.rule || !theirs) return mine;
  return r.path.find((s) => !s.rule && s.table === theirs.table) ?? mine;
}

function run(s: Side, p: Packet): SimResult {
  return s.kind === 'rules' ? simulate(s.rs, p) : s.evaluate(p);
}

export interface Decided {
  packet: Packet;
  a: SimResult;
  b: SimResult;
}

/**
 * The traces of a difference's packet on both sides, after choosing, among the
 * destinations of the class (`dst`), one a person recognises. The choice is kept only if
 * both outcomes stay what the search found (they do for a member of the class; the check
 * costs one simulation and guards the merging of classes).
 */
export function decide(a: Side, b: Side, packet: Packet, oa: Outcome, ob: Outcome, dst: Range[] | undefined): Decided {
  const p = packet;
  if (dst?.length) {
    const segs = intersect(unionRanges(dst), allowed('daddr', packet));
    if (segs.length) {
      const q = { ...packet, dst: canonicalAddress(packet.family, realistic('daddr', packet, segs)) };
      const ra = run(a, q);
      const rb = run(b, q);
      if (sameOutcome(ra.outcome, oa) && sameOutcome(rb.outcome, ob)) return { packet: q, a: ra, b: rb };
    }
  }
  return { packet: p, a: run(a, p), b: run(b, p) };
}
