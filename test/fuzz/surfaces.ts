// Every input surface of the CLI as a fuzz target: where its seeds come from (specs/ and
// the shared corpus, read at run time), how one case is made from a seed and a PRNG, and
// the command lines that run it. A case names its files relative to the worker's scratch
// directory with an `@/` prefix in its argv.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { emitNftables } from '../../backends/nftables/emit.js';
import { run } from '../../src/cli/run.js';
import { ISTIO_FLAGS } from '../../src/import/istio.js';
import { KUMA_FLAGS } from '../../src/import/kuma.js';
import { LINKERD_FLAGS } from '../../src/import/linkerd.js';
import { loadFile } from '../../src/language/load.js';
import { lower } from '../../src/lower/lower.js';
import { Rand } from '../rand.js';
import { corpusRoot, splitGolden } from '../harness/istio-corpus.js';
import { huge, mutate, type Huge, type Input } from './mutate.js';

export interface Step {
  argv: string[];
  /** Write this step's stdout to this file (for the next steps) when it exits 0. */
  stdoutTo?: string;
  /** The step must print exactly what step N printed (fmt is idempotent). */
  sameStdoutAs?: number;
  /** Exit codes this step must give; by default any of 0-3 without an internal error. */
  codes?: number[];
  /** Run only when step N exited with one of these codes. */
  when?: { step: number; codes: number[] };
  /** Not run when these two files of the case hold the same bytes (text the same as itself needs no proof). */
  unlessSame?: [string, string];
}

export interface Case {
  files: { name: string; data: Input }[];
  steps: Step[];
}

export interface Surface {
  name: string;
  /** The seeds, read when a run starts. */
  seeds(): string[];
  make(r: Rand, seeds: string[]): Case;
  /** One oversized case of each kind (a 1 MB line, 100,000-deep nesting, 100,000 rules). */
  huge(kind: Huge, seeds: string[]): Case;
}

/** The project root (the fuzz files run from test/fuzz or dist/test/fuzz). */
export function projectRoot(): string {
  return process.cwd();
}

const read = (p: string) => readFileSync(p, 'utf8');
const files = (dir: string, re: RegExp) =>
  readdirSync(dir)
    .filter((f) => re.test(f))
    .sort()
    .map((f) => join(dir, f));
const corpus = (...p: string[]) => join(corpusRoot(), 'corpus', ...p);
const spec = (name: string) => join(projectRoot(), 'specs', name);

const intercepts = () => files(join(projectRoot(), 'specs'), /\.intercept$/).map(read);
/** The YAML specs, and every .intercept spec converted by fmt --to yaml. */
const yamls = () => [...files(join(projectRoot(), 'specs'), /\.ya?ml$/).map(read), ...files(join(projectRoot(), 'specs'), /\.intercept$/).map(toYaml)];

function toYaml(file: string): string {
  let out = '';
  const code = run(['fmt', '--to', 'yaml', file], { out: (s) => void (out += s), err: () => undefined, color: false });
  if (code !== 0) throw new Error(`fmt --to yaml ${file} exited ${code}`);
  return out;
}

/** A mutated seed, and sometimes another seed's lines spliced in. */
const mutated = (r: Rand, seeds: string[]) => mutate(r, r.pick(seeds), r.pick(seeds));

