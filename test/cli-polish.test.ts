import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../src/cli/run.js';
import { cliOutErr, memIo, scratchDir } from './helpers.js';

// --force for overwriting, and the progress line of a compile on a terminal.
const s = scratchDir();
afterAll(() => s.cleanup());
const GOOD = 'policy p {\n  inbound {\n    capture ports 80\n  }\n}\n';

describe('fmt --to --write onto an existing file', () => {
  it('is file-exists (exit 2) and leaves the file alone; --force overwrites it', () => {
    const src = s.write('p.intercept', GOOD);
    const dest = s.write('p.yaml', '# mine\n');
    const r = cliOutErr('fmt', '--to', 'yaml', '--write', src);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`${dest}: error[file-exists]: ${dest} already exists; not overwritten`);
    expect(r.err).toContain('hint: --force overwrites it');
    expect(readFileSync(dest, 'utf8')).toBe('# mine\n');
    const forced = cliOutErr('fmt', '--to', 'yaml', '--write', '--force', src);
    expect(forced.code, forced.err).toBe(0);
    expect(readFileSync(dest, 'utf8')).toBe(cliOutErr('fmt', '--to', 'yaml', src).out);
  });
});

describe('compile progress', () => {
  const compileWith = (tty: boolean) => {
    const io = Object.assign(memIo(), { tty });
    const before = process.env.MESHCAP_PROGRESS_AFTER_MS;
    // From the start rather than after a second: what is shown does not depend on the machine's speed.
    process.env.MESHCAP_PROGRESS_AFTER_MS = '0';
    try {
      expect(run(['compile', '--backend', 'iptables', 'specs/istio-sidecar.intercept'], io)).toBe(0);
    } finally {
      if (before === undefined) delete process.env.MESHCAP_PROGRESS_AFTER_MS;
      else process.env.MESHCAP_PROGRESS_AFTER_MS = before;
    }
    return io;
  };

  it('on a terminal, names each pass and proof on one stderr line, cleared at the end; stdout has the rules alone', () => {
    const io = compileWith(true);
    const steps = io.stderr.split('\r\x1b[K').filter(Boolean);
    expect(steps).toEqual(['meshcap: load ...', 'meshcap: lower ...', 'meshcap: check-ir ...', 'meshcap: optimize ...', 'meshcap: emit ...', 'meshcap: reimport ...', 'meshcap: verify: policy meaning = IR ...', 'meshcap: verify: IR = optimized IR ...', 'meshcap: verify: IR = iptables output ...']);
    expect(io.stderr.endsWith('\r\x1b[K')).toBe(true);
    expect(io.stdout).not.toContain('\x1b');
  });

  it('not on a terminal, says nothing', () => {
    expect(compileWith(false).stderr).toBe('');
  });
});

describe('did-you-mean for keywords, in both syntaxes', () => {
  const hints = (name: string, text: string) => {
    const r = cliOutErr('check', s.write(name, text));
    expect(r.code, r.err).toBe(2);
    return [...r.err.matchAll(/error\[([a-z-]+)\]: .*\n(?:.*\n)*? {2}hint: (.*)\n/g)].map((m) => `${m[1]}: ${m[2]}`);
  };

  it('.intercept: the policy keyword, blocks, statements', () => {
    expect(hints('k1.intercept', 'polcy p {\n  inbound { capture ports * }\n}\n')).toEqual(["multi-word-block-name: did you mean 'policy'? a policy is written 'policy NAME { ... }'"]);
    expect(hints('k2.intercept', 'policy p {\n  inbond { capture ports * }\n  outbound { capture cidrz * }\n  familys ipv4\n}\n')).toEqual([
      "unknown-block: did you mean 'inbound'?",
      "unknown-keyword: did you mean 'capture cidrs'?",
      "unknown-keyword: did you mean 'families'?",
    ]);
  });

  it("YAML: a misspelt 'policy:' key is one error with its did-you-mean, not also a missing name", () => {
    expect(hints('k3.yaml', 'polcy: p\ninbound:\n  capture-ports: "*"\n')).toEqual(["unknown-keyword: did you mean 'policy'?"]);
    expect(hints('k4.yaml', 'inbound:\n  capture-ports: "*"\n')).toEqual([]);
    const missing = cliOutErr('check', s.write('k5.yaml', 'inbound:\n  capture-ports: "*"\n'));
    expect(missing.err).toContain("error[missing-value]: 'policy' needs a value: a name, as a 'policy: my-app' key");
  });

  it('YAML: blocks, keys, and a key written as its first word only', () => {
    expect(hints('k6.yaml', 'policy: p\ninbond:\n  capture-ports: "*"\noutbound:\n  capture-cidrz: "*"\nfamilys: [ipv4]\ninbound:\n  capture: "*"\n')).toEqual([
      "unknown-block: did you mean 'inbound'?",
      "unknown-keyword: did you mean 'capture-cidrs'?",
      "unknown-keyword: did you mean 'families'?",
      "unknown-keyword: did you mean 'capture-ports'? (in YAML, a statement's words make one key joined by '-')",
    ]);
  });
});

describe('an output path under a file', () => {
  it('compile --verify-report FILE/sub: file-unwritable (exit 2), not an internal error', () => {
    const f = s.write('plain.txt', 'x\n');
    const r = cliOutErr('compile', '--verify-report', `${f}/report.json`, s.write('vr.intercept', GOOD));
    expect(r.code).toBe(2);
    expect(r.err).toContain(`error[file-unwritable]: cannot write ${f}/report.json: a folder on the way is a file`);
    expect(r.err).not.toContain('internal');
  });
});

describe('an option before the command', () => {
  it('is usage-unknown-option (exit 3) saying where options go, naming the command when one follows', () => {
    const r = cliOutErr('--backend', 'nftables', 'compile', 'p.intercept');
    expect(r.code).toBe(3);
    expect(r.err).toContain("meshcap: error[usage-unknown-option]: unknown option '--backend'");
    expect(r.err).toContain('hint: options go after the command: meshcap compile --backend ...');
    const alone = cliOutErr('--backnd');
    expect(alone.code).toBe(3);
    expect(alone.err).toContain("hint: options go after the command (meshcap COMMAND OPTIONS...); meshcap's own are --help and --version");
    expect(cliOutErr('--version').code).toBe(0);
  });
});
