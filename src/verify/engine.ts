// The exhaustive equivalence engine. Decides whether two sides (rule sets, or the
// policy's meaning) give the same outcome for EVERY packet: every hook, family, protocol,
// conntrack state, interface, owner, mark, port and address.
//
// Method: split the header space one field at a time, lazily. At each field the values
// that matter are the ones the still-live rules of both sides (and the meaning's
// constants) mention: names and ids as classes including "any other", ports and addresses
// as intervals between the rules' boundaries (sweep line), marks as the values the rules
// compare with (bit patterns when masks are partial). Values that every live rule treats
// alike form one class. Each class specializes both sides (matches on the field are
// decided, dead rules dropped, rules after an unconditional verdict cut) and the search
// goes on with the next field. The last field (destination address) is swept with an
// index of the live rules per chain, so a rule set with 10,000 CIDRs costs one pass.
// Marks are state that actions change on the way, so mark matches are never specialized:
// the final evaluation runs the simulator's own semantics on the residual rules.
//
// The parts: context.ts (what the search carries), residual.ts (specialization), split.ts
// (classes by the structure of their residuals, built without specializing per value),
// discrete.ts, marks.ts and interval-fields.ts (the fields), explore.ts, sweep.ts and
// explore-interval.ts (the search), describe.ts (what is reported). A proof merges classes
// whose residuals have the same structure; a difference is reported in the classes as the
// rules split them (a second, fine search).
import type { Family, RuleSet } from '../ir/types.js';
import type { Packet } from '../sim/packet.js';
import { simulate, type SimResult } from '../sim/simulate.js';
import { sameOutcome, outcomeText, packetText } from './compare.js';
import { MAX_ADDR, Undecided, type Ctx, type DiffRange } from './context.js';
import { alongside, decide, decidingStep } from './decide.js';
import { describe, showSet } from './describe.js';
import { allowed } from './facts.js';
import { exploreDiscrete } from './explore.js';
import { restrictFamily, sideWith } from './residual.js';
import type { Side } from './side.js';
import { desugar, desugarSide } from './desugar.js';

export type { Constants, ConstantsFor, Side } from './side.js';
export type { DiffRange } from './context.js';
export { showSet } from './describe.js';
export { parseHost } from './sweep.js';

export interface EquivResult {
  result: 'equal' | 'different' | 'undecided';
  /** Packet classes evaluated (leaves of the search). */
  classes: number;
  ms: number;
  counterexample?: { packet: Packet; a: SimResult; b: SimResult };
  /** The differences reported (at most maxDifferences), each with the rules that decided it. */
  differences: DiffRange[];
  /** Every differing class found (merged as reported), up to `count`: more than `differences`. */
  total: number;
  /** Whether `total` counts them all (the search did not stop at `count`). */
  totalExact: boolean;
  reason?: string;
  /** Undecided because outcomes depend on these unmodelled matches (file:line and text). */
  unknown?: string[];
  /** Each of those matches: how many of the unknown classes meet it, and a packet of one. */
  unsure?: { rule: string; classes: number; packet: Packet }[];
}

export interface EquivOptions {
  /** Stop after this many differing classes (1: just find a counterexample). */
  maxDifferences?: number;
  /** Count up to this many differing classes (default: maxDifferences); only maxDifferences are reported. */
  count?: number;
  families?: Family[];
}

/** The search over every hook and family, in a context. */
function searchAll(a: Side, b: Side, families: Family[]): (c: Ctx) => void {
  return (c) => {
    for (const hook of ['output', 'prerouting'] as const) {
      for (const family of families) {
        const zero = family === 'ipv4' ? '0.0.0.0' : '::';
        const pkt: Packet = { hook, family, protocol: 'tcp', src: zero, dst: zero, sport: 0, dport: 0, iif: '', oif: '', mark: 0, ctmark: 0, ctstate: 'new' };
        // The hook's chains only, before the first split: the other hook's chains (the
        // 10,000 rules of a DNS chain, say) are never specialized for packets they never see.
        const start = (s: Side) => {
          const r = restrictFamily(s, family, pkt);
          return r.kind === 'rules' ? sideWith(r, r.rs, pkt, false) : r;
        };
        exploreDiscrete(c, 0, start(a), start(b), pkt, {});
        if (c.diffs.length >= c.max) return;
      }
    }
  };
}

/**
 * Every packet class of a rule set, as its rules split the header space (the fine search
 * of a proof): `visit` gets one packet of each; every packet of a class meets the same
 * rules. Returns the number of classes.
 */
export function forEachClass(rs: RuleSet, families: Family[], visit: (p: Packet) => void): number {
  const side: Side = { kind: 'rules', label: rs.name, rs: desugar(rs) };
  const ctx: Ctx = { a: side, b: side, classes: 0, diffs: [], max: 1, fine: true, onClass: visit };
  searchAll(side, side, families)(ctx);
  return ctx.classes;
}

