// Per-packet cost, exactly: how many rules a packet is tested against on its way through
// a rule set (every base chain of its hooks, every chain it jumps to, up to the rule that
// decides), for one packet of every packet class the engine finds (every packet of a
// class meets the same rules), so the worst case and the mean over classes are exact,
// not sampled. The mean is over classes, not weighted by how many packets a class holds.
import type { Family, RuleSet } from '../ir/types.js';
import type { Packet } from '../sim/packet.js';
import { scanFinder, simulate, type RuleFinder } from '../sim/simulate.js';
import { forEachClass } from '../verify/engine.js';

export interface Cost {
  /** Rules in the rule set. */
  rules: number;
  classes: number;
  worst: number;
  mean: number;
  /** A packet that meets `worst` rules. */
  worstPacket?: Packet;
}

export function ruleCount(rs: RuleSet): number {
  let n = 0;
  for (const t of rs.tables) for (const c of t.chains) n += c.rules.length;
  return n;
}

export function costOf(rs: RuleSet, families: Family[]): Cost {
  let tested = 0;
  // A scan tests every rule from `from` up to the one that matches (or to the chain's end).
  const counting: RuleFinder = (chain, from, packet, hook) => {
    const i = scanFinder(chain, from, packet, hook);
    tested += (i < 0 ? chain.rules.length : i + 1) - from;
    return i;
  };
  let worst = 0;
  let total = 0;
  let worstPacket: Cost['worstPacket'];
  const classes = forEachClass(rs, families, (p) => {
    tested = 0;
    simulate(rs, p, counting, false);
    total += tested;
    if (tested > worst || !worstPacket) {
      worst = tested;
      worstPacket = { ...p };
    }
  });
  return { rules: ruleCount(rs), classes, worst, mean: classes ? total / classes : 0, worstPacket };
}

/** The costs `compile --cost` reports: the IR, the optimized IR, and each artifact as its importer reads it back. */
export function costs(sides: { of: string; rs: RuleSet; families: Family[] }[]): (Cost & { of: string })[] {
  return sides.map((s) => ({ of: s.of, ...costOf(s.rs, s.families) }));
}
