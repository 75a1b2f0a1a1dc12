// What a policy means where it says nothing. The numbers are istio-iptables' own defaults
// (ports 15001/15006/15008, uid and gid 1337, passthrough 127.0.0.6 and ::6), except
// `families`, which defaults to both: a policy that forgets IPv6 should not silently let
// IPv6 bypass the proxy (write `families ipv4` to opt out; `check` then warns).
import type { Address, CidrItem, Policy } from './ast.js';
import { parseAddress, parseCidr } from '../net/ip.js';

function addr(text: string): Address {
  const a = parseAddress(text);
  if (!a.ok) throw new Error(`bad built-in address ${text}`);
  return { family: a.family, text: a.text, value: a.value, span: null };
}

function cidr(text: string): CidrItem {
  const c = parseCidr(text);
  if (!c.ok) throw new Error(`bad built-in CIDR ${text}`);
  return { ...c.cidr, span: null };
}

export function defaultPolicy(name: string, file: string): Policy {
  const d = <T>(value: T) => ({ value, span: null });
  return {
    name,
    file,
    span: null,
    proxy: {
      uids: d([{ kind: 'id', id: 1337, span: null }]),
      gids: d([{ kind: 'id', id: 1337, span: null }]),
      outboundPort: d(15001),
      inboundPort: d(15006),
      tunnelPort: d(15008),
    },
    inbound: { mode: d({ kind: 'redirect' }), capturePorts: d({ kind: 'none' }), excludePorts: d([]), excludeSources: d([]) },
    outbound: {
      captureCidrs: d({ kind: 'none' }),
      excludeCidrs: d([]),
      capturePorts: d([]),
      excludePorts: d([]),
      excludePortsForUids: d([]),
      groups: d({ kind: 'all' }),
      excludeGroups: d([]),
    },
    loopback: {
      passthrough: d([addr('127.0.0.6'), addr('::6')]),
      localhost: d([cidr('127.0.0.1/32'), cidr('::1/128')]),
      selfRedirect: d(true),
    },
    dns: { capture: d({ kind: 'off' }), port: d(15053), tcp: d('capture'), conntrackZones: d(true) },
    interfaces: { exclude: d([]), reroute: d([]), vnet: d([]) },
    dropInvalid: d(false),
    order: d('proxy-first'),
    attach: d('standard'),
    log: d(null),
    families: d(['ipv4', 'ipv6']),
  };
}
