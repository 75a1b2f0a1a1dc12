import { readFileSync } from 'node:fs';
import { backendByName, restrictTo } from '../../../backends/index.js';
import { diag, hasErrors } from '../../diagnostics/diagnostic.js';
import { loadFile } from '../../load.js';
import { lower } from '../../lower/lower.js';
import { normalizePacket, parseCompactPacket } from '../../sim/packet.js';
import { simulate } from '../../sim/simulate.js';
import { packetText } from '../../verify/compare.js';
import { oneOf, parse } from '../args.js';
import { EXIT, UsageError, type Io } from '../io.js';
import { report } from '../report.js';
import { renderTrace, stepJson } from '../trace-render.js';
import type { Command } from './command.js';

export const traceCmd: Command = {
  name: 'trace',
  summary: 'show the path of one packet through a policy\'s rules',
  usage: `meshcap trace [options] POLICY --packet PACKET

Runs one packet through the compiled rules and prints every rule that matched (table,
chain, rule number, rule text, the policy line it came from, why it exists) and the
outcome.

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
  --backend B         ir (default), iptables, ip6tables: trace the emitted text read back
  --format F          text (default) or json: {"outcome":{...},"path":[...]}
  --no-comments       (with a text backend) as compile --no-comments`,
  run(argv: string[], io: Io): number {
    const { values, positionals } = parse(argv, { packet: { type: 'string' }, backend: { type: 'string' }, format: { type: 'string' } });
    if (values.help) return (io.out(this.usage + '\n'), EXIT.ok);
    if (positionals.length !== 1) throw new UsageError('trace takes one POLICY');
    if (values.packet === undefined) throw new UsageError('trace needs --packet');
    const format = oneOf('format', values.format as string | undefined, ['text', 'json'] as const, 'text');
    const backendName = (values.backend as string | undefined) ?? 'ir';
    const backend = backendName === 'ir' ? undefined : backendByName(backendName);
    if (backendName !== 'ir' && !backend) throw new UsageError(`--backend takes ir or a backend name, not '${backendName}'`);

    let raw = values.packet as string;
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
    const loaded = loadFile(positionals[0]);
    const sources = new Map(loaded.source ? [[positionals[0], loaded.source]] : []);
    if (hasErrors(loaded.diagnostics) || !loaded.policy) {
      report(io, 'text', loaded.diagnostics, sources);
      return EXIT.badInput;
    }
    let rs = lower(loaded.policy);
    if (backend) {
      if (backend.family && backend.family !== parsed.packet.family) throw new UsageError(`the ${backend.name} backend carries ${backend.family} rules; the packet is ${parsed.packet.family}`);
      const back = backend.reimport(backend.emit(restrictTo(rs, backend.family), { comments: true }), `<${backend.name} output>`);
      if (!back.ruleset) throw new Error(`the ${backend.name} output does not read back`);
      rs = back.ruleset;
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
