import { readFileSync } from 'node:fs';
import { diag, hasErrors, type Diagnostic } from '../../diagnostics/diagnostic.js';
import { configFromFlags, configFromJson, policyFromConfig, type ImportedPolicy } from '../../import/istio.js';
import { linkerdConfigFromFlags, policyFromLinkerd } from '../../import/linkerd.js';
import { importKuma } from './import-kuma.js';
import type { SourceFile } from '../../source.js';
import { loadText } from '../../language/load.js';
import { expectArgs, parse } from '../args.js';
import { EXIT, UsageError, type Io } from '../io.js';
import { catalogue } from '../../diagnostics/catalogue.js';
import { POLICY_NAME_RE } from '../../language/build.js';
import { report } from '../report.js';
import { formatText } from './fmt.js';
import type { Command } from './command.js';
import { importPod, IMPORT_POD_USAGE } from './import-pod.js';

export const importCmd: Command = {
  name: 'import',
  summary: "translate another tool's configuration into a policy (istio-iptables, istio-pod, linkerd-proxy-init, kuma)",
  usage: `meshcap import istio-iptables [options] -- ISTIO_FLAGS...
meshcap import istio-iptables [options] --config FILE
meshcap import linkerd-proxy-init [--name NAME] [--to intercept|yaml] -- PROXY_INIT_FLAGS...
meshcap import kuma [--config FILE]... [--env NAME=VALUE]... [--env-file FILE]... [--resolv-conf FILE]
                    [--user NAME=UID] [--name NAME] [--to intercept|yaml] -- KUMACTL_FLAGS...

Reads istio-iptables' flags and environment (every input it has, with its defaults) or a
JSON object of Istio config.Config fields, and prints the equivalent formatted policy.
Flags with no effect on the rules (dry-run, validation, probes, logging) are accepted
and reported as ignored; combinations istio-iptables silently ignores are reported.

Options:
  --ipv6               the pod has IPv6 (istio-iptables detects this from its addresses)
  --env NAME=VALUE     an environment variable istio-iptables (or kumactl) would see (repeatable)
  --dns-server ADDR    a resolv.conf nameserver, for --redirect-dns (repeatable)
  --config FILE        JSON object of config.Config fields instead of flags
  --name NAME          the policy name (default istio, linkerd)

linkerd-proxy-init reads Linkerd's proxy-init flags (-p, -o, -u, -g, -r, the ignore lists,
--subnets-to-ignore, --ipv6, ...) as proxy-init parses them; errors point into the flags.
kuma reads the flags of 'kumactl install transparent-proxy', its config files (--config,
JSON or YAML) and its KUMA_TRANSPARENT_PROXY_* environment (--env, --env-file: read after
each config file, and only with one, as kumactl does); flags override both. --redirect-dns
reads the nameservers of --resolv-conf FILE (default: the config's resolvConfigPath,
/etc/resolv.conf). --user NAME=UID says what uid --kuma-dp-user NAME has.
  --to intercept|yaml  output syntax (default intercept)

${IMPORT_POD_USAGE}`,
  run(argv: string[], io: Io): number {
    if (argv[0] === 'istio-pod') return importPod(argv.slice(1), io);
    const dd = argv.indexOf('--');
    const own = dd < 0 ? argv : argv.slice(0, dd);
    const istioFlags = dd < 0 ? [] : argv.slice(dd + 1);
    const { values, positionals } = parse(own, {
      ipv6: { type: 'boolean' },
      env: { type: 'string', multiple: true },
      'dns-server': { type: 'string', multiple: true },
      config: { type: 'string', multiple: true },
      'env-file': { type: 'string', multiple: true },
      'resolv-conf': { type: 'string' },
      user: { type: 'string', multiple: true },
      name: { type: 'string' },
      to: { type: 'string' },
    });
    if (values.help) return (io.out(this.usage + '\n'), EXIT.ok);
    expectArgs(positionals, 1, "import takes one source: 'istio-iptables', 'istio-pod', 'linkerd-proxy-init' or 'kuma'");
    const tool = positionals[0];
    if (tool !== 'istio-iptables' && tool !== 'linkerd-proxy-init' && tool !== 'kuma') throw new UsageError('usage-bad-argument', { detail: `import takes one source: 'istio-iptables', 'istio-pod', 'linkerd-proxy-init' or 'kuma' (got '${tool}')` });
    for (const [opt, set] of [['--user', values.user], ['--env-file', values['env-file']], ['--resolv-conf', values['resolv-conf']]] as const) {
      if (set !== undefined && tool !== 'kuma') throw new UsageError('usage-conflicting-options', { detail: `${opt} is for kuma` });
    }
    if ((values.config?.length ?? 0) > 1 && tool !== 'kuma') throw new UsageError('usage-conflicting-options', { detail: '--config is given once for istio-iptables (kumactl takes several)' });
    const config = values.config?.[0];
    const to = values.to ?? 'intercept';
    if (to !== 'intercept' && to !== 'yaml') throw new UsageError('usage-bad-option-value', { detail: '--to must be intercept or yaml' });
    const name = values.name ?? (tool === 'istio-iptables' ? 'istio' : tool === 'kuma' ? 'kuma' : 'linkerd');
    if (!POLICY_NAME_RE.test(name)) throw new UsageError('usage-bad-option-value', { detail: `--name '${name}' is not a usable policy name: ${catalogue['invalid-policy-name'].hint}` });
    const env: Record<string, string> = {};
    for (const e of values.env ?? []) {
      const eq = e.indexOf('=');
      if (eq <= 0) throw new UsageError('usage-bad-option-value', { detail: `--env takes NAME=VALUE, not '${e}'` });
      env[e.slice(0, eq)] = e.slice(eq + 1);
    }
    if (tool === 'kuma') return importKuma(values, istioFlags, name, to, io);
    if (tool === 'linkerd-proxy-init') {
      for (const [opt, set] of [['--config', config], ['--env', values.env], ['--ipv6', values.ipv6], ['--dns-server', values['dns-server']]] as const) {
        if (set !== undefined) throw new UsageError('usage-conflicting-options', { detail: `${opt} is for istio-iptables; proxy-init takes only its flags, after --` });
      }
      const input = linkerdConfigFromFlags(istioFlags);
      const p = policyFromLinkerd(input, name);
      return finish(io, [...input.diagnostics, ...p.diagnostics], p, '<linkerd-proxy-init import>.intercept', to, input.source, () => true, 'proxy-init');
    }
    const ds: Diagnostic[] = [];
    let r;
    if (config) {
      if (istioFlags.length) throw new UsageError('usage-conflicting-options', { detail: 'give either --config or istio-iptables flags, not both' });
      let obj: unknown;
      try {
        obj = JSON.parse(readFileSync(config, 'utf8'));
      } catch (e) {
        report(io, 'text', [diag('file-unreadable', undefined, { path: config, reason: (e as Error).message })], new Map());
        return EXIT.badInput;
      }
      r = configFromJson(obj);
      if (values.ipv6) r.config.EnableIPv6 = true;
      for (const s of values['dns-server'] ?? []) (s.includes(':') ? r.config.DNSServersV6 : r.config.DNSServersV4).push(s);
    } else {
      r = configFromFlags({ flags: istioFlags, env, ipv6: !!values.ipv6, dnsServers: values['dns-server'] });
    }
    ds.push(...r.diagnostics);
    if (hasErrors(ds)) {
      report(io, 'text', ds, new Map());
      return EXIT.badInput;
    }
    const p = policyFromConfig(r.config, name);
    const cfg = r.config;
    return finish(io, ds.concat(p.diagnostics), p, `<istio-iptables import>.intercept`, to, undefined, (d) => d.code !== 'ipv6-bypass' || !cfg.EnableIPv6);
  },
};

