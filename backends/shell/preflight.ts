// The shell script's preflight: before apply changes anything, the smallest rule that uses
// each thing the payloads need is loaded into a throwaway namespace with the chosen
// firewall's tool (the probes of `meshcap preflight`, backends/needs.ts); one refused
// stops apply with what is missing and which policy lines need it. Kept apart from the
// rest of the script: emit.ts adds this function, runtime.sh's apply calls it.
import type { RuleSet } from '../../src/ir/types.js';
import { needsOf, probe } from '../needs.js';

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export function preflightFunction(rs: RuleSet): string {
  const needs = needsOf(rs);
  const L: string[] = [];
  L.push('# What the rules need, checked in a throwaway namespace before anything changes.');
  L.push('preflight_probe() {');
  L.push('  if ! unshare -n sh -c "ip link set lo up && $2" >"$TMP/preflight.out" 2>&1; then');
  L.push('    say "preflight: $FIREWALL cannot do $1: $(head -n 1 "$TMP/preflight.out")"');
  L.push('    PREFLIGHT_FAILED=1');
  L.push('  fi');
  L.push('}');
  // The nft probes carry $(mktemp) and $f to the inner shell, single-quoted on purpose.
  L.push('# shellcheck disable=SC2016');
  L.push('preflight_checks() {');
  L.push('  if [ "$DRY_RUN" = 1 ] || [ "${MESHCAP_NO_PREFLIGHT:-0}" = 1 ]; then return 0; fi');
  L.push('  if ! command -v unshare >/dev/null 2>&1; then say "preflight skipped: no unshare to make a throwaway namespace"; return 0; fi');
  L.push('  PREFLIGHT_FAILED=0');
  L.push('  case "$FIREWALL" in');
  for (const fw of ['iptables-legacy', 'iptables-nft', 'nftables'] as const) {
    L.push(`    ${fw})`);
    let any = false;
    for (const n of needs) {
      for (const f of n.families) {
        // One line: a file name may hold a newline, and the script stays readable line by line.
        const label = `${n.what} (${f === 'ipv4' ? 'IPv4' : 'IPv6'}), needed by ${n.from.join(', ') || 'the policy'}`;
        const oneLine = [...label].map((ch) => (ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f ? '?' : ch)).join('');
        L.push(`      preflight_probe ${q(oneLine)} ${q(probe(n.feature, fw, f))}`);
        any = true;
      }
    }
    if (!any) L.push('      :');
    L.push('      ;;');
  }
  L.push('  esac');
  L.push('  if [ "$PREFLIGHT_FAILED" = 1 ]; then say "preflight failed: nothing was changed"; exit 1; fi');
  L.push('}');
  return L.join('\n') + '\n';
}
