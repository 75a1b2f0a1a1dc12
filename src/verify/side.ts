// The side contract of the equivalence engine: what it compares. A side is either a rule
// set (evaluated by the simulator) or something that answers per packet and tells the
// engine where its behaviour may change (the policy's meaning).
import type { Family, RuleSet } from '../ir/types.js';
import type { Packet } from '../sim/packet.js';
import type { SimResult } from '../sim/simulate.js';

/**
 * What a meaning side tells the engine: for one field, given the fields fixed so far
 * (hook, family, protocol, ...), every value at which its behaviour may change.
 */
export interface Constants {
  ports: [number, number][];
  cidrs: { family: Family; addr: string; prefix: number }[];
  owners: (number | string)[];
  ifaces: { name: string; prefix: boolean }[];
  marks: number[];
  /**
   * Optional: which of the values above this side treats alike, as a label per entry
   * (same label: same behaviour for packets that agree on every other field). Without
   * labels every entry is its own class.
   */
  alike?: Partial<Record<'ports' | 'cidrs' | 'owners' | 'ifaces', number[]>>;
}

export type ConstantsFor = (field: 'sport' | 'dport' | 'saddr' | 'daddr' | 'uid' | 'gid' | 'iif' | 'oif' | 'marks', pkt: Packet) => Constants;

export type Side =
  | { kind: 'rules'; label: string; rs: RuleSet }
  | { kind: 'meaning'; label: string; evaluate(p: Packet): SimResult; constants: ConstantsFor };

export function rulesSide(label: string, rs: RuleSet): Side {
  return { kind: 'rules', label, rs };
}
