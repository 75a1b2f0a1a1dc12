// Shared by the random-policy tests of the meaning (meaning.test.ts, meaning-index.test.ts):
// a policy's text from its parts, and an outcome written relative to its packet.
import type { Outcome, Packet } from '../../src/sim/packet.js';

/** The statements a random policy may set; an unset part is left out of the text. */
export interface PolicyParts {
  uid?: string;
  gid?: string;
  outboundPort?: string;
  inboundPort?: string;
  tunnelPort?: string;
  mode?: string;
  inCapture?: string;
  inExclude?: string;
  inExcludeSources?: string;
  outCidrs?: string;
  outExcludeCidrs?: string;
  outPorts?: string;
  outExcludePorts?: string;
  outExcludeForUids?: string;
  groups?: string;
  excludeGroups?: string;
  passthrough?: string;
  localhost?: string;
  selfRedirect?: string;
  dns?: string;
  dnsPort?: string;
  dnsTcp?: string;
  dnsZones?: string;
  order?: string;
  log?: string;
  vnet?: string;
  ifExclude?: string;
  ifReroute?: string;
  dropInvalid?: string;
  families?: string;
}

/** The policy text: a block for each group of statements that are set. */
export function policyText(x: PolicyParts): string {
  const block = (name: string, lines: [string, string | undefined][]) => {
    const set = lines.filter(([, v]) => v !== undefined);
    return set.length ? `  ${name} {\n${set.map(([k, v]) => `    ${k} ${v}\n`).join('')}  }\n` : '';
  };
  return (
    'policy random {\n' +
    block('proxy', [
      ['uid', x.uid],
      ['gid', x.gid],
      ['outbound-port', x.outboundPort],
      ['inbound-port', x.inboundPort],
      ['tunnel-port', x.tunnelPort],
    ]) +
    block('inbound', [
      ['mode', x.mode],
      ['capture ports', x.inCapture],
      // Exclusions only narrow '*'.
      ['exclude ports', x.inCapture === '*' ? x.inExclude : undefined],
      ['exclude sources', x.inCapture !== undefined && x.inCapture !== 'none' ? x.inExcludeSources : undefined],
    ]) +
    block('outbound', [
      ['capture cidrs', x.outCidrs],
      ['exclude cidrs', x.outExcludeCidrs],
      ['capture ports', x.outPorts],
      ['exclude ports', x.outExcludePorts],
      ['exclude ports-for-uids', x.outExcludeForUids],
      ['groups', x.groups],
      ['exclude groups', x.groups === undefined || x.groups === '*' ? x.excludeGroups : undefined],
    ]) +
    block('loopback', [
      ['passthrough', x.passthrough],
      ['localhost', x.localhost],
      ['self-redirect', x.selfRedirect],
    ]) +
    block('dns', [
      ['capture', x.dns],
      ['port', x.dnsPort],
      ['tcp', x.dnsTcp],
      ['conntrack-zones', x.dnsZones],
    ]) +
    block('interfaces', [
      ['exclude', x.ifExclude],
      ['reroute', x.ifReroute],
      ['vnet', x.vnet],
    ]) +
    (x.dropInvalid ? `  drop-invalid ${x.dropInvalid}\n` : '') +
    (x.families ? `  families ${x.families}\n` : '') +
    (x.order ? `  order ${x.order}\n` : '') +
    (x.log ? `  log ${x.log}\n` : '') +
    '}\n'
  );
}

/** An outcome with the packet's own mark and connection mark (carried through untouched) written as such. */
export function relative(o: Outcome, p: Packet): string {
  const rel = (x: number) => (x === p.mark >>> 0 ? 'in' : String(x));
  return JSON.stringify({ ...o, mark: rel(o.mark), ctmark: o.ctmark === p.ctmark >>> 0 ? 'in' : String(o.ctmark), tproxy: o.tproxy && { port: o.tproxy.port, mark: rel(o.tproxy.mark) } });
}
