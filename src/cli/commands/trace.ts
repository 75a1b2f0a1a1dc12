import { readFileSync } from 'node:fs';
import { backendByName, backends } from '../../../backends/index.js';
import { diag, didYouMean, hasErrors } from '../../diagnostics/diagnostic.js';
import { compile } from '../../compile/pipeline.js';
import { findingsOf, loadSide, type LoadedSide } from '../../compile/sides.js';
import { liveSide, whereOf } from './snapshot.js';
import type { Family, Routing, RuleSet } from '../../ir/types.js';
import { syntaxOf } from '../../language/load.js';
import { normalizePacket, parseCompactPacket } from '../../sim/packet.js';
import { followConnection, type Journey } from '../../sim/journey.js';
import type { Packet } from '../../sim/packet.js';
import { simulate } from '../../sim/simulate.js';
import { parseAddress } from '../../net/ip.js';
import { endpointText, packetText } from '../../verify/compare.js';
import { expectArgs, oneOf, parse } from '../args.js';
import { EXIT, UsageError, type Io } from '../io.js';
import { report } from '../report.js';
import { renderTrace, stepJson } from '../trace-render.js';
import type { Command } from './command.js';

export const traceCmd: Command = {
  name: 'trace',
  summary: 'show the path of one packet through a policy\'s rules',
  usage: `meshcap trace [options] FILE --packet PACKET
       meshcap trace [options] --live [--netns NAME | --pid PID] --packet PACKET

Runs one packet through the rules of FILE and prints every rule that matched (table,
chain, rule number, rule text, the line it came from, why it exists) and the outcome.
FILE is a policy (.intercept, .yaml: its compiled rules), or a rule file as verify and
diff read it: iptables-save or iptables-restore text, nft JSON, a meshcap shell script,
or a snapshot (meshcap snapshot).

PACKET is JSON, '@FILE' holding JSON, or the compact form
  'out tcp 10.1.0.5:40000 -> 10.2.0.9:9080 uid=1000 oif=eth0'
  'in tcp 10.2.0.9:5000 -> 10.1.0.5:8080 iif=eth0'
JSON fields: hook (output|prerouting), family, protocol (tcp|udp|icmp|icmpv6|sctp), src,
dst, sport, dport, iif, oif, uid, gid, mark, ctmark, ctstate (new|established|related|
invalid), transparentSocket, looped (a packet the pod sent to itself, back in through lo:
NAT chains do not run for it again). Marks may be hex (0x539). Defaults: hook output,
protocol tcp, sport 40000, oif eth0 (output) / iif eth0 (prerouting; lo when looped),
uid and gid 0 (output), mark 0, ctstate new.

Options:
  --packet P          the packet (required)
  --live              trace what the namespace runs now (a snapshot taken in place;
                      --netns NAME or --pid PID for another namespace)
  --backend B         (a policy) ir (default), or a backend (iptables, ip6tables,
                      nftables, shell): trace its output as its own importer reads it back
  --format F          text (default) or json: {"outcome":{...},"path":[...]}
  --no-comments       (with a text backend) as compile --no-comments
  --follow            follow the connection, not one pass: a redirected packet, or one
                      for the pod itself, comes back in through lo (NAT does not run
                      again); says where the connection ends up. The model the kernel
                      oracle checks against Linux.
  --pod-addr ADDR     (with --follow; repeatable) the pod's own addresses; default: the
                      packet's src (out) or dst (in). The policy's TPROXY routing and its
                      addresses on lo (::6) are taken as installed.`,
  run(argv: string[], io: Io): number {
    const { values, positionals } = parse(argv, {
      packet: { type: 'string' },
      backend: { type: 'string' },
      format: { type: 'string' },
      follow: { type: 'boolean' },
      'pod-addr': { type: 'string', multiple: true },
      live: { type: 'boolean' },
      netns: { type: 'string' },
      pid: { type: 'string' },
    });
    const podAddrs = (values['pod-addr'] ?? []).map((a) => {
      const p = parseAddress(a);
      if (!p.ok) throw new UsageError('usage-bad-option-value', { detail: `--pod-addr takes an address, not '${a}'` });
      return p.text;
    });
    if (values.help) return (io.out(this.usage + '\n'), EXIT.ok);
    if (values.live) {
      if (positionals.length) throw new UsageError('usage-extra-argument', { detail: '--live traces what the namespace runs now; it takes no FILE' });
      if (values.backend !== undefined) throw new UsageError('usage-conflicting-options', { detail: '--backend compiles a policy; --live traces the namespace' });
    } else {
      if (values.netns !== undefined || values.pid !== undefined) throw new UsageError('usage-conflicting-options', { detail: '--netns and --pid go with --live' });
      expectArgs(positionals, 1, 'trace takes one FILE (a policy, a rule file or a snapshot), or --live');
    }
    if (values.packet === undefined) throw new UsageError('usage-missing-argument', { detail: 'trace needs --packet' });
    const format = oneOf('format', values.format, ['text', 'json'] as const, 'text');
    const backendName = values.backend ?? 'ir';
    const backend = backendName === 'ir' ? undefined : backendByName(backendName);
    const known = ['ir', ...backends.map((b) => b.name)];
    if (backendName !== 'ir' && !backend) throw new UsageError(diag('usage-unknown-backend', undefined, { name: backendName, backends: known.join(', ') }, didYouMean(backendName, known)));

    let raw = values.packet;
    if (raw.startsWith('@')) {
      try {
        raw = readFileSync(raw.slice(1), 'utf8');
      } catch (e) {
        report(io, 'text', [diag('file-unreadable', undefined, { path: raw.slice(1), reason: (e as Error).message })], new Map());
        return EXIT.badInput;
      }
    }
    let parsed;
    if (raw.trim().startsWith('{')) {
      let obj: unknown;
      try {
        obj = JSON.parse(raw);
      } catch (e) {
        report(io, 'text', [diag('invalid-packet', undefined, { path: '$', detail: `not JSON: ${(e as Error).message}` })], new Map());
        return EXIT.badInput;
      }
      parsed = normalizePacket(obj);
    } else parsed = parseCompactPacket(raw);
    if (!parsed.packet) {
      report(io, 'text', parsed.problems.map((p) => diag('invalid-packet', undefined, { path: p.path, detail: p.message })), new Map());
      return EXIT.badInput;
    }
    if (backend?.family && backend.family !== parsed.packet.family) throw new UsageError('usage-conflicting-options', { detail: `the ${backend.name} backend carries ${backend.family} rules; the packet is ${parsed.packet.family}` });
    const loaded = values.live ? liveTraced(whereOf(values), parsed.packet.family, io) : loadTraced(positionals[0], backend?.name, parsed.packet.family, io);
    if (typeof loaded === 'number') return loaded;
    const { rs, routing } = loaded;
    if (values.follow) {
      if (parsed.packet.ctstate !== 'new' || parsed.packet.looped) throw new UsageError('usage-conflicting-options', { detail: '--follow follows a connection from its first packet: ctstate new, not looped' });
      const pkt = parsed.packet;
      const own = podAddrs.length ? podAddrs : [pkt.hook === 'output' ? pkt.src : pkt.dst];
      const j = followConnection(rs, pkt, {
        addresses: own,
        extraLocal: routing.loopbackAddresses,
        interfaceAddress: (_iif, family) => own.find((a) => (a.includes(':') ? 'ipv6' : 'ipv4') === family),
        routing,
      });
      if (format === 'json') {
        io.out(JSON.stringify({ packet: pkt, passes: j.passes.map((x) => ({ pass: x.label, packet: x.packet, outcome: x.result.outcome, path: x.result.path.map(stepJson) })), end: j.end, reason: j.reason }, null, 2) + '\n');
      } else {
        io.out(`packet: ${packetText(pkt)}\n`);
        for (const x of j.passes) io.out(`\n${x.label}: ${packetText(x.packet)}\n${renderTrace(x.result, '  ')}`);
        io.out(`\n=> ${journeyText(j, pkt)}\n`);
      }
      return EXIT.ok;
    }
    const r = simulate(rs, parsed.packet);
    if (format === 'json') {
      io.out(JSON.stringify({ packet: parsed.packet, outcome: r.outcome, path: r.path.map(stepJson) }, null, 2) + '\n');
    } else {
      io.out(`packet: ${packetText(parsed.packet)}\n`);
      io.out(renderTrace(r));
    }
    return EXIT.ok;
  },
};

