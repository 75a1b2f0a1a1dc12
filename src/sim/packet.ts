// Packets and outcomes as the simulator, `trace` and the tests speak them.
import type { CtState, Family, Hook, Protocol } from '../ir/types.js';
import { parseAddress } from '../net/ip.js';

/**
 * A packet at the start of its path: `output` for one the pod sends (OUTPUT, then
 * POSTROUTING), `prerouting` for one that arrives (PREROUTING, then INPUT).
 */
export interface Packet {
  hook: 'output' | 'prerouting';
  family: Family;
  protocol: Protocol;
  src: string;
  dst: string;
  sport: number;
  dport: number;
  /** Incoming interface (prerouting); '' when none. */
  iif: string;
  /** Outgoing interface (output); '' when none. */
  oif: string;
  /** Owner of the sending socket (output only); a name where the rules use names. */
  uid?: number | string;
  gid?: number | string;
  mark: number;
  /** Connection mark (conntrack). */
  ctmark: number;
  ctstate: CtState;
  /** The packet belongs to a transparent socket (`-m socket --transparent`). */
  transparentSocket?: boolean;
  /**
   * A packet the pod sent to itself, coming back in through `lo` (PREROUTING, INPUT). Its
   * connection's NAT was bound in OUTPUT, so NAT chains do not run for it again, although
   * the connection is still new (netfilter-facts §1.4; seen in the kernel oracle).
   */
  looped?: boolean;
}

export interface Outcome {
  verdict: 'accept' | 'drop';
  redirect: { port: number } | null;
  tproxy: { port: number; mark: number } | null;
  mark: number;
  /** The connection's mark after the packet: later packets of the connection read it (CONNMARK --restore-mark). */
  ctmark: number;
  ctZone: number | null;
  /** Set when the outcome depends on matches meshcap does not model: where they are (file:line and text). */
  unknown?: string[];
}

export const hookPath: Record<Packet['hook'], Hook[]> = {
  output: ['output', 'postrouting'],
  prerouting: ['prerouting', 'input'],
};

export const PACKET_DEFAULTS = {
  sport: 40000,
  iif: '',
  oif: 'eth0',
  mark: 0,
  ctmark: 0,
  ctstate: 'new' as CtState,
};

export type PacketProblem = { path: string; message: string };

const PROTOCOLS: Protocol[] = ['tcp', 'udp', 'icmp', 'icmpv6', 'sctp'];
const STATES: CtState[] = ['new', 'established', 'related', 'invalid', 'untracked'];
const NUMERIC = new Set(['sport', 'dport', 'uid', 'gid', 'mark', 'ctmark']);
const BOOLEAN = new Set(['transparentSocket', 'looped']);
const KEYS = new Set(['hook', 'family', 'protocol', 'src', 'dst', 'sport', 'dport', 'iif', 'oif', 'uid', 'gid', 'mark', 'ctmark', 'ctstate', 'transparentSocket', 'looped']);

/**
 * Check and complete a packet given as JSON. Defaults: sport 40000, mark 0, ctmark 0,
 * ctstate new, oif eth0 for output (iif '' ), iif eth0 for prerouting (lo when looped;
 * oif ''), uid and gid 0 for output; family from the addresses.
 */
