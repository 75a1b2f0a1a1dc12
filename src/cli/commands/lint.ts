// `meshcap lint`: policies and Kubernetes manifests, for CI.
import { resolve } from 'node:path';
import { diag, suggest, type Diagnostic } from '../../diagnostics/diagnostic.js';
import { firstInvalidUtf8, isDirectory, readText } from '../../language/load.js';
import { findConfig, loadConfig, type LintConfigFile } from '../../lint/config.js';
import { lintFormats, lintSummary, renderLintGithub, renderLintJson, renderLintJunit, renderLintSarif, renderLintText } from '../../lint/format.js';
import { walk, walkedYamlIsForLint, type Ignore } from '../../lint/inputs.js';
import { atLeast, defaultOptions, emptyResult, lintText, sortFindings, syntaxFor, type LintOptions } from '../../lint/lint.js';
import { isRule, RULES, type Level } from '../../lint/rules.js';
import { namespacesOf, readMeshValues } from '../../manifest/index.js';
import { parseCidr } from '../../net/ip.js';
import { SourceFile } from '../../source.js';
import { docsBase, version } from '../../compile/version.js';
import { oneOf, parse } from '../args.js';
import { EXIT, UsageError, type Io } from '../io.js';
import { bounded, report } from '../report.js';
import type { Command } from './command.js';

const levels = ['error', 'warning', 'info'] as const;

