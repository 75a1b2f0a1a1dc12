// Values with Kuma's item formats: outbound `exclude ports-for-uids`, per-owner, per-protocol
// port exclusions (--exclude-outbound-ports-for-uids, pkg/transparentproxy/config/utils.go
// parseExcludePortsForUIDs), one item per (protocols, port range, owners); and
// `interfaces { vnet }` (--vnet IFACE:CIDR).
import type { Atom } from '../../grammar/syntax-tree.js';
import { diag } from '../diagnostics/diagnostic.js';
import type { OwnerPortExclusion, VirtualNet } from './ast.js';
import { cidrItem, interfaceItem, list, ownerItem, portItem, type ValueContext, type ValueKind } from './values.js';

const PROTOCOLS: Record<string, ('tcp' | 'udp')[]> = { tcp: ['tcp'], udp: ['udp'], '*': ['tcp', 'udp'] };

/** The atom of `text`, which starts `from` characters into `a` (same line: items are one word). */
function part(a: Atom, from: number, text: string): Atom {
  const start = { ...a.span.start, col: a.span.start.col + from, offset: a.span.start.offset + from };
  const end = { ...start, col: start.col + text.length, offset: start.offset + text.length };
  return { text, span: { file: a.span.file, start, end }, commaBefore: a.commaBefore };
}

/** `[PROTO:][PORTS:]UIDS`: PROTO tcp, udp or * (both, the default), PORTS a port, a range or * (all, the default), UIDS a uid or a range. */
function item(a: Atom, ctx: ValueContext): OwnerPortExclusion | undefined {
  const parts = a.text.split(':');
  if (parts.length > 3 || parts.some((x) => x === '')) {
    ctx.report(diag('invalid-uid-port-exclusion', a.span, { text: a.text, reason: parts.length > 3 ? 'it has more than three parts' : 'a part is empty' }));
    return undefined;
  }
  const [proto, ports, uids] = parts.length === 3 ? parts : parts.length === 2 ? ['*', ...parts] : ['*', '*', parts[0]];
  let at = 0;
  const atoms = parts.map((x) => {
    const p = part(a, at, x);
    at += x.length + 1;
    return p;
  });
  const [protoAtom, portsAtom, uidsAtom] = parts.length === 3 ? atoms : parts.length === 2 ? [undefined, ...atoms] : [undefined, undefined, atoms[0]];
  const protocols = PROTOCOLS[proto];
  if (!protocols) ctx.report(diag('invalid-uid-port-exclusion', (protoAtom ?? a).span, { text: proto, reason: "the protocol is 'tcp', 'udp' or '*' (both)" }));
  const range = ports === '*' ? { lo: 1, hi: 65535, span: (portsAtom ?? a).span } : portItem(portsAtom!, ctx, true);
  if (uids === '*') {
    ctx.report(diag('invalid-uid-port-exclusion', uidsAtom.span, { text: uids, reason: "the uids cannot be '*' (to exclude ports for everyone, use 'exclude ports')" }));
    return undefined;
  }
  const owners = ownerItem(uidsAtom, ctx, 'uid');
  if (!protocols || !range || !owners) return undefined;
  return { protocols, ports: { ...range, span: a.span }, uids: owners, span: a.span };
}

export const ownerPortList: ValueKind<OwnerPortExclusion[]> = {
  expected: "a list of [PROTOCOL:][PORTS:]UIDS items (tcp:22:106-108, udp:53:1000, 8080:1001, 1002)",
  parse(args, ctx) {
    return list(args, ctx, this.expected, (a) => item(a, ctx));
  },
};

/** `IFACE:CIDR` (Kuma's --vnet): the interface, then its exempt destinations; split at the first ':' (names hold none). */
function vnetItem(a: Atom, ctx: ValueContext): VirtualNet | undefined {
  const at = a.text.indexOf(':');
  if (at <= 0 || at === a.text.length - 1) {
    ctx.report(diag('invalid-vnet', a.span, { text: a.text }));
    return undefined;
  }
  const iface = interfaceItem(part(a, 0, a.text.slice(0, at)), ctx);
  const cidr = cidrItem(part(a, at + 1, a.text.slice(at + 1)), ctx);
  return iface && cidr && { iface: { ...iface, span: a.span }, cidr: { ...cidr, span: a.span }, span: a.span };
}

export const vnetList: ValueKind<VirtualNet[]> = {
  expected: 'a list of INTERFACE:CIDR items (docker0:172.17.0.0/16, br+:172.18.0.0/16, eth1:fd00::/64)',
  parse(args, ctx) {
    return list(args, ctx, this.expected, (a) => vnetItem(a, ctx));
  },
};
