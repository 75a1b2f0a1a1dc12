// Adversarial values: every string a user controls either gets a diagnostic or reaches
// every backend quoted safely. The policy's own words (its name, interface and group
// names) are refused by check unless they are plain names; the file name, which the
// compiler cannot refuse, is carried into rule comments and the script header, so each
// hostile file name is compiled to every backend and the outputs are run for real in a
// namespace: the script passes shellcheck and applies without running anything else, the
// iptables-restore text loads (its comments cannot break a line) and the nft JSON loads.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, STACK_LINE } from '../helpers.js';
import { requireKernel, run, withNetns } from './netns.js';

requireKernel();

const work = mkdtempSync(join(tmpdir(), 'meshcap-adv-'));
const SPEC = 'specs/istio-tproxy.intercept';

const FILE_NAMES = [
  'x\ntouch PWNED #',
  '$(touch PWNED)',
  '`touch PWNED`',
  `a"b'c\\d`,
  'semi;touch PWNED',
  'tab\there and\rcr',
  'esc\u001b[31mred',
  '*glob?[x]',
  '%s%n%x',
  '\u00e9\u{1f600}'.repeat(40),
  "'; DROP TABLE x; --",
  '"},{"delete":{"table":{"family":"inet","name":"x"}}}',
];

describe('user-controlled words of a policy are refused unless plain', () => {
  const bad = (statement: string) => `policy p {\n  proxy { uid 1337; outbound-port 15001 }\n  ${statement}\n  outbound { capture cidrs * }\n}\n`;
  it.each([
    ['a policy name with a quote', `policy p"q {\n  outbound { capture cidrs * }\n}\n`],
    ['a policy name with $()', `policy p$(id) {\n  outbound { capture cidrs * }\n}\n`],
    ['an interface name with a quote', bad('interfaces { exclude eth"0 }')],
    ['an interface name with a semicolon and a command', bad('interfaces { exclude eth0;touch }')],
    ['an interface name too long for the kernel', bad('interfaces { exclude abcdefghijklmnopq }')],
    ['an interface name with a slash', bad('interfaces { exclude a/b }')],
    ['a group name with a backquote', bad('outbound { groups `id` }')],
    ['a group name with a dollar', bad('outbound { groups $USER }')],
  ])('%s', (_name, text) => {
    const dir = mkdtempSync(join(work, 'word-'));
    const f = join(dir, 'p.intercept');
    execFileSync('sh', ['-c', 'cat > "$1"', 'sh', f], { input: text });
    const r = cli('compile', '--backend', 'iptables,ip6tables,nftables,shell', '-o', join(dir, 'out'), f);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`${f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+: error\\[`));
    expect(r.stderr).not.toMatch(/internal-/);
    expect(r.stderr).not.toMatch(STACK_LINE);
    expect(existsSync(join(dir, 'out'))).toBe(false);
  });
});

describe('hostile file names reach every backend quoted safely', () => {
  FILE_NAMES.forEach((name, i) => {
    it(`file name ${JSON.stringify(name).slice(0, 60)}`, () => {
      const dir = join(work, `f${i}`);
      mkdirSync(dir);
      const file = join(dir, `${name}.intercept`);
      copyFileSync(SPEC, file);
      const out = join(dir, 'out');
      const r = cli('compile', '--backend', 'iptables,ip6tables,nftables,shell', '-o', out, file);
      expect(r.code, r.stderr).toBe(0);
      const files = readdirSync(out);
      const pick = (suffix: string) => join(out, files.find((f) => f.endsWith(suffix))!);
      const script = pick('.sh');
      expect(execFileSync('shellcheck', ['--shell=sh', script], { encoding: 'utf8' })).toBe('');
      // Every rule comment is one line: the restore text has exactly one line per rule.
      const v4 = readFileSync(pick('.iptables.rules'), 'utf8');
      for (const l of v4.split('\n')) expect(l === '' || /^([*:#-]|COMMIT$)/.test(l), l).toBe(true);
      const nft = readFileSync(pick('.nft.json'), 'utf8');
      // No lone UTF-16 surrogate (a name cut inside a pair): nft refuses such JSON.
      expect(nft).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/);
      withNetns((ns) => {
        const load4 = run(ns, 'iptables-legacy-restore', [], v4);
        expect(load4.status, load4.stderr).toBe(0);
        const loadNft = run(ns, 'nft', ['-j', '-f', pick('.nft.json')]);
        expect(loadNft.status, loadNft.stderr).toBe(0);
      });
      for (const fw of ['iptables-nft', 'nftables']) {
        withNetns((ns) => {
          for (const env of [['DRY_RUN=1'], []]) {
            const a = run(ns, 'env', [...env, `MESHCAP_FIREWALL=${fw}`, 'sh', '-c', 'cd "$1" && sh "$2" apply', 'sh', dir, script]);
            expect(a.status, a.stderr).toBe(0);
          }
          expect(run(ns, 'env', [`MESHCAP_FIREWALL=${fw}`, 'sh', script, 'check']).status).toBe(0);
        });
      }
      // The scripts ran in `dir`: a command from the name would have made dir/PWNED.
      expect(existsSync(join(dir, 'PWNED'))).toBe(false);
    }, 60_000);
  });
});
