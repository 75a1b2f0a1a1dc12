// Outcomes and packets for people, and whether two outcomes are the same.
import type { Outcome, Packet } from '../sim/packet.js';

export function sameOutcome(x: Outcome, y: Outcome): boolean {
  // An outcome that depends on a match meshcap does not model is the same as none.
  if (x.unknown || y.unknown) return false;
  return (
    x.verdict === y.verdict &&
    x.mark === y.mark &&
    x.ctmark === y.ctmark &&
    x.ctZone === y.ctZone &&
    (x.redirect?.port ?? null) === (y.redirect?.port ?? null) &&
    (x.tproxy?.port ?? null) === (y.tproxy?.port ?? null) &&
    (x.tproxy?.mark ?? null) === (y.tproxy?.mark ?? null)
  );
}

/** An outcome for people; given the packet, a connection mark it only carried is not shown. */
export function outcomeText(o: Outcome, before?: Packet): string {
  if (o.unknown) return `unknown (depends on ${o.unknown.join('; ')})`;
  if (o.verdict === 'drop') return 'drop';
  const parts: string[] = [];
  if (o.redirect) parts.push(`redirect ${o.redirect.port}`);
  if (o.tproxy) parts.push(`tproxy ${o.tproxy.port} mark 0x${o.tproxy.mark.toString(16)}`);
  if (!parts.length) parts.push('pass');
  if (o.mark && !o.tproxy) parts.push(`mark 0x${o.mark.toString(16)}`);
  if (before ? o.ctmark !== before.ctmark >>> 0 : o.ctmark) parts.push(`ctmark 0x${o.ctmark.toString(16)} saved`);
  if (o.ctZone !== null) parts.push(`zone ${o.ctZone}`);
  return parts.join(', ');
}

/** An address and port as people write them: 10.1.0.5:80, [fd00::5]:80. */
export function endpointText(addr: string, port: number): string {
  return addr.includes(':') ? `[${addr}]:${port}` : `${addr}:${port}`;
}

export function packetText(p: Packet): string {
  const ep = (a: string, port: number) => (p.protocol === 'tcp' || p.protocol === 'udp' ? endpointText(a, port) : a.includes(':') ? `[${a}]` : a);
  const extra: string[] = [];
  if (p.hook === 'output') {
    if (p.uid !== undefined) extra.push(`uid=${p.uid}`);
    if (p.gid !== undefined) extra.push(`gid=${p.gid}`);
    // Always written, also when empty: `trace` would otherwise assume eth0.
    extra.push(`oif=${p.oif}`);
  } else extra.push(`iif=${p.iif}`);
  if (p.mark) extra.push(`mark=${p.mark}`);
  if (p.ctmark) extra.push(`ctmark=${p.ctmark}`);
  if (p.ctstate !== 'new') extra.push(`ctstate=${p.ctstate}`);
  return `${p.hook === 'output' ? 'out' : 'in'} ${p.protocol} ${ep(p.src, p.sport)} -> ${ep(p.dst, p.dport)}${extra.length ? ' ' + extra.join(' ') : ''}`;
}