/**
 * Check the imported policy text, and print it formatted with the diagnostics. `args`: the
 * flags as a one-line source, for diagnostics that point into them.
 */
export function finish(io: Io, ds: Diagnostic[], p: ImportedPolicy, file: string, to: 'intercept' | 'yaml', args: SourceFile | undefined, keep: (d: Diagnostic) => boolean, tool = '', files = new Map<string, SourceFile>()): number {
  const sources = new Map<string, SourceFile>(args ? [[args.path, args], ...files] : files);
  if (hasErrors(ds)) {
    report(io, 'text', ds, sources);
    return EXIT.badInput;
  }
  const loaded = loadText(file, p.text, 'intercept');
  if (loaded.source) sources.set(file, loaded.source);
  const found = loaded.diagnostics.filter(keep);
  if (hasErrors(found)) {
    // A value the policy language refuses is the flag's mistake: say which flag, and what.
    // Its warnings are left out: they may follow from the value that was refused.
    const located = found.filter((d) => d.severity === 'error').map((d) => {
      const field = d.span ? p.lineFields.get(d.span.start.line) : undefined;
      if (!field) return d;
      return args ? diag('import-bad-value', undefined, { tool, flag: field, detail: d.message }) : diag('istio-bad-value', undefined, { flag: field, detail: d.message });
    });
    if (located.some((d) => d.span)) io.err(p.text);
    report(io, 'text', [...ds, ...located], sources);
    return EXIT.badInput;
  }
  const formatted = formatText(file, p.text, 'intercept', to);
  io.out(formatted.text ?? p.text);
  report(io, 'text', [...ds, ...found], sources);
  return EXIT.ok;
}