/**
 * What a trace runs: a policy through the compiler's own passes (the IR a compile makes, or
 * an artifact as its importer reads it back), or a rule file or snapshot as `verify` and
 * `diff` read it. An exit code when it cannot be read.
 */
function loadTraced(path: string, backend: string | undefined, family: Family, io: Io): { rs: RuleSet; routing: Routing } | number {
  if (syntaxOf(path)) {
    const ctx = compile(path, { backends: backend ? [backend] : [], verify: false, until: backend ? 'reimport' : 'check-ir' });
    const sources = new Map(ctx.loaded?.source ? [[path, ctx.loaded.source]] : []);
    if (hasErrors(ctx.diagnostics) || !ctx.ir) {
      report(io, 'text', ctx.diagnostics, sources);
      return EXIT.badInput;
    }
    if (ctx.failures.length) {
      report(io, 'text', ctx.failures, sources);
      return EXIT.badInput;
    }
    return { rs: backend ? ctx.artifacts[0].reimported! : ctx.ir, routing: ctx.ir.routing };
  }
  if (backend) throw new UsageError('usage-conflicting-options', { detail: `--backend compiles a policy; ${path} is a rule file, traced as it is` });
  return sideTraced(loadSide(path), path, family, io);
}

function liveTraced(w: ReturnType<typeof whereOf>, family: Family, io: Io): { rs: RuleSet; routing: Routing } | number {
  const l = liveSide(w);
  if (!('label' in l)) {
    report(io, 'text', [l], new Map());
    return EXIT.badInput;
  }
  return sideTraced(l, l.label, family, io);
}

