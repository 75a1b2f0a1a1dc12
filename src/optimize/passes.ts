// The optimizer: a named, ordered list of IR -> IR passes. The compiler runs them as its
// `optimize` pass between `check-ir` and `emit` and proves the result equal to its input
// over all packets (a pass whose result is not is named, with the counterexample).
// nftables emits the optimized IR; the iptables backends and the script keep Istio's
// familiar layout (the lowered IR) unless asked for `--layout optimized`, and then take
// the IR before the first nftables-only pass (inet tables, sets of names and owners,
// verdict maps: iptables has none). A pass that needs an nft capability names it, and
// runs only when the target release has it (the compiler passes the capability table).
import type { RuleSet } from '../ir/types.js';
import { foldSets } from './fold.js';
import { factorChains } from './factor.js';
import { shareFamilies } from './families.js';
import { deadRules, emptyJumps, inlineChains, unusedChains } from './prune.js';
import { foldKeys, verdictMaps } from './keys.js';
import type { NftCapabilities, NftCapability } from '../../backends/nftables/versions.js';

export interface OptimizePass {
  name: string;
  /** What it does, for `--help` and the docs. */
  summary: string;
  run(rs: RuleSet): RuleSet;
  /** Its output holds inet tables, or forms only nftables has: nftables only. */
  inet?: true;
  /** The nft capability its output needs (versions.ts): without it, the pass does not run. */
  needs?: NftCapability;
}

export const optimizePasses: readonly OptimizePass[] = [
  { name: 'fold-sets', summary: 'adjacent rules differing in one address or port list become one rule on the union (a set)', run: foldSets },
  { name: 'dead-rules', summary: 'rules no packet reaches (after an unconditional verdict, or shadowed by an earlier one) and trailing returns go', run: deadRules },
  { name: 'empty-jumps', summary: 'jumps to chains that only return go', run: emptyJumps },
  { name: 'inline-chains', summary: 'a chain entered from one place replaces its jump, where packets then meet fewer rules', run: inlineChains },
  { name: 'unused-chains', summary: 'chains no base chain reaches go', run: unusedChains },
  { name: 'factor-chains', summary: 'rules before `M return` that all test M move to a chain entered by one `M goto`, so packets without M skip them', run: factorChains },
  { name: 'share-families', summary: "a kind's IPv4 and IPv6 tables become one inet table: rules alike for both are shared, the rest keep to their family", run: shareFamilies, inet: true },
  { name: 'verdict-maps', summary: 'adjacent verdicts alike but for one interface name or owner id, the verdicts not all the same, become one verdict map (`oifname vmap { "lo" : return, "eth9" : goto x }`)', run: verdictMaps, inet: true, needs: 'verdictMaps' },
  { name: 'fold-keys', summary: 'adjacent rules alike but for one interface name or owner id, with one action, become one rule on the list (`oifname { "eth8", "eth9" } return`, `meta skuid { 106-108, 1337 }`)', run: foldKeys, inet: true, needs: 'keySets' },
];

export interface OptimizeStep {
  pass: string;
  before: RuleSet;
  after: RuleSet;
  ms: number;
}

/**
 * Run the passes in order; every step is kept (for `--dump-after` and to name a failing
 * pass). `caps`: what the target nft release takes; a pass that needs another capability
 * is left out (absent: every pass runs).
 */
export function optimize(rs: RuleSet, passes: readonly OptimizePass[] = optimizePasses, caps?: NftCapabilities): OptimizeStep[] {
  const steps: OptimizeStep[] = [];
  let cur = rs;
  for (const p of passes) {
    if (p.needs && caps && !caps[p.needs]) continue;
    const t0 = performance.now();
    const after = p.run(cur);
    steps.push({ pass: p.name, before: cur, after, ms: performance.now() - t0 });
    cur = after;
  }
  return steps;
}

/** The IR after every pass that keeps a table per family (what the iptables backends can emit). */
export function familyIr(ir: RuleSet, steps: readonly OptimizeStep[], passes: readonly OptimizePass[] = optimizePasses): RuleSet {
  const inet = new Set(passes.filter((p) => p.inet).map((p) => p.name));
  const k = steps.findIndex((s) => inet.has(s.pass));
  return k < 0 ? finalIr(ir, steps) : steps[k].before;
}

/** The IR after every pass. */
export function finalIr(ir: RuleSet, steps: readonly OptimizeStep[]): RuleSet {
  return steps.length ? steps[steps.length - 1].after : ir;
}
