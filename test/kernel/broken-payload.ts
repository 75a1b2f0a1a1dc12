// A shell backend script whose apply fails mid-way, made from the script the backend emits:
// the rules travel in the script as here-documents, and this rewrites two of them so that
// the firewall refuses them after apply has begun (and saved the state it will restore).
//   IPv4 iptables payload: after its first table, a second nat table whose rule jumps to a
//     chain that does not exist (iptables-restore refuses it at that COMMIT).
//   nft payload: first of all, a rule in a chain the table does not have.
// Everything else (the runtime, the fingerprint, the IPv6 payload) is the emitted text.

/** The text between `cat <<'MARK'\n` and the closing `MARK` line of a here-document. */
function rewriteHeredoc(script: string, mark: string, change: (body: string) => string): string {
  const open = `cat <<'${mark}'\n`;
  const start = script.indexOf(open);
  if (start < 0 || script.indexOf(open, start + 1) >= 0) throw new Error(`the script has not exactly one here-document ${mark}`);
  const bodyStart = start + open.length;
  const end = script.indexOf(`\n${mark}\n`, bodyStart - 1);
  if (end < 0) throw new Error(`here-document ${mark} is not closed`);
  // The body ends with its last newline (an empty payload is an empty body).
  const bodyEnd = end + 1;
  const body = script.slice(bodyStart, bodyEnd);
  const changed = change(body);
  if (changed === body) throw new Error(`here-document ${mark} was not changed`);
  if (changed.split('\n').includes(mark)) throw new Error(`the new ${mark} payload contains its end marker`);
  return script.slice(0, bodyStart) + changed + script.slice(bodyEnd);
}

/** The NFT_TABLE='...' the script assigns (the nft table the payload fills). */
function nftTable(script: string): string {
  const m = script.match(/^NFT_TABLE='([A-Za-z0-9_.-]+)'$/m);
  if (!m) throw new Error('the script does not assign NFT_TABLE');
  return m[1];
}

/** `script` (the shell backend's output) with payloads the firewalls refuse mid-apply. */
export function breakPayload(script: string): string {
  const table = nftTable(script);
  const v4 = rewriteHeredoc(script, 'MESHCAP_V4', (body) => body.replace(/COMMIT\n/, 'COMMIT\n*nat\n-A NO_SUCH_CHAIN -j RETURN\nCOMMIT\n'));
  return rewriteHeredoc(v4, 'MESHCAP_NFT', (body) =>
    body.replace('"nftables": [', `"nftables": [\n    {"add": {"rule": {"family": "inet", "table": ${JSON.stringify(table)}, "chain": "no-such-chain", "expr": [{"accept": null}]}}},`),
  );
}