export const lintCmd: Command = {
  name: 'lint',
  summary: 'lint policies and Kubernetes manifests (rules: meshcap explain --list)',
  usage: `meshcap lint [options] [PATH...]

Lints policies (.intercept, .yaml) and Kubernetes manifests (multi-document YAML, List;
the pod templates of Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob).
A workload becomes the policy Istio's sidecar injector would give it (its annotations and
the mesh defaults). PATH is a file, a directory (walked recursively) or - for stdin
(helm template . | meshcap lint -); default: the current directory. Rules are listed in
docs/lint.md; 'meshcap explain RULE-ID' explains one.

Options:
  --format F            text (default, on stderr), json, sarif, github, junit (on stdout)
  --fail-on LEVEL       the least level that fails the run: error, warning (default), info
  --config FILE         the configuration (default: .meshcap.yaml found upward from here)
  --no-config           read no configuration file
  --mesh-values FILE    Istio's Helm values or IstioOperator, Linkerd's chart values or a kuma-cp config: the mesh-wide defaults
  --cluster-cidrs LIST  the cluster's pod and service CIDRs, comma-separated
  --dns-server ADDR     a DNS server of the pods (repeatable; default 10.96.0.10)
  --rule ID=LEVEL       set a rule's level: off, info, warning, error (repeatable)
  --ignore GLOB         do not lint paths matching GLOB in a directory walk (repeatable)
  --base DIR            SARIF paths are relative to DIR (default: the current directory)
  --docs-url URL        where the docs are published: SARIF helpUri is URL/lint.md#RULE-ID
                        (default: package.json homepage + /blob/main/docs; config: docsUrl)
  --stdin-name NAME     the name stdin's findings carry (default <stdin>)
  -v, --verbose         say what was linted

Suppress a finding with '# meshcap-ignore RULE-ID: reason' on its line or the line above,
or with the pod template annotation meshcap.io/ignore: "RULE-ID: reason".

Exit: 0 clean, 1 findings at or above --fail-on, 2 input that could not be read
(or a bad configuration), 3 usage error.`,
  run(argv: string[], io: Io): number {
    const { values, positionals } = parse(argv, {
      format: { type: 'string' },
      'fail-on': { type: 'string' },
      config: { type: 'string' },
      'no-config': { type: 'boolean' },
      'mesh-values': { type: 'string' },
      'cluster-cidrs': { type: 'string' },
      'dns-server': { type: 'string', multiple: true },
      'docs-url': { type: 'string' },
      rule: { type: 'string', multiple: true },
      ignore: { type: 'string', multiple: true },
      base: { type: 'string' },
      'stdin-name': { type: 'string' },
      verbose: { type: 'boolean', short: 'v' },
    });
    if (values.help) return (io.out(this.usage + '\n'), EXIT.ok);
    const format = oneOf('format', values.format, lintFormats, 'text');
    if (values.config && values['no-config']) throw new UsageError('usage-conflicting-options', { detail: '--config and --no-config exclude each other' });
    const flagFailOn = values['fail-on'] === undefined ? undefined : oneOf('fail-on', values['fail-on'], levels, 'warning');
    const flagLevels: Record<string, Level | 'off'> = {};
    for (const r of values.rule ?? []) {
      const m = /^([a-z0-9-]+)=(off|info|warning|error)$/.exec(r);
      if (!m) throw new UsageError('usage-bad-option-value', { detail: `--rule takes RULE-ID=off|info|warning|error, not '${r}'` });
      if (!isRule(m[1])) throw new UsageError('usage-unknown-code', { code: m[1], suggestion: suggest(m[1], Object.keys(RULES)) });
      flagLevels[m[1]] = m[2] as Level | 'off';
    }
    const flagCidrs = values['cluster-cidrs']?.split(',').map((s) => s.trim()).filter(Boolean);
    for (const c of flagCidrs ?? []) if (!parseCidr(c).ok) throw new UsageError('usage-bad-option-value', { detail: `--cluster-cidrs: '${c}' is not a CIDR (ADDRESS/PREFIX, no host bits)` });
    const errors: Diagnostic[] = [];

    // Configuration: --config, else the nearest .meshcap.yaml.
    let config: LintConfigFile | undefined;
    const configPath = values['no-config'] ? undefined : (values.config ?? findConfig(process.cwd()));
    if (configPath) {
      const read = readText(configPath);
      if ('diagnostic' in read) return (report(io, 'text', [read.diagnostic], new Map()), EXIT.badInput);
      const c = loadConfig(configPath, read.text);
      if (!c.config) return (report(io, 'text', c.diagnostics, new Map([[configPath, new SourceFile(configPath, read.text)]])), EXIT.badInput);
      config = c.config;
    }
    const docsUrl = values['docs-url'] ?? config?.docsUrl ?? docsBase();
    if (!/^https?:\/\/\S+$/.test(docsUrl)) throw new UsageError('usage-bad-option-value', { detail: `--docs-url '${docsUrl}' is not an http(s) URL` });
    const opts: LintOptions = defaultOptions();
    opts.levels = { ...(config?.rules ?? {}), ...flagLevels };
    const failOn: Level = flagFailOn ?? config?.failOn ?? 'warning';
    const cidrTexts = flagCidrs ?? config?.clusterCidrs ?? [];
    for (const c of cidrTexts) {
      const p = parseCidr(c);
      if (p.ok) opts.clusterCidrs.push(p.cidr);
      else errors.push(diag('lint-config-invalid', undefined, { path: config?.path ?? '--cluster-cidrs', detail: `clusterCidrs: '${c}' is not a CIDR (ADDRESS/PREFIX, no host bits)` }));
    }
    opts.dnsServers = values['dns-server'] ?? config?.dnsServers ?? ['10.96.0.10'];
    const meshValues = values['mesh-values'] ?? (config?.meshValues ? resolve(config.dir, config.meshValues) : undefined);
    const sources = new Map<string, SourceFile>();
    if (meshValues) {
      const read = readText(meshValues);
      if ('diagnostic' in read) errors.push(read.diagnostic);
      else {
        const src = new SourceFile(meshValues, read.text);
        sources.set(meshValues, src);
        const mv = readMeshValues(src);
        errors.push(...mv.diagnostics);
        opts.defaults = mv.defaults;
      }
    }
    if (errors.length) {
      report(io, 'text', errors, sources);
      return EXIT.badInput;
    }
    const ignores: Ignore[] = [];
    if (config?.ignore.length) ignores.push({ globs: config.ignore, dir: config.dir });
    if (values.ignore?.length) ignores.push({ globs: values.ignore, dir: process.cwd() });

    // The inputs: named files, walked directories, stdin.
    const result = emptyResult();
    for (const [k, v] of sources) result.sources.set(k, v);
    const paths = positionals.length ? positionals : ['.'];
    const files: { path: string; walked: boolean }[] = [];
    for (const p of paths) {
      if (p === '-') files.push({ path: '-', walked: false });
      else if (isDirectory(p)) {
        const found = walk(p, ignores);
        if (!found.length) errors.push(diag('lint-no-input', undefined, { path: p }));
        files.push(...found.map((f) => ({ path: f, walked: true })));
      } else files.push({ path: p, walked: false });
    }
    const t0 = Date.now();
    let shownProgress = false;
    const linted: string[] = [];
    const texts: { name: string; text: string }[] = [];
    files.forEach(({ path, walked }) => {
      let text: string;
      let name = path;
      if (path === '-') {
        name = values['stdin-name'] ?? '<stdin>';
        const bytes = io.stdin?.() ?? Buffer.alloc(0);
        try {
          text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
        } catch {
          const lo = firstInvalidUtf8(bytes);
          const before = bytes.subarray(0, lo).toString('utf8');
          errors.push(diag('not-utf8', undefined, { path: name, line: before.split('\n').length, col: before.length - before.lastIndexOf('\n'), byte: `0x${bytes[lo].toString(16).padStart(2, '0')}` }));
          return;
        }
      } else {
        const read = readText(path);
        if ('diagnostic' in read) return void errors.push(read.diagnostic);
        text = read.text;
        if (!/\.(intercept|ya?ml)$/i.test(path)) return void errors.push(diag('unknown-file-type', undefined, { path }));
        if (walked && /\.ya?ml$/i.test(path) && !walkedYamlIsForLint(text)) return;
      }
      linted.push(name);
      texts.push({ name, text });
    });
    // Namespaces decide injection for workloads in other files of the set.
    const namespaces = new Map(opts.defaults.namespaces);
    for (const t of texts) if (syntaxFor(t.name, t.text) === 'manifest') for (const n of namespacesOf(new SourceFile(t.name, t.text))) namespaces.set(n.name, n);
    opts.defaults = { ...opts.defaults, namespaces };
    // A progress line for runs over a second, where someone watches (stderr a terminal),
    // at each file and each workload (`helm template . | meshcap lint -` is one file).
    let file = 0;
    let shownAt = 0;
    const progress = () => {
      const now = Date.now();
      if (!io.tty || now - t0 <= 1000 || now - shownAt < 100) return;
      io.err(`\rmeshcap lint: ${file}/${texts.length} files, ${result.workloads} workloads`);
      shownAt = now;
      shownProgress = true;
    };
    opts.progress = progress;
    texts.forEach(({ name, text }, i) => {
      file = i;
      progress();
      lintText(name, text, opts, result);
    });
    if (shownProgress) io.err('\r\x1b[K');
    errors.push(...result.errors);
    const findings = sortFindings(result.findings);
    const failing = findings.filter((f) => atLeast(f.level, failOn));
    switch (format) {
      case 'json':
        io.out(renderLintJson(findings));
        break;
      case 'sarif':
        io.out(renderLintSarif(findings, result.sources, values.base ?? process.cwd(), version(), docsUrl));
        break;
      case 'github':
        io.out(renderLintGithub(findings));
        break;
      case 'junit':
        io.out(renderLintJunit(findings, linted, failOn));
        break;
      default:
        {
          // At most --max-diagnostics per file (50 by default), as every command's text output.
          const { shown, notes } = bounded(findings);
          io.err(renderLintText(shown, result.sources, io.color));
          for (const n of notes) io.err(n + '\n');
        }
        if (findings.length || values.verbose) io.err(`${lintSummary(findings)} (${linted.length} file${linted.length === 1 ? '' : 's'}, ${result.policies} polic${result.policies === 1 ? 'y' : 'ies'}, ${result.workloads} workload${result.workloads === 1 ? '' : 's'}${result.suppressed ? `, ${result.suppressed} suppressed` : ''})\n`);
    }
    // Input that could not be read goes to stderr as text whatever the format: stdout
    // carries one document of findings.
    if (errors.length) {
      report(io, 'text', errors, result.sources);
      return EXIT.badInput;
    }
    return failing.length ? EXIT.findings : EXIT.ok;
  },
};
