import { readFileSync } from 'node:fs';
import { diag, hasErrors, type Diagnostic } from '../../diagnostics/diagnostic.js';
import { configFromFlags, configFromJson, policyFromConfig } from '../../import/istio.js';
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
  summary: "translate another tool's configuration into a policy (istio-iptables, istio-pod)",
  usage: `meshcap import istio-iptables [options] -- ISTIO_FLAGS...
meshcap import istio-iptables [options] --config FILE

Reads istio-iptables' flags and environment (every input it has, with its defaults) or a
JSON object of Istio config.Config fields, and prints the equivalent formatted policy.
Flags with no effect on the rules (dry-run, validation, probes, logging) are accepted
and reported as ignored; combinations istio-iptables silently ignores are reported.

Options:
  --ipv6               the pod has IPv6 (istio-iptables detects this from its addresses)
  --env NAME=VALUE     an environment variable istio-iptables would see (repeatable)
  --dns-server ADDR    a resolv.conf nameserver, for --redirect-dns (repeatable)
  --config FILE        JSON object of config.Config fields instead of flags
  --name NAME          the policy name (default istio)
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
      config: { type: 'string' },
      name: { type: 'string' },
      to: { type: 'string' },
    });
    if (values.help) return (io.out(this.usage + '\n'), EXIT.ok);
    expectArgs(positionals, 1, "import takes one source: 'istio-iptables' or 'istio-pod'");
    if (positionals[0] !== 'istio-iptables') throw new UsageError('usage-bad-argument', { detail: `import takes one source: 'istio-iptables' or 'istio-pod' (got '${positionals[0]}')` });
    const to = values.to ?? 'intercept';
    if (to !== 'intercept' && to !== 'yaml') throw new UsageError('usage-bad-option-value', { detail: '--to must be intercept or yaml' });
    const name = values.name ?? 'istio';
    if (!POLICY_NAME_RE.test(name)) throw new UsageError('usage-bad-option-value', { detail: `--name '${name}' is not a usable policy name: ${catalogue['invalid-policy-name'].hint}` });
    const env: Record<string, string> = {};
    for (const e of values.env ?? []) {
      const eq = e.indexOf('=');
      if (eq <= 0) throw new UsageError('usage-bad-option-value', { detail: `--env takes NAME=VALUE, not '${e}'` });
      env[e.slice(0, eq)] = e.slice(eq + 1);
    }
    const ds: Diagnostic[] = [];
    let r;
    if (values.config) {
      if (istioFlags.length) throw new UsageError('usage-conflicting-options', { detail: 'give either --config or istio-iptables flags, not both' });
      let obj: unknown;
      try {
        obj = JSON.parse(readFileSync(values.config, 'utf8'));
      } catch (e) {
        report(io, 'text', [diag('file-unreadable', undefined, { path: values.config, reason: (e as Error).message })], new Map());
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
    ds.push(...p.diagnostics);
    if (hasErrors(ds)) {
      report(io, 'text', ds, new Map());
      return EXIT.badInput;
    }
    const file = `<istio-iptables import>.intercept`;
    const loaded = loadText(file, p.text, 'intercept');
    const found = loaded.diagnostics.filter((d) => d.code !== 'ipv6-bypass' || !r.config.EnableIPv6);
    if (hasErrors(found)) {
      // A value the policy language refuses is the flag's mistake: say which flag, and what.
      // Its warnings are left out: they may follow from the value that was refused.
      const located = found.filter((d) => d.severity === 'error').map((d) => {
        const field = d.severity === 'error' && d.span ? p.lineFields.get(d.span.start.line) : undefined;
        return field ? diag('istio-bad-value', undefined, { flag: field, detail: d.message }) : d;
      });
      if (located.some((d) => d.severity === 'error' && d.span)) io.err(p.text);
      report(io, 'text', [...ds, ...located], new Map(loaded.source ? [[file, loaded.source]] : []));
      return EXIT.badInput;
    }
    ds.push(...found);
    const formatted = formatText(file, p.text, 'intercept', to);
    io.out(formatted.text ?? p.text);
    report(io, 'text', ds, new Map(loaded.source ? [[file, loaded.source]] : []));
    return EXIT.ok;
  },
};