/** Decide whether a and b give the same outcome for every packet. */
export function equivalent(a: Side, b: Side, opts: EquivOptions = {}): EquivResult {
  const t0 = performance.now();
  const families = opts.families ?? ['ipv4', 'ipv6'];
  // The search reads key lists and verdict maps as the rules they stand for (desugar.ts);
  // the traces of a difference are the original sides'.
  const orig = { a, b };
  a = desugarSide(a);
  b = desugarSide(b);
  const run = searchAll(a, b, families);
  // First the proof, with classes merged wherever the residuals have the same structure;
  // only if it finds a difference, the search again with the classes as the rules split
  // them, which is what the differences are reported in.
  let ctx: Ctx = { a, b, classes: 0, diffs: [], max: 1 };
  try {
    run(ctx);
    if (ctx.diffs.length) {
      ctx = { a, b, classes: 0, diffs: [], max: Math.max(opts.maxDifferences ?? 1, opts.count ?? 0), fine: true };
      run(ctx);
    }
  } catch (e) {
    if (e instanceof Undecided) return { result: 'undecided', classes: ctx.classes, ms: performance.now() - t0, differences: [], total: 0, totalExact: true, reason: e.message };
    throw e;
  }
  if (!ctx.diffs.length) return { result: 'equal', classes: ctx.classes, ms: performance.now() - t0, differences: [], total: 0, totalExact: true };
  // Classes whose outcome depends on a match meshcap does not model are neither equal nor
  // different: the proof is undecided, naming those matches, unless some class differs for sure.
  const unsure = ctx.diffs.filter((d) => d.a.unknown || d.b.unknown);
  if (unsure.length) {
    ctx.diffs = ctx.diffs.filter((d) => !d.a.unknown && !d.b.unknown);
    if (!ctx.diffs.length) {
      const per = new Map<string, { rule: string; classes: number; packet: Packet }>();
      for (const d of unsure) {
        for (const rule of new Set([...(d.a.unknown ?? []), ...(d.b.unknown ?? [])])) {
          const e = per.get(rule);
          if (e) e.classes++;
          else per.set(rule, { rule, classes: 1, packet: d.packet });
        }
      }
      const rules = [...per.keys()];
      const p = unsure[0].packet;
      return { result: 'undecided', classes: ctx.classes, ms: performance.now() - t0, differences: [], total: 0, totalExact: true, unknown: rules, unsure: [...per.values()], reason: `unknown: ${unsure.length} packet class(es) depend on rules meshcap does not model, e.g. ${packetText(p)}; the rules: ${rules.join('; ')}` };
    }
  }
  const totalExact = ctx.diffs.length < ctx.max && !unsure.length;
  // Merge the classes that differ alike and differ only in their destinations.
  const merged = new Map<string, DiffRange>();
  for (const d of ctx.diffs) {
    if (!d.desc || !d.dst) {
      merged.set(`${merged.size}`, d);
      continue;
    }
    const key = `${d.packet.hook}|${d.packet.family}|${describe(d.desc, d.packet)}|${outcomeText(d.a, d.packet)}|${outcomeText(d.b, d.packet)}`;
    const m = merged.get(key);
    if (m) m.dst!.push(...d.dst);
    else merged.set(key, { ...d, dst: [...d.dst] });
  }
  const all = [...merged.values()];
  const shown = all.slice(0, opts.maxDifferences ?? 1);
  for (const d of shown) {
    if (d.desc && d.dst) {
      const r = showSet('daddr', d.packet.family, d.dst, MAX_ADDR[d.packet.family], allowed('daddr', d.packet));
      d.description = describe({ ...d.desc, ...(r ? { daddr: r } : {}) }, d.packet);
    }
    // A member of the class a person recognises, and the rule on each side that decided it.
    const x = decide(orig.a, orig.b, d.packet, d.a, d.b, d.dst);
    d.packet = x.packet;
    const sa = decidingStep(x.a, d.b);
    const sb = decidingStep(x.b, d.a);
    d.by = { a: alongside(x.a, sa, sb), b: alongside(x.b, sb, sa) };
    delete d.desc;
    delete d.dst;
  }
  const ms = performance.now() - t0;
  // Confirm the first difference with the plain simulator on the original sides, traces on.
  const first = shown[0];
  const full = (s: Side) => (s.kind === 'rules' ? simulate(s.rs, first.packet) : s.evaluate(first.packet));
  const ra = full(orig.a);
  const rb = full(orig.b);
  if (sameOutcome(ra.outcome, rb.outcome)) {
    return { result: 'undecided', classes: ctx.classes, ms, differences: [], total: 0, totalExact: true, reason: `internal: the engine found a difference the simulator does not confirm at ${JSON.stringify(first.packet)}` };
  }
  return { result: 'different', classes: ctx.classes, ms, differences: shown, total: all.length, totalExact, counterexample: { packet: first.packet, a: ra, b: rb } };
}