function sideTraced(side: LoadedSide, path: string, family: Family, io: Io): { rs: RuleSet; routing: Routing } | number {
  if (hasErrors(side.diagnostics) || !side.rs) {
    report(io, 'text', side.diagnostics, side.sources);
    return EXIT.badInput;
  }
  const findings = findingsOf(side);
  if (findings.length) report(io, 'text', findings, side.sources);
  if (!side.families.includes(family)) throw new UsageError('usage-conflicting-options', { detail: `${path} holds ${side.families.join(' and ') || 'no'} rules; the packet is ${family}` });
  return { rs: side.rs, routing: side.rs.routing };
}

/** The end of a journey, in words. */
export function journeyText(j: Journey, p: Packet): string {
  const orig = endpointText(p.dst, p.dport);
  switch (j.end.kind) {
    case 'local': {
      const at = j.end.at === '?' ? '' : ` (local address ${j.end.at})`;
      return `delivered to the pod's port ${j.end.port}${at}; the connection's original destination is ${orig} (${j.reason})`;
    }
    case 'out':
      return `leaves the pod${j.end.oif ? ` through ${j.end.oif}` : ''} for ${orig} (${j.reason})`;
    case 'dropped':
      return j.end.where === 'out' ? `dropped on the way out: the sender's send fails (EPERM)` : `dropped (${j.reason}): the sender hears nothing`;
    case 'forwarded':
      return `not for the pod: forwarded, and with forwarding off (a pod's default) it goes nowhere (${j.reason})`;
  }
}
