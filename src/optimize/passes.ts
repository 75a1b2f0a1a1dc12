// The optimizer: a named, ordered list of IR -> IR passes. The compiler runs them as its
// `optimize` pass between `check-ir` and `emit` and proves the result equal to its input
// over all packets (a pass whose result is not is named, with the counterexample).
// nftables emits the optimized IR; the iptables backends and the script keep Istio's
// familiar layout (the lowered IR) unless asked for `--layout optimized`.
import type { RuleSet } from '../ir/types.js';
import { foldSets } from './fold.js';
import { deadRules, emptyJumps, inlineChains, unusedChains } from './prune.js';

export interface OptimizePass {
  name: string;
  /** What it does, for `--help` and the docs. */
  summary: string;
  run(rs: RuleSet): RuleSet;
}

export const optimizePasses: readonly OptimizePass[] = [
  { name: 'fold-sets', summary: 'adjacent rules differing in one address or port list become one rule on the union (a set)', run: foldSets },
  { name: 'dead-rules', summary: 'rules no packet reaches (after an unconditional verdict, or shadowed by an earlier one) and trailing returns go', run: deadRules },
  { name: 'empty-jumps', summary: 'jumps to chains that only return go', run: emptyJumps },
  { name: 'inline-chains', summary: 'a chain entered from one place replaces its jump, where packets then meet fewer rules', run: inlineChains },
  { name: 'unused-chains', summary: 'chains no base chain reaches go', run: unusedChains },
];

export interface OptimizeStep {
  pass: string;
  before: RuleSet;
  after: RuleSet;
  ms: number;
}

/** Run the passes in order; every step is kept (for `--dump-after` and to name a failing pass). */
export function optimize(rs: RuleSet, passes: readonly OptimizePass[] = optimizePasses): OptimizeStep[] {
  const steps: OptimizeStep[] = [];
  let cur = rs;
  for (const p of passes) {
    const t0 = performance.now();
    const after = p.run(cur);
    steps.push({ pass: p.name, before: cur, after, ms: performance.now() - t0 });
    cur = after;
  }
  return steps;
}

/** The IR after every pass. */
export function finalIr(ir: RuleSet, steps: readonly OptimizeStep[]): RuleSet {
  return steps.length ? steps[steps.length - 1].after : ir;
}
