// A judgement as data: one policy and what the engine's lint rules need to know about its
// workload, with no functions in it, so that a worker thread (src/lint/pool.ts) can judge
// it as well as the main thread. The items judged are named by span (`userSet`): which
// exclusion items the user set is the manifest reader's knowledge, decided before. A
// worker gets the policy's text (a policy's spans read their source lazily and do not
// survive structured cloning) and loads it again; findings come back with plain spans.
import type { Policy } from '../language/ast.js';
import { loadText, type Syntax } from '../language/load.js';
import type { Cidr } from '../net/ip.js';
import type { Span } from '../source.js';
import { engineFindings, spanKey, type RawFinding } from './engine-rules.js';

export interface Job {
  /** The policy as loaded here; a worker loads `text` (the same policy, the same spans). */
  policy?: Policy;
  path: string;
  text: string;
  syntax: Syntax;
  clusterCidrs: Cidr[];
  ports?: { port: number; container: string }[];
  dnsServers: string[];
  proxyOwner?: { uid: number; gid: number };
  ipv6: boolean;
  /** The span keys of the items to judge; null: every item with a span (a policy file, all the user's). */
  userSet: string[] | null;
  /** Span keys that already have a finding: not judged again. */
  flagged: string[];
}

export function runJob(j: Job): RawFinding[] {
  const policy = j.policy ?? loadText(j.path, j.text, j.syntax).policy;
  if (!policy) throw new Error(`lint: ${j.path} loads in one thread and not in another`);
  const user = j.userSet && new Set(j.userSet);
  const isUserSet = (s: Span | null) => s !== null && (!user || user.has(spanKey(s)));
  return engineFindings(policy, { clusterCidrs: j.clusterCidrs, ports: j.ports, dnsServers: j.dnsServers, proxyOwner: j.proxyOwner, ipv6: j.ipv6, isUserSet, flagged: new Set(j.flagged) });
}

/** What a job costs, roughly: the engine asks a question per item, container port and cluster CIDR. */
export function weight(j: Job): number {
  const p = j.policy;
  if (!p) return 1;
  const items = j.userSet ? j.userSet.length : p.outbound.excludeCidrs.value.length + p.outbound.excludePorts.value.length + p.inbound.excludePorts.value.length;
  return 1 + items * (1 + j.clusterCidrs.length) + (j.ports?.length ?? 0);
}

/** A finding as plain data (its span's fields read out), to cross to another thread. */
export function plainFinding(f: RawFinding): RawFinding {
  return f.span ? { ...f, span: { file: f.span.file, start: f.span.start, end: f.span.end } } : f;
}