const policyRule = (lines: string[]) => {
  const at = Math.max(1, lines.findIndex((l) => /^\s+outbound\s*\{/.test(l)));
  return { at, line: '  outbound { exclude ports 80 }' };
};

function policySurface(name: string, ext: 'intercept' | 'yaml', seeds: () => string[], steps: (f: string) => Step[], nest = { open: '{', close: '}' }): Surface {
  // 100,000 items of a block list (the YAML form of a long statement list).
  const yamlRule = (lines: string[]) => {
    const at = lines.findIndex((l) => l.startsWith('outbound:')) + 1;
    lines.splice(at, 0, '  exclude-ports:');
    return { at: at + 1, line: '    - 80' };
  };
  return {
    name,
    seeds,
    make: (r, s) => ({ files: [{ name: `p.${ext}`, data: mutated(r, s) }], steps: steps(`@/p.${ext}`) }),
    huge: (kind, s) => ({
      files: [{ name: `p.${ext}`, data: huge(kind, s[0], { ...nest, rule: ext === 'yaml' ? yamlRule : policyRule }) }],
      steps: steps(`@/p.${ext}`),
    }),
  };
}

const policies: Surface = policySurface('policy', 'intercept', intercepts, (f) => [{ argv: ['check', f] }]);
const yamlPolicies: Surface = policySurface('yaml', 'yaml', yamls, (f) => [{ argv: ['check', f] }], { open: '[', close: ']' });

const BACKENDS = ['iptables', 'ip6tables', 'nftables', 'shell'];
const compileStep = (f: string, backends = BACKENDS.join(',')): Step[] => [{ argv: ['compile', '--backend', backends, '-o', '@/out', f], codes: [0, 2] }];

/**
 * compile: exit 1 (a failed proof) is a compiler bug, never the input's fault. A case
 * proves one backend, drawn from its seed (so every backend gets a quarter of the cases):
 * the policy's and the optimizer's proofs run every time, and each backend's proof of a
 * valid case costs as much again, so this is what lets CI afford thousands of cases. The
 * oversized cases compile to all four.
 */
const compile: Surface = {
  ...policySurface('compile', 'intercept', intercepts, (f) => compileStep(f)),
  make: (r, s) => ({ files: [{ name: 'p.intercept', data: mutated(r, s) }], steps: compileStep('@/p.intercept', r.pick(BACKENDS)) }),
};

/** fmt never changes the meaning, and is idempotent; in both syntaxes. */
const fmt: Surface = {
  name: 'fmt',
  seeds: () => [...intercepts().map((text) => encode({ name: 'intercept', text })), ...yamls().map((text) => encode({ name: 'yaml', text }))],
  make(r, s) {
    const { name: ext, text: seed } = decode(r.pick(s));
    const data = r.chance(20) ? seed : mutate(r, seed, decode(r.pick(s)).text);
    const to = r.chance(30) ? (ext === 'yaml' ? 'intercept' : 'yaml') : ext;
    return { files: [{ name: `p.${ext}`, data }], steps: fmtSteps(`p.${ext}`, to) };
  },
  huge: (kind, s) => ({ files: [{ name: 'p.intercept', data: huge(kind, decode(s[0]).text, { open: '{', close: '}', rule: policyRule }) }], steps: fmtSteps('p.intercept', 'intercept') }),
};

/** check, fmt (--to), fmt again (the same text), and diff: a policy that checks must mean the same formatted. */
function fmtSteps(file: string, to: string): Step[] {
  const out = `f.${to}`;
  return [
    { argv: ['check', `@/${file}`] },
    { argv: ['fmt', '--to', to, `@/${file}`], stdoutTo: out },
    { argv: ['fmt', `@/${out}`], sameStdoutAs: 1, when: { step: 1, codes: [0] } },
    { argv: ['diff', `@/${file}`, `@/${out}`], codes: [0], when: { step: 0, codes: [0, 1] }, unlessSame: [file, out] },
  ];
}

// ---- istio-iptables flags and config JSON ----------------------------------------------

const GOOD_VALUES = ['15001', '15006', '15008', '1337', '0', '*', '', '80,443', '10.0.0.0/8,192.168.0.0/16', '2001:db8::/32', 'REDIRECT', 'TPROXY', 'eth0', 'eth0,eth1', 'lo', '133', '0x539', 'true', 'false'];
const BAD_VALUES = ['-1', '65536', '99999999999999999999', '1e400', ' ', ',', '*,80', '80,,443', '10.0.0.1/8', '::/129', '1.2.3.4/33', 'eth*', 'a'.repeat(16), 'x y', 'x\ny', '$(id)', '`id`', "'", '"', '\u0000', '\u202e', '#', ';', '*\n    exclude ports 22', '1337 local-mark 7', '15001 # junk', '}', '{'];

const istioFlags: Surface = {
  name: 'istio-flags',
  seeds: () => [],
  make(r) {
    const argv = ['import', 'istio-iptables'];
    if (r.chance(30)) argv.push('--ipv6');
    for (let i = r.int(0, 2); i > 0; i--) {
      const f = r.pick(ISTIO_FLAGS);
      if (f.env) argv.push('--env', `${f.env}=${r.pick(r.chance(70) ? GOOD_VALUES : BAD_VALUES)}`);
    }
    if (r.chance(20)) argv.push('--dns-server', r.pick(['10.96.0.10', '::1', 'x', '']));
    argv.push('--');
    randomFlags(r, argv, ISTIO_FLAGS, (f) => !!f.bool, () => (r.chance(75) ? r.pick(GOOD_VALUES) : r.pick(BAD_VALUES)));
    return { files: [], steps: importSteps(argv) };
  },
  huge(kind) {
    const flag = kind === 'repeated-rules' ? '-x' : '-b';
    return { files: [], steps: importSteps(['import', 'istio-iptables', '--', flag, hugeFlagValue(kind)]) };
  },
};

/**
 * One to eight flags of a tool's table, each as `--long`, `-s` or `--long=value`, with a value
 * from `value`, and now and then a flag or word the tool does not take.
 */
function randomFlags<F extends { long: string; short?: string }>(r: Rand, argv: string[], flags: readonly F[], isBool: (f: F) => boolean, value: () => string): void {
  for (let i = r.int(1, 8); i > 0; i--) {
    const f = r.pick(flags);
    const name = f.short && r.chance(50) ? `-${f.short}` : `--${f.long}`;
    const v = value();
    if (isBool(f)) argv.push(r.chance(70) ? name : `--${f.long}=${v}`);
    else if (r.chance(80)) argv.push(name, v);
    else argv.push(`--${f.long}=${v}`);
  }
  if (r.chance(5)) argv.push(r.pick(['--no-such-flag', '-Z', 'positional', '--', '-']));
}

/** A flag value of the oversized kind: a 100,000-item line, 100,000-deep brackets, or 50,000 CIDRs. */
function hugeFlagValue(kind: Huge): string {
  if (kind === 'long-line') return Array.from({ length: 100_000 }, (_, i) => `${1 + (i % 65535)}`).join(',');
  if (kind === 'deep-nesting') return '['.repeat(100_000);
  return Array.from({ length: 50_000 }, (_, i) => `10.${(i >> 8) & 255}.${i & 255}.0/24`).join(',');
}

/** import, then the policy it printed must check clean (exit 0 or 1). */
function importSteps(argv: string[]): Step[] {
  return [
    { argv, stdoutTo: 'imported.intercept' },
    { argv: ['check', '@/imported.intercept'], codes: [0, 1], when: { step: 0, codes: [0, 1] } },
  ];
}

/** Values the Linkerd and Kuma flags take (and nearly take) beyond istio's. */
const PEER_VALUES = ['4143', '4140', '2102', '0x10', '0o17', '1_000', '4222,6443', '10.0.0.0/8', 'ipv4', 'dual-stack', 'ipv6', 'kuma-dp', '5678', 'uid:1000:80,443', '1000:udp:53', 'docker0:172.17.0.1/16', 'tcp:*:*', 'true', 'legacy', 'nft', 'debug'];

/** Linkerd proxy-init and `kumactl install transparent-proxy` flags, then check of the policy printed. */
const proxyFlags: Surface = {
  name: 'proxy-flags',
  seeds: () => [],
  make(r) {
    const kuma = r.chance(50);
    const flags: { long: string; short?: string; kind: string }[] = kuma ? KUMA_FLAGS : LINKERD_FLAGS;
    const argv = ['import', kuma ? 'kuma' : 'linkerd-proxy-init', '--'];
    randomFlags(r, argv, flags, (f) => f.kind === 'bool', () => (r.chance(70) ? r.pick(r.chance(50) ? PEER_VALUES : GOOD_VALUES) : r.pick(BAD_VALUES)));
    return { files: [], steps: importSteps(argv) };
  },
  huge(kind) {
    const flag = kind === 'repeated-rules' ? '--subnets-to-ignore' : '--outbound-ports-to-ignore';
    return { files: [], steps: importSteps(['import', 'linkerd-proxy-init', '--', flag, hugeFlagValue(kind)]) };
  },
};

/**
 * `kumactl install transparent-proxy --config FILE` (YAML or JSON) through `import kuma
 * --config`, then check of the policy printed. Seeds: configs of the kinds Kuma's docs and
 * the importer's tests use (no config file is in the corpus).
 */
const KUMA_CONFIGS = [
  'kumaDPUser: "1234"\nredirect:\n  inbound:\n    port: 16006\n    excludePorts:\n      - 9000\n      - 9001\n  outbound:\n    port: 15001\n    excludePortsForIPs: ["169.254.169.254"]\n    excludePortsForUIDs: ["tcp:22:106-108"]\nipFamilyMode: ipv4\nwait: 5\n',
  'kumaDPUser: "5678"\nredirect:\n  dns:\n    enabled: true\n    captureAll: true\n    port: 15053\n  vnet:\n    networks: ["docker0:172.17.0.1/16"]\nipFamilyMode: dualstack\ndropInvalidPackets: true\n',
  JSON.stringify({ kumaDPUser: '0', redirect: { inbound: { port: 15006, excludePorts: [22, 8080] }, outbound: { port: 15001, excludePorts: [3306] } }, wait: 5 }, null, 1),
];
const kumaConfig: Surface = {
  name: 'kuma-config',
  seeds: () => KUMA_CONFIGS,
  make(r, s) {
    const seed = r.pick(s);
    const file = seed.startsWith('{') ? 'c.json' : 'c.yaml';
    const flags = r.chance(20) ? ['--', r.pick(['--redirect-inbound-port', '--kuma-dp-user', '--exclude-inbound-ports']), r.pick([...GOOD_VALUES, ...BAD_VALUES])] : [];
    return { files: [{ name: file, data: r.chance(10) ? seed : mutated(r, s) }], steps: importSteps(['import', 'kuma', '--config', `@/${file}`, ...flags]) };
  },
  huge(kind, s) {
    const data = huge(kind, s[0], { open: '[', close: ']', rule: (lines) => ({ at: lines.findIndex((l) => l.includes('excludePorts:')) + 1, line: '      - 9000' }) });
    return { files: [{ name: 'c.yaml', data }], steps: importSteps(['import', 'kuma', '--config', '@/c.yaml']) };
  },
};

// Numbers too big for a double, as JSON text carries them (JSON.parse makes them floats).
const FIELD_VALUES: unknown[] = [1e20, -1, Infinity, 0, 1.5, '', '*', null, true, [], {}, ['15001'], 'x'.repeat(1000), '\u0000', '65536', '-1', '4294967296', '10.0.0.0/8,'.repeat(50) + '10.0.0.0/8'];

const istioConfig: Surface = {
  name: 'istio-config',
  seeds: () => {
    const m = JSON.parse(read(corpus('istio', 'manifest.json'))) as { config?: Record<string, unknown> }[];
    return [...new Set(m.filter((c) => c.config).map((c) => JSON.stringify(c.config, null, 1)))];
  },
  make(r, s) {
    let data: Input;
    if (r.chance(50)) {
      const obj = JSON.parse(r.pick(s)) as Record<string, unknown>;
      for (let i = r.int(1, 3); i > 0; i--) obj[r.pick(Object.keys(obj))] = r.pick(FIELD_VALUES);
      if (r.chance(10)) obj[r.pick(['Unknown', 'proxyPort', '__proto__', ''])] = 1;
      data = JSON.stringify(obj, null, r.chance(50) ? 1 : 0);
    } else data = mutated(r, s);
    return { files: [{ name: 'c.json', data }], steps: importSteps(['import', 'istio-iptables', '--config', '@/c.json']) };
  },
  huge(kind, s) {
    const obj = JSON.parse(s[0]) as Record<string, unknown>;
    let data: string;
    if (kind === 'deep-nesting') data = JSON.stringify({ ...obj, ProxyPort: 0 }).replace('"ProxyPort":0', `"ProxyPort":${'['.repeat(100_000)}${']'.repeat(100_000)}`);
    else if (kind === 'long-line') data = JSON.stringify({ ...obj, OutboundPortsExclude: Array.from({ length: 150_000 }, (_, i) => 1 + (i % 65535)).join(',') });
    // The first seed captures no outbound traffic, and istio-iptables drops an exclusion of
    // nothing: capture every CIDR, so the 50,000 exclusions reach the policy and its checks.
    else data = JSON.stringify({ ...obj, OutboundIPRangesInclude: '*', OutboundIPRangesExclude: Array.from({ length: 50_000 }, (_, i) => `10.${(i >> 8) & 255}.${i & 255}.0/24`).join(',') });
    return { files: [{ name: 'c.json', data }], steps: importSteps(['import', 'istio-iptables', '--config', '@/c.json']) };
  },
};

// ---- rule sets behind verify --against and diff ---------------------------------------

interface RuleSeed {
  text: string;
  /** File name to give a case (the family is read from it). */
  name: string;
  /** The policy the rule set was made from, when known (a spec, or Istio's config imported). */
  policy?: string | undefined;
}

const SEP = '\u0001';
const encode = (x: RuleSeed) => [x.name, x.policy ?? '', x.text].join(SEP);
const decode = (s: string): RuleSeed => {
  const i = s.indexOf(SEP);
  const j = s.indexOf(SEP, i + 1);
  return { name: s.slice(0, i), text: s.slice(j + 1), ...(j > i + 1 ? { policy: s.slice(i + 1, j) } : {}) };
};

let istioPolicies: Map<string, string | undefined> | undefined;
/**
 * The policy `import istio-iptables --config` makes of the corpus case NAME's config (what
 * its golden and kernel listings were made by), or undefined.
 */
function istioPolicy(name: string): string | undefined {
  if (!istioPolicies) {
    istioPolicies = new Map();
    const dir = mkdtempSync(join(tmpdir(), 'meshcap-fuzz-seeds-'));
    const m = JSON.parse(read(corpus('istio', 'manifest.json'))) as { name: string; kind: string; config?: Record<string, unknown> }[];
    for (const c of m) {
      if (c.kind !== 'sidecar-capture' || !c.config || istioPolicies.has(c.name)) continue;
      writeFileSync(join(dir, 'c.json'), JSON.stringify(c.config));
      let out = '';
      const code = run(['import', 'istio-iptables', '--config', join(dir, 'c.json')], { out: (x) => void (out += x), err: () => undefined, color: false });
      istioPolicies.set(c.name, code === 0 || code === 1 ? out : undefined);
    }
    rmSync(dir, { recursive: true, force: true });
  }
  return istioPolicies.get(name);
}

const iptablesRule = (lines: string[]) => {
  const at = lines.findIndex((l) => l.startsWith('-A '));
  return { at: Math.max(0, at), line: at >= 0 ? lines[at] : '-A OUTPUT -j ACCEPT' };
};

/**
 * verify (or diff) of a mutated rule set against a policy: three times in four the policy
 * it was made from when that is known (so a valid case is mostly equal, or differs where
 * the mutation struck), otherwise istio-sidecar or dual-stack (a rule set far from the
 * policy: the differences are counted and described).
 */
function ruleSurface(name: string, seeds: () => RuleSeed[], nest: { open: string; close: string }, rule: (lines: string[]) => { at: number; line: string }): Surface {
  const sidecar = spec('istio-sidecar.intercept');
  const steps = (f: string, r?: Rand, own?: boolean): Step[] => {
    const policy = own ? '@/own.intercept' : r?.chance(30) ? spec('dual-stack.intercept') : sidecar;
    if (r?.chance(25)) return [{ argv: ['diff', policy, f] }];
    return [{ argv: ['verify', policy, '--against', f, ...(r?.chance(10) ? ['--family', r.pick(['ipv4', 'ipv6'])] : [])] }];
  };
  return {
    name,
    seeds: () => seeds().map(encode),
    make(r, s) {
      const a = decode(r.pick(s));
      const data = mutate(r, a.text, decode(r.pick(s)).text);
      const own = a.policy !== undefined && r.chance(75);
      return { files: [{ name: a.name, data }, ...(own ? [{ name: 'own.intercept', data: a.policy! }] : [])], steps: steps(`@/${a.name}`, r, own) };
    },
    huge(kind, s) {
      const a = decode(s[0]);
      return { files: [{ name: a.name, data: huge(kind, a.text, { ...nest, rule }) }], steps: steps(`@/${a.name}`) };
    },
  };
}

const iptablesSave = ruleSurface(
  'iptables-save',
  () => [
    ...files(corpus('istio-kernel', 'iptables-save'), /\.txt$/).map((f) => ({ name: f.includes('.v6.') ? 'rules.v6.save' : 'rules.v4.save', text: read(f), policy: istioPolicy(basename(f).replace(/\.v[46]\.legacy\.txt$/, '')) })),
    ...files(corpus('kuma'), /iptables-(legacy|nft)\.golden$/).map((f) => ({ name: f.includes('ip6tables') ? 'rules.v6.save' : 'rules.v4.save', text: read(f) })),
  ],
  { open: '(', close: ')' },
  iptablesRule,
);

const iptablesRestore = ruleSurface(
  'iptables-restore',
  () =>
    files(corpus('istio', 'iptables'), /\.golden$/).flatMap((f) => {
      try {
        const { v4, v6 } = splitGolden(read(f), true);
        const policy = istioPolicy(basename(f, '.golden'));
        const both: RuleSeed[] = [
          { name: 'rules.v4.rules', text: v4, policy },
          { name: 'rules.v6.rules', text: v6, policy },
        ];
        return both.filter((x) => x.text);
      } catch {
        return [];
      }
    }),
  { open: '(', close: ')' },
  iptablesRule,
);

const nftRule = (lines: string[]) => {
  const at = lines.findIndex((l) => /"rule"/.test(l));
  return { at: Math.max(1, at), line: at >= 0 ? lines[at].replace(/,?\s*$/, ',') : '' };
};

/** Listing form (nft -j list ruleset) from the corpus, command form as meshcap emits it, one item a line. */
const nftJson = ruleSurface(
  'nft-json',
  () => {
    const listing = files(corpus('istio-kernel', 'nft-json'), /\.json$/).map((f) => ({ name: 'rules.nft.json', text: onePerLine(read(f)), policy: istioPolicy(basename(f, '.json')) }));
    const commands = files(join(projectRoot(), 'specs'), /\.intercept$/).map((f) => ({ name: 'rules.nft.json', text: onePerLine(emitNftables(lower(loadFile(f).policy!))), policy: read(f) }));
    return [...commands, ...listing];
  },
  { open: '[', close: ']' },
  nftRule,
);

/** `nft list ruleset` text: kernel listings of meshcap's output and of a rule set using the rest of what the text importer reads. */
const nftText = ruleSurface(
  'nft-text',
  () =>
    readdirSync(join(projectRoot(), 'test', 'fixtures', 'nft-text'))
      .filter((f) => f.endsWith('.nft'))
      .sort()
      .map((f) => ({ name: 'rules.nft', text: read(join(projectRoot(), 'test', 'fixtures', 'nft-text', f)), policy: existsSync(spec(f.replace(/\.nft$/, '.intercept'))) ? read(spec(f.replace(/\.nft$/, '.intercept'))) : undefined })),
  { open: '{', close: '}' },
  (lines) => {
    const at = lines.findIndex((l) => /^\t\t(meta|tcp|udp|ip|ip6|oifname|iifname|jump) /.test(l));
    return { at: Math.max(1, at), line: at >= 0 ? lines[at] : '\t\taccept' };
  },
);

/** `{"nftables": [a, b, ...]}` with one item per line, so line mutations hit whole items. */
export function onePerLine(text: string): string {
  try {
    const doc = JSON.parse(text) as { nftables?: unknown[] };
    if (!Array.isArray(doc.nftables)) return text;
    return `{"nftables": [\n${doc.nftables.map((x) => JSON.stringify(x)).join(',\n')}\n]}\n`;
  } catch {
    return text;
  }
}

// ---- packets for trace -------------------------------------------------------------------

const V4 = ['10.1.0.5', '10.2.0.9', '127.0.0.1', '127.0.0.6', '0.0.0.0', '255.255.255.255', '192.168.1.1', '169.254.169.254'];
const V6 = ['::1', '::6', '2001:db8::1', 'fe80::1', '::', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', '::ffff:10.0.0.1'];
const IFACES = ['eth0', 'lo', 'eth1', 'veth12345678901', 'wg0', 'cni0'];

/** A packet every field of which is valid: trace must accept it (exit 0). */
export function validPacket(r: Rand, first = false): { compact?: string; json: Record<string, unknown> } {
  const v6 = r.chance(30);
  const hook = r.chance(50) ? 'output' : 'prerouting';
  const protocol = r.pick(v6 ? ['tcp', 'udp', 'sctp', 'icmpv6'] : ['tcp', 'udp', 'sctp', 'icmp']);
  const addrs = v6 ? V6 : V4;
  const json: Record<string, unknown> = { hook, protocol, src: r.pick(addrs), dst: r.pick(addrs) };
  if (protocol !== 'icmp' && protocol !== 'icmpv6') {
    json.dport = r.pick([0, 1, 53, 80, 15001, 15006, 15008, 65535, r.int(0, 65535)]);
    if (r.chance(50)) json.sport = r.int(0, 65535);
  }
  if (hook === 'output') {
    if (r.chance(60)) json.uid = r.pick([0, 1337, 1000, 4294967294, 'root', 'istio-proxy']);
    if (r.chance(40)) json.gid = r.pick([0, 1337, 4294967294]);
    if (r.chance(40)) json.oif = r.pick(IFACES);
  } else if (!first && r.chance(15)) {
    json.looped = true;
    json.iif = 'lo';
  } else if (r.chance(40)) json.iif = r.pick(IFACES);
  if (r.chance(30)) json.mark = r.pick([0, 1337, 0x539, 0xffffffff, r.int(0, 0xffffffff)]);
  if (r.chance(20)) json.ctmark = r.int(0, 0xffffffff);
  if (!first && r.chance(40)) json.ctstate = r.pick(['new', 'established', 'related', 'invalid', 'untracked']);
  if (r.chance(10)) json.transparentSocket = r.chance(50);
  return { json, compact: compactOf(json) };
}

function compactOf(p: Record<string, unknown>): string {
  const ep = (a: unknown, port: unknown) => {
    const s = String(a).includes(':') ? `[${a as string}]` : String(a);
    return port === undefined ? s : `${s}:${port as number}`;
  };
  const words = [p.hook === 'output' ? 'out' : 'in', String(p.protocol), ep(p.src, p.sport), '->', ep(p.dst, p.dport)];
  for (const k of ['uid', 'gid', 'iif', 'oif', 'mark', 'ctmark', 'ctstate', 'transparentSocket', 'looped']) if (p[k] !== undefined) words.push(`${k}=${JSON.stringify(p[k]).replace(/^"|"$/g, "")}`);
  return words.join(' ');
}

const trace: Surface = {
  name: 'trace',
  seeds: () => [],
  make(r) {
    const extra = r.pick([[], [], ['--follow'], ['--format', 'json'], ['--backend', 'nftables'], ['--backend', 'shell']]);
    // --follow starts a connection: its first packet, not one looped back.
    const p = validPacket(r, extra.includes('--follow'));
    const pol = spec(r.pick(['istio-sidecar.intercept', 'istio-tproxy.intercept', 'dual-stack.intercept', 'istio-dns-capture.intercept']));
    const valid = r.chance(50);
    let packet: string = r.chance(50) ? p.compact! : JSON.stringify(p.json);
    if (!valid) packet = typeof (packet = mutateText(r, packet)) === 'string' ? packet : packet;
    const useFile = r.chance(20);
    const steps: Step[] = [{ argv: ['trace', pol, '--packet', useFile ? '@@/packet.json' : packet, ...extra], codes: valid ? [0] : undefined }];
    return { files: useFile ? [{ name: 'packet.json', data: valid ? JSON.stringify(p.json) : packet }] : [], steps };
  },
  huge(kind) {
    const packet = kind === 'deep-nesting' ? '['.repeat(100_000) + ']'.repeat(100_000) : kind === 'long-line' ? `out tcp 10.1.0.5:1 -> 10.2.0.9:80 ${'uid=1 '.repeat(170_000)}` : JSON.stringify({ src: '10.1.0.5', dst: '10.2.0.9', dport: 80, hook: 'output'.repeat(100_000) });
    return { files: [], steps: [{ argv: ['trace', spec('istio-sidecar.intercept'), '--packet', packet] }] };
  },
};

/** A mutated packet (argv strings cannot hold NUL: those become spaces). */
function mutateText(r: Rand, s: string): string {
  const m = mutate(r, s, s);
  return (typeof m === 'string' ? m : m.toString('utf8')).replace(/\0/g, ' ');
}

// ---- diff of two policies or rule sets ----------------------------------------------------

const diff: Surface = {
  name: 'diff',
  seeds: () => [...intercepts().map((t) => encode({ name: 'a.intercept', text: t })), ...iptablesSave.seeds().slice(0, 6)],
  make(r, s) {
    const a = decode(r.pick(s));
    const b = decode(r.pick(s));
    const na = `a-${a.name}`;
    const nb = `b-${b.name}`;
    const da = r.chance(50) ? mutate(r, a.text, b.text) : a.text;
    return { files: [{ name: na, data: da }, { name: nb, data: b.text }], steps: [{ argv: ['diff', `@/${na}`, `@/${nb}`] }] };
  },
  huge(kind, s) {
    const a = decode(s[0]);
    return { files: [{ name: 'a.intercept', data: huge(kind, a.text, { open: '{', close: '}', rule: policyRule }) }], steps: [{ argv: ['diff', '@/a.intercept', spec('istio-sidecar.intercept')] }] };
  },
};

// ---- Kubernetes manifests: lint and import istio-pod -------------------------------------

const POD = (i: number) => `---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: p${i}\n  annotations:\n    traffic.sidecar.istio.io/excludeOutboundPorts: "3306"\nspec:\n  containers:\n  - name: app\n    ports:\n    - containerPort: 8080\n`;

/**
 * Manifests with Istio annotations (test/fixtures/lint and the Linkerd corpus' lab
 * manifest), through `lint` (exit 1 with findings, errors included) and `import istio-pod`.
 */
const manifest: Surface = {
  name: 'manifest',
  seeds: () => [...files(join(projectRoot(), 'test', 'fixtures', 'lint'), /\.ya?ml$/), corpus('linkerd', 'iptablestest-lab.yaml')].map(read),
  make(r, s) {
    const data = r.chance(10) ? r.pick(s) : mutated(r, s);
    const argv = r.chance(65) ? ['lint', ...(r.chance(30) ? ['--format', r.pick(['json', 'sarif', 'github', 'junit'])] : []), '@/m.yaml'] : ['import', 'istio-pod', '@/m.yaml'];
    return { files: [{ name: 'm.yaml', data }], steps: [{ argv }] };
  },
  huge(kind, s) {
    // Repeated rules: 2,000 small annotated pods (22,000 lines; lint's questions are asked
    // once per distinct workload, import prints 2,000 policies).
    const data = kind === 'repeated-rules' ? Array.from({ length: 2_000 }, (_, i) => POD(i)).join('') : huge(kind, s[0], { open: '[', close: ']', rule: () => ({ at: 0, line: '' }) });
    return { files: [{ name: 'm.yaml', data }], steps: [{ argv: ['lint', '@/m.yaml'] }, { argv: ['import', 'istio-pod', '@/m.yaml'] }] };
  },
};

export const SURFACES: Surface[] = [policies, yamlPolicies, fmt, compile, istioFlags, istioConfig, proxyFlags, kumaConfig, iptablesSave, iptablesRestore, nftJson, nftText, trace, diff, manifest];
