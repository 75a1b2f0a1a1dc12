// The noflush form of the iptables artifact: how it shares a node with other tools' rules.
// It is loaded with --noflush, declares only meshcap's own chains (OWN_PREFIX; created, or
// flushed when they exist), leaves built-in chains' policies alone, and gives each built-in
// chain it uses one jump to an own entry chain holding what the IR put there, so that a
// RETURN of ours ends our entry chain, not the built-in chain other tools' rules are in.
// `meshcap apply` (src/cli/apply.ts) re-applies and removes it; the header says how to
// load it by hand.
import type { Chain, Table } from '../../src/ir/types.js';
import { CH } from '../../src/lower/lower.js';

export class NoflushError extends Error {}

/** meshcap's own chains all start with this; `meshcap apply` owns nothing else. */
export const OWN_PREFIX = 'MESHCAP_';

/** The own chain a built-in chain jumps to in the noflush form. */
export const entryChain = (hook: string) => `${OWN_PREFIX}${hook}_ENTRY`;

export const BUILTIN_CHAINS = ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'];

/** The empty chain in which the shell script keeps the fingerprint of what it applied. */
export const FINGERPRINT_CHAIN = /^MESHCAP_FP_[0-9a-f]+$/;

/**
 * The chains meshcap owns, and so may flush and delete beside other tools' rules (the
 * shell script's OWN_CHAINS, `meshcap apply`'s listing of the node): the names its
 * lowering gives, the entry chains, the fingerprint chain. Not every MESHCAP_* name: a
 * user's MESHCAP_USER chain is the user's.
 */
export const OWN_CHAINS: readonly string[] = [...Object.values(CH), ...BUILTIN_CHAINS.map(entryChain)].sort();

export const isOwnChain = (name: string) => OWN_CHAINS.includes(name) || FINGERPRINT_CHAIN.test(name);

/**
 * The noflush form of a table: each non-empty built-in chain's rules move to its entry
 * chain, and the built-in chain keeps one jump there. The same packets meet the same rules
 * (a RETURN or the end of the entry chain comes back to the jump, then to the chain's
 * policy, as falling off the built-in chain did).
 */
export function withEntryChains(t: Table, policy: string): Table {
  const chains: Chain[] = [];
  for (const c of t.chains) {
    if (!c.base) {
      if (!c.name.startsWith(OWN_PREFIX)) throw new NoflushError(`chain '${c.name}' is not meshcap's (its chains start with ${OWN_PREFIX}); the noflush form would leave it behind`);
      continue;
    }
    if (c.base.policy !== 'accept') throw new NoflushError(`the ${c.name} chain's policy is ${c.base.policy}; loaded with --noflush beside other tools, meshcap leaves built-in chains' policies alone`);
    if (!c.rules.length) continue;
    const entry = entryChain(c.name);
    if (t.chains.some((o) => o.name === entry)) throw new NoflushError(`chain '${entry}' is both an IR chain and the entry chain of ${c.name}`);
    chains.push({ ...c, rules: [{ matches: [], action: { kind: 'jump', chain: entry }, origin: { span: null, purpose: `entry to policy ${policy}` } }] });
    chains.push({ name: entry, rules: c.rules });
  }
  return { ...t, chains: [...chains, ...t.chains.filter((c) => !c.base)] };
}

/** How to load the noflush form, at the top of the file: the one thing a reader must know. */
export function loadHeader(tool: string): string {
  return `# Load beside other tools' rules: ${tool}-restore --noflush < THIS_FILE
#   (without --noflush, ${tool}-restore first empties every table named below, other tools' rules included).
# It creates or flushes meshcap's own chains (${OWN_PREFIX}*) and adds one jump to each built-in chain it uses.
# Re-apply or remove with: meshcap apply THIS_FILE / meshcap apply --remove THIS_FILE (never duplicates a jump).
`;
}

/**
 * The noflush form read back as the IR it came from: a built-in chain whose one rule is an
 * unconditional jump to its entry chain (backends/iptables/emit.ts), which nothing else
 * enters, holds the entry chain's rules instead. The same packets meet the same rules either
 * way (a RETURN in the entry chain comes back to the jump, then to the chain's policy, as
 * falling off the built-in chain does), so round trips, traces and listings of a node that
 * has only meshcap's rules compare chain by chain; beside other tools' rules nothing folds.
 */
export function foldEntryChains(t: Table): Table {
  for (const c of t.chains) {
    const j = c.rules[0]?.action;
    if (!c.base || c.rules.length !== 1 || c.rules[0].matches.length || j?.kind !== 'jump' || j.chain !== entryChain(c.name)) continue;
    const entry = t.chains.find((e) => e.name === j.chain)!;
    const entered = t.chains.reduce((n, o) => n + o.rules.filter((r) => (r.action.kind === 'jump' || r.action.kind === 'goto') && r.action.chain === entry.name).length, 0);
    if (entered !== 1) continue;
    c.rules = entry.rules;
    t.chains = t.chains.filter((e) => e !== entry);
  }
  return t;
}