export function normalizePacket(raw: unknown): { packet?: Packet; problems: PacketProblem[] } {
  const problems: PacketProblem[] = [];
  const bad = (path: string, message: string) => problems.push({ path, message });
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { problems: [{ path: '$', message: 'a packet is a JSON object' }] };
  const o = raw as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!KEYS.has(k)) bad(`$.${k}`, `unknown field '${k}'; the fields are ${[...KEYS].join(', ')}`);
  const hook = o.hook ?? 'output';
  if (hook !== 'output' && hook !== 'prerouting') bad('$.hook', "hook is 'output' or 'prerouting'");
  const protocol = o.protocol ?? 'tcp';
  if (!PROTOCOLS.includes(protocol as Protocol)) bad('$.protocol', `protocol is one of ${PROTOCOLS.join(', ')}`);
  const addr = (k: 'src' | 'dst') => {
    const v = o[k];
    if (typeof v !== 'string') {
      bad(`$.${k}`, `${k} is required: an IPv4 or IPv6 address`);
      return undefined;
    }
    const a = parseAddress(v);
    if (!a.ok) {
      bad(`$.${k}`, `'${v}' is not an address`);
      return undefined;
    }
    return a;
  };
  const src = addr('src');
  const dst = addr('dst');
  if (src && dst && src.family !== dst.family) bad('$.dst', 'src and dst are of different families');
  const family = (o.family ?? src?.family ?? 'ipv4') as Family;
  if (family !== 'ipv4' && family !== 'ipv6') bad('$.family', "family is 'ipv4' or 'ipv6'");
  if (src && family !== src.family) bad('$.family', `family ${family} does not match src ${src.text}`);
  const int = (k: string, dflt: number | undefined, max: number): number | undefined => {
    const v = o[k];
    if (v === undefined) return dflt;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) {
      bad(`$.${k}`, `${k} is a whole number 0-${max}`);
      return dflt;
    }
    return v;
  };
  const owner = (k: 'uid' | 'gid'): number | string | undefined => {
    const v = o[k];
    if (v === undefined) return hook === 'output' ? 0 : undefined;
    if (typeof v === 'string' && /^[A-Za-z_][A-Za-z0-9_.-]*$/.test(v)) return v;
    if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 4294967294) return v;
    bad(`$.${k}`, `${k} is a number 0-4294967294 or a name`);
    return undefined;
  };
  const str = (k: 'iif' | 'oif', dflt: string): string => {
    const v = o[k];
    if (v === undefined) return dflt;
    if (typeof v !== 'string' || v.length > 15) {
      bad(`$.${k}`, `${k} is an interface name`);
      return dflt;
    }
    return v;
  };
  const ctstate = o.ctstate ?? 'new';
  if (!STATES.includes(ctstate as CtState)) bad('$.ctstate', `ctstate is one of ${STATES.join(', ')}`);
  for (const k of ['transparentSocket', 'looped']) if (o[k] !== undefined && typeof o[k] !== 'boolean') bad(`$.${k}`, `${k} is true or false`);
  if (o.looped && hook !== 'prerouting') bad('$.looped', "looped describes a packet coming back in through lo: hook 'prerouting'");
  if (o.looped && o.iif !== undefined && o.iif !== 'lo') bad('$.iif', 'a looped packet comes in through lo');
  const hasPorts = protocol === 'tcp' || protocol === 'udp' || protocol === 'sctp';
  const dport = int('dport', hasPorts ? undefined : 0, 65535);
  if (hasPorts && o.dport === undefined) bad('$.dport', `dport is required for ${String(protocol)}`);
  if (problems.length) return { problems };
  const packet: Packet = {
    hook: hook as Packet['hook'],
    family,
    protocol: protocol as Protocol,
    src: src!.text,
    dst: dst!.text,
    sport: int('sport', PACKET_DEFAULTS.sport, 65535)!,
    dport: dport ?? 0,
    iif: str('iif', hook === 'prerouting' ? (o.looped ? 'lo' : 'eth0') : ''),
    oif: str('oif', hook === 'output' ? 'eth0' : ''),
    mark: int('mark', 0, 0xffffffff)!,
    ctmark: int('ctmark', 0, 0xffffffff)!,
    ctstate: ctstate as CtState,
  };
  const uid = owner('uid');
  const gid = owner('gid');
  if (uid !== undefined) packet.uid = uid;
  if (gid !== undefined) packet.gid = gid;
  if (o.transparentSocket) packet.transparentSocket = true;
  if (o.looped) packet.looped = true;
  return problems.length ? { problems } : { packet, problems };
}

/**
 * The compact form for people: 'out tcp 10.1.0.5:40000 -> 10.2.0.9:9080 uid=1000 oif=eth0'
 * or 'in tcp 10.2.0.9:5000 -> 10.1.0.5:8080 iif=eth0'. IPv6 addresses go in brackets.
 */
export function parseCompactPacket(text: string): { packet?: Packet; problems: PacketProblem[] } {
  const words = text.trim().split(/\s+/);
  const obj: Record<string, unknown> = {};
  const dir = words.shift();
  if (dir !== 'out' && dir !== 'in') return { problems: [{ path: '$', message: "a compact packet starts with 'out' or 'in'" }] };
  obj.hook = dir === 'out' ? 'output' : 'prerouting';
  const proto = words.shift();
  obj.protocol = proto;
  const endpoint = (s: string | undefined, which: 'src' | 'dst'): boolean => {
    if (!s) return false;
    const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(s) ?? /^([^:]+)(?::(\d+))?$/.exec(s);
    if (!m) return false;
    obj[which] = m[1];
    if (m[2]) obj[which === 'src' ? 'sport' : 'dport'] = Number(m[2]);
    return true;
  };
  const a = words.shift();
  const arrow = words.shift();
  const b = words.shift();
  if (!endpoint(a, 'src') || arrow !== '->' || !endpoint(b, 'dst')) {
    return { problems: [{ path: '$', message: "expected 'out|in PROTO SRC[:PORT] -> DST[:PORT] [key=value ...]'" }] };
  }
  for (const w of words) {
    const [k, v] = w.split('=', 2);
    if (v === undefined) return { problems: [{ path: '$', message: `expected key=value, found '${w}'` }] };
    // Numbers (decimal or hex: marks are usually written 0x539, as iptables-save prints
    // them) and booleans only where the field is one: `oif=0x1` is an interface name.
    if (NUMERIC.has(k) && /^(\d+|0x[0-9a-f]+)$/i.test(v)) obj[k] = Number(v);
    else if (BOOLEAN.has(k) && (v === 'true' || v === 'false')) obj[k] = v === 'true';
    else obj[k] = v;
  }
  return normalizePacket(obj);
}
