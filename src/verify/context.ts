// What the recursive search carries: its context (the two sides, the classes counted, the
// differences found), how a class is described, and the meaning side's constants.
import type { Chain, Family, RuleSet } from '../ir/types.js';
import type { Outcome, Packet } from '../sim/packet.js';
import type { TraceStep } from '../sim/simulate.js';
import type { Constants, ConstantsFor, Side } from './side.js';
import type { ChainPlan, Plan } from './split.js';

export interface DiffRange {
  /** A readable description of the packet class. */
  description: string;
  /** The class before its destination range is described (merging happens at the end). */
  desc?: Desc;
  dst?: [bigint, bigint][];
  /** A concrete packet of the class. */
  packet: Packet;
  a: Outcome;
  b: Outcome;
  /** For a reported difference: the rule (or chain policy) on each side that decided it. */
  by?: { a?: TraceStep; b?: TraceStep };
}

export class Undecided extends Error {}

/** How a class is described; computed only when a difference needs it. */
export type Desc = Record<string, string | (() => string)>;
export const val = (x: string | (() => string) | undefined) => (typeof x === 'function' ? x() : x);

export interface Ctx {
  a: Side;
  b: Side;
  classes: number;
  diffs: DiffRange[];
  max: number;
  lastKey?: string;
  /**
   * Classes exactly as the fields' matches split them (no merging of classes whose
   * residuals merely have the same structure): how differences are reported, so that
   * each is the class people expect.
   */
  fine?: boolean;
  /** Called with a packet of every class (the rule-cost count walks the classes this way). */
  onClass?: (p: Packet) => void;
  /** The interval sweeps' atoms, per set of matches (see explore-interval.ts). */
  atoms?: Map<string, unknown>;
  /** The plans of splits, per rule set (see split.ts), kept for this proof only. */
  plans?: WeakMap<RuleSet, Map<string, Plan>>;
  /** The splits of chains, per chain object (see split.ts), kept for this proof only. */
  chainPlans?: WeakMap<Chain, Map<string, ChainPlan>>;
}

export const MAX_ADDR: Record<Family, bigint> = { ipv4: (1n << 32n) - 1n, ipv6: (1n << 128n) - 1n };

export const NO_CONSTS: Constants = { ports: [], cidrs: [], owners: [], ifaces: [], marks: [] };

export type LabelledKind = 'ports' | 'cidrs' | 'owners' | 'ifaces';

/** The meaning sides' constants for a field, with a class label per entry (see `alike`). */
export type Merged = Constants & { labels: Record<LabelledKind, string[]> };

const NO_LABELS: Merged = { ...NO_CONSTS, labels: { ports: [], cidrs: [], owners: [], ifaces: [] } };

export function meaningConsts(c: Ctx, field: Parameters<ConstantsFor>[0], pkt: Packet): Merged {
  const sides = [c.a, c.b].filter((s): s is Extract<Side, { kind: 'meaning' }> => s.kind === 'meaning');
  if (!sides.length) return NO_LABELS;
  const out: Merged = { ports: [], cidrs: [], owners: [], ifaces: [], marks: [], labels: { ports: [], cidrs: [], owners: [], ifaces: [] } };
  sides.forEach((s, si) => {
    const k = s.constants(field, pkt);
    out.ports.push(...k.ports);
    out.cidrs.push(...k.cidrs);
    out.owners.push(...k.owners);
    out.ifaces.push(...k.ifaces);
    out.marks.push(...k.marks);
    for (const kind of ['ports', 'cidrs', 'owners', 'ifaces'] as const) {
      const given = k.alike?.[kind];
      k[kind].forEach((_, i) => out.labels[kind].push(given?.[i] !== undefined && !c.fine ? `${si}:${given[i]}` : `${si}#${i}`));
    }
  });
  return out;
}
