// Checks that need the whole policy: exclusions that cannot act, ports that clash,
// addresses of families the policy does not compile for, and the like.
import type { Address, CidrItem, Owner, Policy, PortRange } from './ast.js';
import { diag, type Diagnostic } from '../diagnostics/diagnostic.js';
import { cidrContains, cidrText, isLoopbackV4 } from '../net/ip.js';
import type { Span } from '../source.js';
import { cidrDuplicates, portDuplicates, rangeText, textDuplicates } from './duplicates.js';

const orUndef = (s: Span | null) => s ?? undefined;

/**
 * `failed` names the statements whose values were rejected (`inbound.capture-ports`,
 * `inbound.?` for an unknown keyword in a block, `*` for an unknown block): a check that
 * reads one of them is skipped, since the default standing in for it would mislead.
 */
export function validatePolicy(p: Policy, failed: ReadonlySet<string> = new Set()): Diagnostic[] {
  const out: Diagnostic[] = [];
  const report = (d: Diagnostic) => out.push(d);
  const ok = (...ids: string[]) => !failed.has('*') && ids.every((id) => !failed.has(id) && !failed.has(id.split('.')[0] + '.?'));

  // Duplicates inside lists.
  const inCap = p.inbound.capturePorts.value;
  if (inCap.kind === 'list') portDuplicates(inCap.items, report);
  portDuplicates(p.inbound.excludePorts.value, report);
  cidrDuplicates(p.inbound.excludeSources.value, report);
  const outCap = p.outbound.captureCidrs.value;
  if (outCap.kind === 'list') cidrDuplicates(outCap.items, report);
  cidrDuplicates(p.outbound.excludeCidrs.value, report);
  portDuplicates(p.outbound.capturePorts.value, report);
  portDuplicates(p.outbound.excludePorts.value, report);
  const ownerKey = (o: Owner) => (o.kind === 'id' ? o.id : o.name); // a name never reads as a number
  const groups = p.outbound.groups.value;
  if (groups.kind === 'list') textDuplicates(groups.items, ownerKey, report);
  textDuplicates(p.outbound.excludeGroups.value, ownerKey, report);
  textDuplicates(p.proxy.uids.value, ownerKey, report);
  textDuplicates(p.proxy.gids.value, ownerKey, report);
  textDuplicates(p.loopback.passthrough.value, (a) => a.text, report);
  cidrDuplicates(p.loopback.localhost.value, report);
  const dns = p.dns.capture.value;
  if (dns.kind === 'servers') textDuplicates(dns.servers, (a) => a.text, report);
  const ifKey = (i: { name: string; prefix: boolean }) => (i.prefix ? `${i.name}+` : i.name);
  textDuplicates(p.interfaces.exclude.value, ifKey, report);
  textDuplicates(p.interfaces.reroute.value, ifKey, report);
  const fams = p.families.value;

  // Exclusions that cannot take effect.
  if (ok('inbound.exclude-ports', 'inbound.capture-ports') && p.inbound.excludePorts.value.length > 0 && inCap.kind !== 'all') {
    report(
      diag('ineffective-exclude', orUndef(p.inbound.excludePorts.span), {
        what: "inbound 'exclude ports'",
        reason: inCap.kind === 'none' ? 'no inbound port is captured' : "'capture ports' is a list, so only the listed ports are captured",
        hint: inCap.kind === 'none' ? "capture ports with 'capture ports *', or remove the exclusion" : "remove these ports from the 'capture ports' list instead",
      }),
    );
  }
  if (ok('inbound.exclude-sources', 'inbound.capture-ports') && p.inbound.excludeSources.value.length > 0 && inCap.kind === 'none') {
    report(
      diag('ineffective-exclude', orUndef(p.inbound.excludeSources.span), {
        what: "inbound 'exclude sources'",
        reason: 'no inbound port is captured',
        hint: "capture ports with 'capture ports', or remove the exclusion",
      }),
    );
  }
  const outboundCaptures = outCap.kind !== 'none' || p.outbound.capturePorts.value.length > 0;
  const outOk = ok('outbound.capture-cidrs', 'outbound.capture-ports', 'dns.capture');
  if (!outOk || !ok('outbound.exclude-cidrs')) {
    // skipped
  } else if (p.outbound.excludeCidrs.value.length > 0 && !outboundCaptures && p.dns.capture.value.kind === 'off') {
    report(
      diag('ineffective-exclude', orUndef(p.outbound.excludeCidrs.span), {
        what: "outbound 'exclude cidrs'",
        reason: 'no outbound traffic is captured',
        hint: "capture outbound traffic with 'capture cidrs', or remove the exclusion",
      }),
    );
  } else if (outCap.kind === 'list' && p.outbound.capturePorts.value.length === 0) {
    const excluded = p.outbound.excludeCidrs.value;
    for (let i = 0; i < excluded.length; i++) {
      const c = excluded[i];
      if (!outCap.items.some((o) => cidrContains(o, c) || cidrContains(c, o))) {
        report(diag('exclude-outside-capture', orUndef(c.span), { text: cidrText(c) }));
      }
    }
  }
  // Port exclusions (plain, and per uid) mean nothing when no outbound traffic is captured.
  const portExclusions = [
    { field: 'outbound.exclude-ports', what: "outbound 'exclude ports'", list: p.outbound.excludePorts },
    { field: 'outbound.exclude-ports-for-uids', what: "outbound 'exclude ports-for-uids'", list: p.outbound.excludePortsForUids },
  ] as const;
  for (const x of portExclusions)
    if (outOk && ok(x.field) && x.list.value.length > 0 && !outboundCaptures && p.dns.capture.value.kind === 'off')
      report(
        diag('ineffective-exclude', orUndef(x.list.span), {
          what: x.what,
          reason: 'no outbound traffic is captured',
          hint: "capture outbound traffic with 'capture cidrs', or remove the exclusion",
        }),
      );
  if (ok('outbound.exclude-groups', 'outbound.groups') && p.outbound.excludeGroups.value.length > 0 && groups.kind !== 'all') {
    report(diag('group-exclude-with-list', orUndef(p.outbound.excludeGroups.span)));
  }

  // The proxy's ports.
  const ports: { name: string; port: number | null; span: Span | null }[] = [
    { name: 'outbound-port', port: p.proxy.outboundPort.value, span: p.proxy.outboundPort.span },
    { name: 'inbound-port', port: p.proxy.inboundPort.value, span: p.proxy.inboundPort.span },
    { name: 'tunnel-port', port: p.proxy.tunnelPort.value, span: p.proxy.tunnelPort.span },
  ];
  if (p.dns.capture.value.kind !== 'off') ports.push({ name: 'dns port', port: p.dns.port.value, span: p.dns.port.span });
  const portsOk = ok('proxy.outbound-port', 'proxy.inbound-port', 'proxy.tunnel-port', 'dns.port', 'dns.capture');
  for (let i = 0; portsOk && i < ports.length; i++) {
    for (let j = 0; j < i; j++) {
      const a = ports[j];
      const b = ports[i];
      // One listener for both directions is allowed (Linkerd's -p and -o may be equal):
      // the proxy tells the directions apart by the original destination.
      const bothDirections = a.name === 'outbound-port' && b.name === 'inbound-port';
      if (a.port !== null && a.port === b.port && !bothDirections) {
        report(diag('proxy-port-clash', orUndef(b.span ?? a.span), { a: a.name, b: b.name, port: a.port }));
      }
    }
  }
  if (portsOk && inCap.kind === 'list') {
    for (const pr of inCap.items) {
      for (const x of ports.slice(0, 3)) {
        if (x.port !== null && pr.lo <= x.port && x.port <= pr.hi) {
          report(diag('proxy-port-captured', orUndef(pr.span), { which: x.name.replace('-port', ''), port: x.port }));
        }
      }
    }
  }

  // Loopback.
  for (const a of p.loopback.passthrough.value) {
    if (a.family === 'ipv4' && !isLoopbackV4(a.value)) {
      report(diag('passthrough-not-loopback', orUndef(a.span), { text: a.text }));
    }
  }

  for (const fam of ['ipv4', 'ipv6'] as const) {
    const xs = p.loopback.localhost.value.filter((c) => c.family === fam);
    if (xs.length > 1) report(diag('one-per-family', orUndef(xs[1].span), { name: 'localhost', family: fam === 'ipv4' ? 'IPv4' : 'IPv6', a: cidrText(xs[0]), b: cidrText(xs[1]) }));
  }

  // Families.
  const enabled = new Set(fams);
  const familyCheck = (items: (Address | CidrItem)[], what: string) => {
    if (!ok('policy.families')) return;
    // Indexed, as the other loops over whole lists: this function runs once, unoptimized,
    // and a for-of iterator there costs an object per value.
    for (let i = 0; i < items.length; i++) {
      const x = items[i];
      if (x.span && !enabled.has(x.family)) {
        report(diag('family-not-enabled', x.span, { text: 'text' in x ? x.text : cidrText(x), label: x.family === 'ipv4' ? 'IPv4' : 'IPv6', family: x.family, what }));
      }
    }
  };
  if (outCap.kind === 'list') familyCheck(outCap.items, 'CIDR');
  familyCheck(p.outbound.excludeCidrs.value, 'CIDR');
  familyCheck(p.inbound.excludeSources.value, 'CIDR');
  familyCheck(p.loopback.localhost.value, 'CIDR');
  familyCheck(p.loopback.passthrough.value, 'address');
  if (dns.kind === 'servers') familyCheck(dns.servers, 'address');
  familyCheck(p.interfaces.vnet.value.map((v) => v.cidr), 'CIDR');
  if (ok('policy.families') && !enabled.has('ipv6')) report(diag('ipv6-bypass', orUndef(p.families.span)));

  // A proxy with neither uid nor gid cannot be told apart: its own connections are captured again.
  if (ok('proxy.uid', 'proxy.gid') && p.proxy.uids.value.length === 0 && p.proxy.gids.value.length === 0) {
    const outCaptured = outboundCaptures || p.dns.capture.value.kind !== 'off' || p.loopback.selfRedirect.value;
    if (outCaptured) report(diag('proxy-unrecognised', orUndef(p.proxy.uids.span ?? p.proxy.gids.span)));
  }

  // Names resolved at load time.
  const named = (o: Owner, what: string) => {
    if (o.kind === 'name') report(diag('name-resolved-at-load', orUndef(o.span), { what, text: o.name }));
  };
  p.proxy.uids.value.forEach((u) => named(u, 'user'));
  p.proxy.gids.value.forEach((g) => named(g, 'group'));
  if (groups.kind === 'list') groups.items.forEach((g) => named(g, 'group'));
  p.outbound.excludeGroups.value.forEach((g) => named(g, 'group'));

  // DNS capture cannot act on a port that outbound exclusions return first.
  if (ok('dns.capture', 'outbound.exclude-ports') && p.dns.capture.value.kind !== 'off') {
    const r = p.outbound.excludePorts.value.find((x) => x.lo <= 53 && 53 <= x.hi);
    if (r) report(diag('dns-port-excluded', orUndef(r.span)));
  }

  // Interfaces.
  for (const i of p.interfaces.reroute.value) {
    if (p.interfaces.exclude.value.some((e) => e.name === i.name && e.prefix === i.prefix)) {
      report(diag('interface-in-both', orUndef(i.span), { text: ifKey(i) }));
    }
  }

  for (const v of p.interfaces.vnet.value) {
    const same = (i: { name: string; prefix: boolean }) => i.name === v.iface.name && i.prefix === v.iface.prefix;
    if (p.interfaces.exclude.value.some(same) || p.interfaces.reroute.value.some(same)) report(diag('interface-in-both', orUndef(v.span), { text: ifKey(v.iface) }));
  }
  if (ok('interfaces.vnet', 'inbound.mode', 'inbound.capture-ports') && p.interfaces.vnet.value.length > 0 && p.inbound.mode.value.kind === 'tproxy' && inCap.kind !== 'none') {
    report(diag('vnet-needs-redirect', orUndef(p.interfaces.vnet.span)));
  }

  // Anything captured at all?
  const captures =
    inCap.kind !== 'none' || outboundCaptures || p.dns.capture.value.kind !== 'off' || p.interfaces.reroute.value.length > 0 || p.interfaces.vnet.value.length > 0;
  if (!captures && ok('inbound.capture-ports', 'outbound.capture-cidrs', 'outbound.capture-ports', 'dns.capture', 'interfaces.reroute', 'interfaces.vnet')) report(diag('nothing-captured', orUndef(p.span)));

  return out;
}

export function portListText(xs: PortRange[]): string {
  return xs.map(rangeText).join(', ');
}
