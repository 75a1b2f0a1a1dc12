// Random policies for the kernel oracle: the specs and Istio's configurations are the
// combinations people wrote; these are the ones nobody did (TPROXY with DNS capture and
// rerouted interfaces, owner groups with excluded ports, IPv4-only with CIDR lists, ...).
// A seed gives the same policy every time, so a disagreement can be replayed. Values stay
// inside what the lab can host: its own address ranges are never used.
import { Rand } from '../../rand.js';

const CIDRS4 = ['10.96.0.0/12', '10.244.0.0/16', '172.16.0.0/12', '192.168.1.0/24', '9.9.0.0/16', '100.64.0.0/10', '169.254.169.254/32', '203.0.113.0/24'];
const INNER4: Record<string, string[]> = {
  '10.96.0.0/12': ['10.96.0.1/32', '10.100.0.0/16'],
  '10.244.0.0/16': ['10.244.7.0/24'],
  '172.16.0.0/12': ['172.20.0.0/16'],
  '192.168.1.0/24': ['192.168.1.128/25'],
  '9.9.0.0/16': ['9.9.9.0/24'],
  '100.64.0.0/10': ['100.100.0.0/16'],
  '203.0.113.0/24': ['203.0.113.7/32'],
};
const CIDRS6 = ['fd00:10:96::/112', '2001:db8::/32', 'fd00::/8', 'fd00:10:244::/56'];
const INNER6: Record<string, string[]> = { '2001:db8::/32': ['2001:db8:dead::/48'], 'fd00::/8': ['fd00:1::/32'], 'fd00:10:244::/56': ['fd00:10:244:1::/64'] };
const PORTS = ['80', '443', '3306', '8080', '9000-9100', '15020', '15021', '15090', '5432', '6379', '22', '1-79'];
const IFACES = ['eth1', 'eth2', 'vnet0', 'net1', 'cni0'];

/** A random policy, as .intercept text; whether it checks clean is the caller's to see. */
export function randomPolicy(seed: number): string {
  const r = new Rand(seed);
  const v6 = r.chance(70);
  const L: string[] = [`# random policy, seed ${seed} (test/kernel/oracle/random-policy.ts)`, `policy random-${seed} {`];
  const uid = r.pick([1337, 2102, 5678, 101]);
  const gid = r.chance(60) ? String(r.pick([1337, 2102, 5678])) : 'none';
  const outPort = 15001;
  const inPort = r.pick([15006, 15016]);
  const tunnel = r.chance(60) ? '15008' : 'none';
  L.push('  proxy {', `    uid ${uid}`, `    gid ${gid}`, `    outbound-port ${outPort}`, `    inbound-port ${inPort}`, `    tunnel-port ${tunnel}`, '  }');

  const inbound: string[] = [];
  if (r.chance(35)) inbound.push(`mode tproxy mark ${r.pick([1337, 0x100, 7])} table ${r.pick([133, 200])}${r.chance(50) ? ` local-mark ${r.pick([1338, 0x200])}` : ''}`);
  else inbound.push('mode redirect');
  const inCapture = r.pick(['*', '*', 'list', 'none']);
  if (inCapture === 'list') inbound.push(`capture ports ${r.sample(['80', '8080', '9000-9100', '5432', '22'], 1, 3).join(', ')}`);
  else inbound.push(`capture ports ${inCapture}`);
  if (inCapture === '*' && r.chance(60)) inbound.push(`exclude ports ${r.sample(['15020', '15021', '15090', '22', '9000-9100'], 1, 3).join(', ')}`);
  L.push('  inbound {', ...inbound.map((s) => `    ${s}`), '  }');

  const outbound: string[] = [];
  const outCapture = r.pick(['*', '*', 'list', 'none']);
  let captured = outCapture !== 'none';
  if (outCapture === 'list') {
    const c4 = r.sample(CIDRS4, 1, 3);
    const c6 = v6 ? r.sample(CIDRS6, 0, 2) : [];
    outbound.push(`capture cidrs ${[...c4, ...c6].join(', ')}`);
    const inner = [...c4.flatMap((c) => INNER4[c] ?? []), ...c6.flatMap((c) => INNER6[c] ?? [])];
    if (inner.length && r.chance(60)) outbound.push(`exclude cidrs ${r.sample(inner, 1, 2).join(', ')}`);
  } else {
    outbound.push(`capture cidrs ${outCapture}`);
    if (outCapture === '*' && r.chance(60)) outbound.push(`exclude cidrs ${[...r.sample(CIDRS4, 1, 2), ...(v6 ? r.sample(CIDRS6, 0, 1) : [])].join(', ')}`);
  }
  if (r.chance(30)) {
    outbound.push(`capture ports ${r.sample(['3306', '5432', '6379'], 1, 2).join(', ')}`);
    captured = true;
  }
  const dnsMode = r.pick(['off', 'all', 'servers']);
  if ((captured || dnsMode !== 'off') && r.chance(50)) outbound.push(`exclude ports ${r.sample(PORTS.filter((p) => p !== '1-79'), 1, 3).join(', ')}`);
  if (r.chance(25)) outbound.push(`groups ${r.sample(['888', '2000', '3000'], 1, 2).join(', ')}`);
  else if (r.chance(30)) outbound.push('groups *', `exclude groups ${r.sample(['888', '2000'], 1, 2).join(', ')}`);
  L.push('  outbound {', ...outbound.map((s) => `    ${s}`), '  }');

  const loopback: string[] = [];
  if (r.chance(80)) loopback.push(`passthrough ${v6 && r.chance(70) ? '127.0.0.6, ::6' : '127.0.0.6'}`);
  else loopback.push('passthrough none');
  if (r.chance(30)) loopback.push(`localhost ${v6 ? '127.0.0.1/32, ::1/128' : r.pick(['127.0.0.1/32', '127.0.0.0/8'])}`);
  loopback.push(`self-redirect ${r.chance(70) ? 'on' : 'off'}`);
  L.push('  loopback {', ...loopback.map((s) => `    ${s}`), '  }');

  if (dnsMode === 'servers') {
    const servers = r.sample(['10.96.0.10', '127.0.0.53', '169.254.20.10', ...(v6 ? ['fd00:10:96::a'] : [])], 1, 2);
    L.push('  dns {', `    capture servers ${servers.join(', ')}`, '    port 15053', '  }');
  } else L.push('  dns {', `    capture ${dnsMode}`, ...(dnsMode === 'all' ? ['    port 15053'] : []), '  }');

  if (r.chance(40)) {
    const names = r.sample(IFACES, 1, 3);
    const split = r.int(0, names.length);
    const ex = names.slice(0, split);
    const re = names.slice(split);
    L.push('  interfaces {', ...(ex.length ? [`    exclude ${ex.join(', ')}`] : []), ...(re.length ? [`    reroute ${re.join(', ')}`] : []), '  }');
  }
  L.push(`  drop-invalid ${r.chance(40) ? 'on' : 'off'}`);
  L.push(`  families ${v6 ? 'ipv4, ipv6' : 'ipv4'}`);
  L.push('}');
  return L.join('\n') + '\n';
}
