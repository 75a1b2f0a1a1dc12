// Mark enumeration: the initial mark and ctmark values that cover every way the sides can
// treat them (marks are state that actions change, so they are enumerated, not specialized).
import { FULL_MASK } from '../ir/types.js';
import { forEachRule } from '../ir/walk.js';
import type { Packet } from '../sim/packet.js';
import { meaningConsts, Undecided, type Ctx } from './context.js';
import { kindsOf } from './residual.js';
import type { Side } from './side.js';

const MARK_KINDS = ['mark', 'connmark', 'act:mark-set', 'act:tproxy', 'act:connmark-save', 'act:connmark-restore'];

/**
 * Initial mark and ctmark values that cover every way the sides can treat them. Actions
 * with full masks overwrite the mark whatever it was, so only the values that matches
 * compare with matter, plus one value that matches none of them. Partial masks make the
 * mark's bits matter one by one: those are enumerated when there are few. Where marks
 * move between packet and connection (CONNMARK save/restore), two unnamed connection
 * marks are tried: one equal to the packet's unnamed mark, one not.
 */
export function markCandidates(ctx: Ctx, a: Side, b: Side, pkt: Packet): [number, number][] {
  const meaningMarks = meaningConsts(ctx, 'marks', pkt).marks;
  // Nothing reads or writes marks any more: one class.
  if (!meaningMarks.length && [a, b].every((s) => s.kind !== 'rules' || !MARK_KINDS.some((k) => kindsOf(s.rs).has(k)))) return [[0, 0]];
  const markVals = new Set<number>(meaningMarks);
  const ctVals = new Set<number>(meaningMarks);
  // Any partial mask makes the mark's bits matter one by one: then every bit any mask
  // looks at (whole-mark masks included) is enumerated, when there are few of them.
  let relevant = 0;
  let partial = false;
  let moves = false;
  for (const s of [a, b]) {
    if (s.kind !== 'rules') continue;
    forEachRule(s.rs, (r) => {
      for (const m of r.matches) {
        if (m.kind === 'mark' || m.kind === 'connmark') {
          (m.kind === 'mark' ? markVals : ctVals).add(m.value);
          if (m.mask !== FULL_MASK) partial = true;
          relevant |= m.mask;
        }
      }
      for (const x of [...(r.effects ?? []), r.action]) {
        if ((x.kind === 'mark-set' || x.kind === 'tproxy') && x.mask !== FULL_MASK) partial = true;
        if (x.kind === 'mark-set' || x.kind === 'tproxy') relevant |= x.mask;
        if (x.kind === 'connmark-save' || x.kind === 'connmark-restore') {
          moves = true;
          if (x.nfmask !== FULL_MASK || x.ctmask !== FULL_MASK) partial = true;
        }
      }
    });
  }
  // A mark copied to or from the connection can meet either kind of match.
  if (moves) {
    for (const v of markVals) ctVals.add(v);
    for (const v of ctVals) markVals.add(v);
  }
  const withOther = (vals: Set<number>): number[] => {
    let other = 0;
    while (vals.has(other)) other++;
    return [...vals, other];
  };
  let mc: number[];
  let cc: number[];
  if (!partial) {
    mc = withOther(markVals);
    cc = withOther(ctVals);
    // Saving or restoring copies one into the other: whether a mark no match names equals
    // the connection's (equally unnamed) mark then decides the outcome, so both cases.
    if (moves) cc.push(withOther(new Set(cc))[cc.length]);
  } else {
    const bits: number[] = [];
    for (let i = 0; i < 32; i++) if ((relevant >>> i) & 1) bits.push(i);
    if (bits.length > 6) throw new Undecided(`marks are compared under partial masks over ${bits.length} bits (the engine enumerates at most 6)`);
    const all: number[] = [];
    for (let k = 0; k < 1 << bits.length; k++) {
      let v = 0;
      bits.forEach((bit, i) => {
        if ((k >> i) & 1) v |= 1 << bit;
      });
      all.push(v >>> 0);
    }
    mc = [...new Set([...all, ...markVals])];
    cc = [...new Set([...all, ...ctVals])];
  }
  const out: [number, number][] = [];
  for (const m of mc) for (const c of cc) out.push([m, c]);
  return out;
}
