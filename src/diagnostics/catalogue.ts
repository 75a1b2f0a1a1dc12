// The one catalogue of diagnostics. Every message meshcap prints about a user's input, its
// command line (`usage-*` codes, exit 3) or its own failures (`internal-*` codes) comes
// from here: the CLI text, JSON, SARIF and GitHub renderers and `meshcap explain` all read
// this table, so a code, its severity and its wording live in one place.
// Codes are stable kebab-case IDs: never rename one, add a new one instead.
// It is over 500 lines on purpose: one entry per code, data only, kept in one table so
// that no code can be defined twice or drift from its renderers.

export type Severity = 'error' | 'warning' | 'info';

export interface CatalogueEntry {
  severity: Severity;
  /** Message template; {name} is filled from the diagnostic's arguments. */
  message: string;
  /** Default hint template, shown under the message (a diagnostic may give its own). */
  hint?: string;
  /** Longer explanation for `meshcap explain CODE`. */
  explain: string;
  /**
   * A short input that has this problem: a policy in the .intercept syntax, or a command
   * line where no policy text can show it; `explain` shows what meshcap says about a policy.
   */
  bad?: string | CommandExample;
  /** The same input, corrected. */
  good?: string | CommandExample;
  /** Where the docs say more: a path from the repository root and a heading's anchor (default: the section's, docsOf). */
  docs?: string;
}

/**
 * An example that is not a policy text: a command line (words split as a shell splits
 * them), run in an empty folder holding `files`. test/explain.test.ts runs each one.
 */
export interface CommandExample {
  command: string;
  files?: Readonly<Record<string, string>>;
  /** The files are written in Latin-1 rather than UTF-8 (the not-UTF-8 example). */
  latin1?: boolean;
  /** Shown, not run: what it takes (a meshcap bug, or a node's kernel and tools) that no command line brings about. */
  illustrative?: string;
}

/** The policy the command-line examples run on. */
const P = 'policy p {\n  inbound {\n    capture ports *\n  }\n}\n';

/** An iptables-save nat table of these lines. */
const nat = (...lines: string[]) => ['*nat', ...lines, 'COMMIT', ''].join('\n');

/** A `meshcap snapshot` file holding IPv4 iptables-save text of each flavour given. */
const snapshot = (flavours: Partial<Record<'iptables-legacy' | 'iptables-nft', string>>) =>
  JSON.stringify(
    {
      meshcapSnapshot: 1,
      taken: '2026-12-07T00:00:00Z',
      namespace: { netns: 'pod' },
      kernel: '6.1.0',
      tools: {},
      sources: Object.entries(flavours).map(([name, text]) => ({ name, format: 'iptables-save', family: 'ipv4', command: `${name}-save`, text })),
      routing: {},
      sysctls: {},
    },
    null,
    2,
  ) + '\n';

export const catalogue = {
  // ---- reading the input -------------------------------------------------------------
  'file-unreadable': {
    bad: { command: 'meshcap check polcy.intercept', files: { 'policy.intercept': P } },
    good: { command: 'meshcap check policy.intercept', files: { 'policy.intercept': P } },
    docs: 'docs/cli.md#files-directories-and-standard-input',
    severity: 'error',
    message: 'cannot read {path}: {reason}',
    explain: 'The file named on the command line does not exist or cannot be read.',
  },
  'not-utf8': {
    bad: { command: 'meshcap check p.intercept', files: { 'p.intercept': `# café, saved as Latin-1\n${P}` }, latin1: true },
    good: { command: 'meshcap check p.intercept', files: { 'p.intercept': `# café, saved as UTF-8\n${P}` } },
    docs: 'docs/cli.md#files-directories-and-standard-input',
    severity: 'error',
    message: '{path} is not UTF-8 text: byte {byte} at line {line}, column {col} is not part of any character',
    hint: 'save the file as UTF-8 (comments too); nothing was read or rewritten',
    explain: 'Policies and rule files are UTF-8 text. A file with bytes that are not UTF-8 is refused as a whole rather than read with replacement characters, which `fmt --write` would then write back in place of the original bytes.',
  },
  'file-unwritable': {
    bad: { command: 'meshcap compile -o out p.intercept', files: { 'p.intercept': P, out: 'a file where the output folder should be\n' } },
    good: { command: 'meshcap compile -o build p.intercept', files: { 'p.intercept': P, out: 'a file where the output folder should be\n' } },
    docs: 'docs/cli.md#writing-files---force',
    severity: 'error',
    message: 'cannot write {path}: {reason}',
    hint: 'nothing was written; a missing output folder is made, but not under a file or where the file system refuses it',
    explain: 'An output file or folder (`-o DIR`, `--verify-report FILE`) cannot be created or written: a parent is a file, the file system refuses it, or permission is denied. meshcap writes every output or none.',
  },
  'file-exists': {
    bad: { command: 'meshcap fmt --to yaml --write p.intercept', files: { 'p.intercept': P, 'p.yaml': 'policy: older\n' } },
    good: { command: 'meshcap fmt --to yaml --write --force p.intercept', files: { 'p.intercept': P, 'p.yaml': 'policy: older\n' } },
    docs: 'docs/cli.md#writing-files---force',
    severity: 'error',
    message: '{path} already exists; not overwritten',
    hint: '--force overwrites it',
    explain: 'A command would write a new file (`fmt --to yaml --write` writes NAME.yaml beside NAME.intercept) where a file already is. meshcap does not overwrite a file it was not asked to rewrite unless --force says so.',
  },
  'unknown-file-type': {
    bad: { command: 'meshcap check p.txt', files: { 'p.txt': P } },
    good: { command: 'meshcap check p.intercept', files: { 'p.intercept': P } },
    docs: 'docs/cli.md#files-directories-and-standard-input',
    severity: 'error',
    message: "cannot tell the syntax of '{path}' from its extension",
    hint: 'policies end in .intercept, .yaml or .yml',
    explain: 'meshcap picks the syntax by extension: .intercept for the DSL, .yaml/.yml for the YAML twin.',
  },
  'unexpected-character': {
    bad: "policy p {\n  inbound { capture ports * }\n  interfaces { exclude éth0 }\n}\n",
    good: "policy p {\n  inbound { capture ports * }\n  interfaces { exclude eth0 }\n}\n",
    severity: 'error',
    message: "unexpected character '{text}'",
    hint: 'values are words, numbers, addresses and ranges separated by commas; quotes are not used',
    explain: 'The lexer met a character that cannot start any token of the .intercept language.',
  },
  'syntax-error': {
    bad: { command: 'meshcap check p.intercept', files: { 'p.intercept': P }, illustrative: 'no known input reaches this code: every mistake the parser knows has a code of its own' },
    good: { command: 'meshcap check p.intercept', files: { 'p.intercept': P } },
    severity: 'error',
    message: 'syntax error: {detail}',
    explain:
      'The parser met something the grammar does not allow and that no more specific code describes. The known mistakes have their own codes (unclosed-block, unmatched-brace, missing-open-brace, nested-policy, unnamed-block, multi-word-policy-name, multi-word-block-name, stray-comma, double-comma, list-starts-with-comma, list-ends-with-comma, outside-policy); meshcap recovers and keeps parsing, so one run reports every syntax error in a file.',
  },
  'missing-open-brace': {
    bad: 'policy p\n{\n  inbound { capture ports * }\n}\n',
    good: P,
    severity: 'error',
    message: "expected '{', found {found}",
    hint: "a policy is written 'policy NAME { ... }', with the '{' on the same line",
    explain: "A policy's name is followed by the '{' that opens its body, on the same line.",
  },
  'nested-policy': {
    bad: 'policy p {\n  policy q {\n    inbound { capture ports * }\n  }\n}\n',
    good: P,
    severity: 'error',
    message: "expected '}', found 'policy': a policy cannot stand inside a block",
    hint: "close the block before it; a file holds one policy",
    explain: "`policy` starts a file's one policy; it cannot appear inside a policy or a block.",
  },
  'unmatched-brace': {
    bad: "policy p {\n  inbound { capture ports * }\n}\n}\n",
    good: "policy p {\n  inbound { capture ports * }\n}\n",
    severity: 'error',
    message: "'}' closes nothing",
    hint: 'remove it, or add the block it was meant to close',
    explain: "A '}' that has no '{' before it to close.",
  },
  'unnamed-block': {
    bad: "policy p {\n  inbound { capture ports * }\n  { uid 1337 }\n}\n",
    good: "policy p {\n  inbound { capture ports * }\n  proxy { uid 1337 }\n}\n",
    severity: 'error',
    message: "a block needs a name: '{' here opens nothing",
    hint: "write 'NAME { ... }' (proxy, inbound, outbound, loopback, dns, interfaces)",
    explain: "A '{' opens a block only after the block's name (`inbound {`).",
  },
  'nesting-too-deep': {
    bad: 'policy p {\n  inbound { capture ports * }\n  a { b { c { d { e { f { g { h { i { j { k { l { m { n { o { p { } } } } } } } } } } } } } } } }\n}\n',
    good: P,
    severity: 'error',
    message: "blocks nest {max} levels deep at most; this '{' opens level {depth}",
    hint: 'a policy nests three levels (policy, block, sub-block): close the blocks above this one',
    explain: 'No policy nests blocks more than a few levels deep. A file nested far deeper is not a policy (or lost its closing braces); it is refused at the first brace past the limit, before parsing, so that no input can exhaust the parser.',
  },
  'multi-word-policy-name': {
    bad: "policy my app {\n  inbound { capture ports * }\n}\n",
    good: "policy my-app {\n  inbound { capture ports * }\n}\n",
    severity: 'error',
    message: "expected '{', found '{text}'",
    hint: 'a policy name is one word',
    explain: "A policy's name is a single word: `policy my-app { ... }`. Anything else between it and the '{' is an error.",
  },
  'multi-word-block-name': {
    bad: 'policy p {\n  inbound extra { capture ports * }\n}\n',
    good: P,
    severity: 'error',
    message: "expected '{' after '{name}', found '{text}'",
    hint: 'a block name is one word; statements take no { }',
    explain: "Only a block's one-word name comes before its '{' (`inbound {`); a statement with values (`self-redirect on`) takes no braces.",
  },
  'stray-comma': {
    bad: "policy p {\n  inbound { capture ports * }\n  outbound { capture cidrs 10.0.0.0/8\n    , 172.16.0.0/12 }\n}\n",
    good: "policy p {\n  inbound { capture ports * }\n  outbound { capture cidrs 10.0.0.0/8,\n    172.16.0.0/12 }\n}\n",
    severity: 'error',
    message: "unexpected ','",
    hint: 'a list continues after a trailing comma on the line before, not before its next item',
    explain: "A statement starts with its keyword, not with ','. To continue a list on the next line, end the line before with ','.",
  },
  'double-comma': {
    bad: "policy p {\n  inbound { capture ports * }\n  outbound { capture cidrs *; groups 1,, 2 }\n}\n",
    good: "policy p {\n  inbound { capture ports * }\n  outbound { capture cidrs *; groups 1, 2 }\n}\n",
    severity: 'error',
    message: 'two commas in a row: a value is missing between them',
    hint: 'remove one of them, or write the missing value between them',
    explain: 'List items are separated by one comma each.',
  },
  'list-starts-with-comma': {
    bad: "policy p {\n  inbound { capture ports * }\n  outbound { capture cidrs , 10.0.0.0/8 }\n}\n",
    good: "policy p {\n  inbound { capture ports * }\n  outbound { capture cidrs 10.0.0.0/8 }\n}\n",
    severity: 'error',
    message: "no ',' after '{name}': a list starts with a value",
    hint: "remove the ','",
    explain: "A list's first item comes right after the keyword; commas go between items.",
  },
  'list-ends-with-comma': {
    bad: "policy p {\n  inbound { capture ports * }\n  outbound { capture cidrs 10.0.0.0/8, }\n}\n",
    good: "policy p {\n  inbound { capture ports * }\n  outbound { capture cidrs 10.0.0.0/8 }\n}\n",
    severity: 'error',
    message: "the list ends with ',': a value is missing after it",
    hint: "remove the ',', or write the value after it",
    explain: "A ',' at the end of a line continues the list on the next line; at the end of the statement (before ';' or '}', or with nothing following) a value is missing.",
  },
  'outside-policy': {
    bad: "drop-invalid on\npolicy p {\n  inbound { capture ports * }\n}\n",
    good: "policy p {\n  inbound { capture ports * }\n  drop-invalid on\n}\n",
    severity: 'error',
    message: '{what} stands outside any policy',
    hint: "put it inside 'policy NAME { ... }'",
    explain: "Every block and statement belongs inside the file's `policy NAME { ... }`.",
  },
  'unclosed-block': {
    bad: "policy p {\n  inbound {\n    capture ports *\n}\n",
    good: "policy p {\n  inbound {\n    capture ports *\n  }\n}\n",
    severity: 'error',
    message: "block '{name}' is not closed",
    hint: "add '}' after its last statement",
    explain: 'Every `{` needs a matching `}`.',
  },
  'missing-policy': {
    bad: '# the policy is still to be written\n',
    good: `# the policy\n${P}`,
    severity: 'error',
    message: 'no policy in this file',
    hint: 'a policy file holds one `policy NAME { ... }` (YAML: a top-level `policy: NAME` key)',
    explain: 'A policy file must declare exactly one policy.',
  },
  'multiple-policies': {
    bad: "policy a {\n  inbound { capture ports * }\n}\npolicy b {\n  inbound { capture ports * }\n}\n",
    good: "policy a {\n  inbound { capture ports * }\n}\n",
    severity: 'error',
    message: "a second policy '{name}' in one file",
    hint: 'put each policy in its own file',
    explain: 'One file holds one policy, so that a file name identifies a rule set on a node.',
  },
  'invalid-policy-name': {
    bad: "policy 9lives {\n  inbound { capture ports * }\n}\n",
    good: "policy nine-lives {\n  inbound { capture ports * }\n}\n",
    severity: 'error',
    message: "policy name '{name}' is not usable as a table and chain name",
    hint: 'use 1-32 characters: letters, digits, - and _, starting with a letter',
    explain:
      'The policy name becomes the nftables table name and appears in comments; it must be a plain identifier.',
  },
  'yaml-syntax': {
    bad: { command: 'meshcap check p.yaml', files: { 'p.yaml': 'policy: p\ninbound:\n  capture-ports: [9080, 9443\n' } },
    good: { command: 'meshcap check p.yaml', files: { 'p.yaml': 'policy: p\ninbound:\n  capture-ports: [9080, 9443]\n' } },
    docs: 'docs/language.md#the-yaml-twin',
    severity: 'error',
    message: 'YAML: {detail}',
    hint: "quote values that start with '*' (\"*\"), since a bare * is a YAML alias",
    explain: 'The YAML file could not be parsed as YAML.',
  },
  'yaml-shape': {
    bad: { command: 'meshcap check p.yaml', files: { 'p.yaml': 'policy: p\ninbound: 9080\n' } },
    good: { command: 'meshcap check p.yaml', files: { 'p.yaml': 'policy: p\ninbound:\n  capture-ports: 9080\n' } },
    docs: 'docs/language.md#the-yaml-twin',
    severity: 'error',
    message: '{detail}',
    explain:
      'The YAML twin maps blocks to mappings and statements to keys whose values are a scalar or a list of scalars.',
  },

  // ---- structure ---------------------------------------------------------------------
  'unknown-block': {
    bad: "policy p {\n  inbund { capture ports * }\n}\n",
    good: "policy p {\n  inbound { capture ports * }\n}\n",
    severity: 'error',
    message: "unknown block '{name}'",
    hint: '{suggestion}',
    explain: 'A policy has the blocks proxy, inbound, outbound, loopback, dns and interfaces, and the top-level statements drop-invalid and families.',
  },
  'unknown-keyword': {
    bad: "policy p {\n  inbound { captur ports * }\n}\n",
    good: "policy p {\n  inbound { capture ports * }\n}\n",
    severity: 'error',
    message: "unknown keyword '{name}' in {where}",
    hint: '{suggestion}',
    explain: 'The statement does not exist in this block. `docs/language.md` lists every keyword of every block.',
  },
  'statement-is-block': {
    bad: "policy p {\n  inbound { capture ports * }\n  families { ipv4 }\n}\n",
    good: "policy p {\n  inbound { capture ports * }\n  families ipv4\n}\n",
    severity: 'error',
    message: "'{name}' is a statement, not a block",
    hint: "write '{name} VALUE' on one line",
    explain: 'Only the blocks (proxy, inbound, ...) take `{ ... }`.',
  },
  'block-is-statement': {
    bad: "policy p {\n  inbound { capture ports * }\n  dns all\n}\n",
    good: "policy p {\n  inbound { capture ports * }\n  dns { capture all }\n}\n",
    severity: 'error',
    message: "'{name}' is a block",
    hint: "write '{name} { ... }'",
    explain: 'proxy, inbound, outbound, loopback, dns and interfaces are blocks and take `{ ... }`.',
  },
  'duplicate-block': {
    bad: "policy p {\n  inbound { capture ports * }\n  outbound { capture cidrs * }\n  outbound { exclude ports 22 }\n}\n",
    good: "policy p {\n  inbound { capture ports * }\n  outbound { capture cidrs *; exclude ports 22 }\n}\n",
    severity: 'error',
    message: "block '{name}' appears more than once",
    hint: 'merge it with the first one, at {first}',
    explain: 'Each block may appear once per policy.',
  },
  'duplicate-key': {
    bad: "policy p {\n  inbound {\n    capture ports 80\n    capture ports 443\n  }\n}\n",
    good: "policy p {\n  inbound {\n    capture ports 80, 443\n  }\n}\n",
    severity: 'error',
    message: "'{name}' is set more than once in {where}",
    hint: 'the first is at {first}; list several values on one line, separated by commas',
    explain: 'Each statement may appear once per block; a list goes on one line (or continues after a trailing comma).',
  },
  'missing-value': {
    bad: "policy {\n  inbound { capture ports * }\n}\n",
    good: "policy p {\n  inbound { capture ports * }\n}\n",
    severity: 'error',
    message: "'{name}' needs a value: {expected}",
    explain: 'The statement has no value.',
  },
  'unexpected-value': {
    bad: "policy p {\n  inbound { capture ports * }\n  proxy { outbound-port 15001 15002 }\n}\n",
    good: "policy p {\n  inbound { capture ports * }\n  proxy { outbound-port 15001 }\n}\n",
    severity: 'error',
    message: "unexpected '{text}' after {after}",
    hint: '{expected}',
    explain: 'The statement has more values than it takes, or a value where a separator was expected.',
  },
  'expected-list-separator': {
    bad: "policy p {\n  inbound { capture ports 80 443 }\n}\n",
    good: "policy p {\n  inbound { capture ports 80, 443 }\n}\n",
    severity: 'error',
    message: "expected ',' between '{prev}' and '{text}'",
    hint: 'separate list items with commas',
    explain: 'List items are separated by commas.',
  },
  'single-value-expected': {
    bad: "policy p {\n  inbound { capture ports * }\n  proxy { outbound-port 15001, 15002 }\n}\n",
    good: "policy p {\n  inbound { capture ports * }\n  proxy { outbound-port 15001 }\n}\n",
    severity: 'error',
    message: "'{name}' takes one value, not a list",
    explain: 'The statement takes a single value.',
  },

  // ---- values --------------------------------------------------------------------------
  'invalid-port': {
    bad: "policy p {\n  inbound { capture ports 80, 0 }\n}\n",
    good: "policy p {\n  inbound { capture ports 80 }\n}\n",
    severity: 'error',
    message: "'{text}' is not a port: ports are whole numbers 1-65535",
    explain: 'TCP and UDP ports are 1-65535 (0 is not a usable destination port).',
  },
  'invalid-port-range': {
    bad: "policy p {\n  inbound { capture ports 9000-8000 }\n}\n",
    good: "policy p {\n  inbound { capture ports 8000-9000 }\n}\n",
    severity: 'error',
    message: "port range '{text}' runs backwards",
    hint: "write it low-high: '{fixed}'",
    explain: 'A port range a-b needs a <= b.',
  },
  'invalid-address': {
    bad: "policy p {\n  inbound { capture ports * }\n  outbound { capture cidrs 10.0.0.256 }\n}\n",
    good: "policy p {\n  inbound { capture ports * }\n  outbound { capture cidrs 10.0.0.25 }\n}\n",
    severity: 'error',
    message: "'{text}' is not an IPv4 or IPv6 address",
    hint: '{hint}',
    explain: 'Addresses are dotted-quad IPv4 (no leading zeros) or RFC 4291 IPv6 text, without zone index.',
  },
  'invalid-cidr': {
    bad: "policy p {\n  inbound { capture ports * }\n  outbound { capture cidrs 10.0.0.0/33 }\n}\n",
    good: "policy p {\n  inbound { capture ports * }\n  outbound { capture cidrs 10.0.0.0/24 }\n}\n",
    severity: 'error',
    message: "'{text}' is not a CIDR",
    hint: '{hint}',
    explain: 'A CIDR is ADDRESS/PREFIX with a prefix 0-32 for IPv4 and 0-128 for IPv6; a bare address means a single host (/32 or /128).',
  },
  'cidr-host-bits': {
    bad: "policy p {\n  inbound { capture ports * }\n  outbound { capture cidrs 10.1.2.3/8 }\n}\n",
    good: "policy p {\n  inbound { capture ports * }\n  outbound { capture cidrs 10.0.0.0/8 }\n}\n",
    severity: 'error',
    message: "'{text}' has host bits set below its /{prefix} prefix",
    hint: "did you mean '{canonical}'?",
    explain:
      'iptables silently masks host bits and nft refuses them; both usually mean a typo, so meshcap asks for the canonical prefix.',
  },
  'invalid-interface': {
    bad: "policy p {\n  inbound { capture ports * }\n  interfaces { exclude eth* }\n}\n",
    good: "policy p {\n  inbound { capture ports * }\n  interfaces { exclude eth+ }\n}\n",
    severity: 'error',
    message: "'{text}' is not a Linux interface name: {reason}",
    explain:
      "Linux interface names are 1-15 bytes with no /, whitespace or :, and not . or ..; a trailing + matches every name with that prefix. A '*' is refused: nft would read it as a wildcard where iptables reads a plain letter.",
  },
  'invalid-id': {
    bad: "policy p {\n  inbound { capture ports * }\n  proxy { uid -1 }\n}\n",
    good: "policy p {\n  inbound { capture ports * }\n  proxy { uid 1337 }\n}\n",
    severity: 'error',
    message: "'{text}' is not a {what}: use a number 0-4294967294 or a name",
    explain: 'uids and gids are 0-4294967294 (4294967295 is the kernel\'s "no id"), or a user/group name resolved when the rules are loaded.',
  },
  'invalid-owner-range': {
    bad: 'policy p {\n  proxy { uid 1337-1300 }\n  inbound { capture ports * }\n}\n',
    good: 'policy p {\n  proxy { uid 1300-1337 }\n  inbound { capture ports * }\n}\n',
    severity: 'error',
    message: "'{text}' is not a usable {what} range: {reason}",
    hint: 'write the range low-high, at most 256 ids (e.g. 106-108)',
    explain: "An owner range A-B (Kuma's --uid-owner 106-108) stands for every id from A to B. meshcap lowers it to the kernel's own range match (`-m owner --uid-owner 106-108`, nft `meta skuid 106-108`), one rule per range; the proofs read a range id by id, so a range holds at most 256 ids.",
  },
  'invalid-uid-port-exclusion': {
    bad: "policy p {\n  outbound { capture cidrs *; exclude ports-for-uids icmp:22:106 }\n}\n",
    good: "policy p {\n  outbound { capture cidrs *; exclude ports-for-uids tcp:22:106 }\n}\n",
    severity: 'error',
    message: "'{text}' is not a per-uid port exclusion: {reason}",
    hint: "write [PROTOCOL:][PORTS:]UIDS: tcp, udp or * (both); a port, a range or * (all); a uid or a range (tcp:22:106-108)",
    explain: "An item of outbound 'exclude ports-for-uids' says which outbound traffic of some owners is never captured, in the format of Kuma's --exclude-outbound-ports-for-uids, one port range per item: 'tcp:22:106-108' (TCP to port 22 of uids 106 to 108), '53:1000' (TCP and UDP to port 53 of uid 1000), '1001' (everything of uid 1001).",
  },
  'invalid-vnet': {
    bad: "policy p {\n  inbound { capture ports * }\n  interfaces { vnet docker0 }\n}\n",
    good: "policy p {\n  inbound { capture ports * }\n  interfaces { vnet docker0:172.17.0.0/16 }\n}\n",
    severity: 'error',
    message: "'{text}' is not a virtual network: it needs an interface, ':' and a CIDR",
    hint: 'write INTERFACE:CIDR, e.g. docker0:172.17.0.0/16 or br+:fd00::/64',
    explain: "An item of 'interfaces { vnet }' (Kuma's --vnet) names an interface and the destinations, as a CIDR, that its traffic may reach without the proxy: TCP arriving on the interface to anywhere else goes to the outbound port, and its DNS over UDP to the DNS port.",
  },
  'invalid-mark': {
    bad: "policy p {\n  inbound { capture ports *; mode tproxy mark 0 }\n}\n",
    good: "policy p {\n  inbound { capture ports *; mode tproxy mark 1337 }\n}\n",
    severity: 'error',
    message: "'{text}' is not a 32-bit mark",
    hint: 'use a number 1-4294967295, decimal or 0x hex',
    explain: 'Packet marks are 32-bit; 0 is the unmarked state and cannot be used as a capture mark.',
  },
  'invalid-table': {
    bad: "policy p {\n  inbound { capture ports *; mode tproxy table 254 }\n}\n",
    good: "policy p {\n  inbound { capture ports *; mode tproxy table 133 }\n}\n",
    severity: 'error',
    message: "'{text}' is not a routing table id",
    hint: 'use 1-2147483647, avoiding the reserved 253 (default), 254 (main) and 255 (local)',
    explain: 'Policy routing tables are numbered 1 to 2^31-1; 253-255 are the kernel\'s own.',
  },
  'invalid-switch': {
    bad: "policy p {\n  inbound { capture ports * }\n  loopback { self-redirect yes }\n}\n",
    good: "policy p {\n  inbound { capture ports * }\n  loopback { self-redirect on }\n}\n",
    severity: 'error',
    message: "'{text}' is not on or off",
    hint: "write '{name} on' or '{name} off'",
    explain: 'Switches take on or off (YAML also takes true and false).',
  },
  'invalid-choice': {
    bad: "policy p {\n  inbound { capture ports *; mode tproxi }\n}\n",
    good: "policy p {\n  inbound { capture ports *; mode tproxy }\n}\n",
    severity: 'error',
    message: "'{text}' is not one of {choices}",
    hint: '{suggestion}',
    explain: 'The statement takes one of a fixed set of words.',
  },
  'wildcard-not-allowed': {
    bad: "policy p {\n  inbound { capture ports * }\n  outbound { capture cidrs *; exclude ports * }\n}\n",
    good: "policy p {\n  inbound { capture ports * }\n  outbound { capture cidrs *; exclude ports 22 }\n}\n",
    severity: 'error',
    message: "'*' is not allowed in '{name}'",
    hint: '{hint}',
    explain: '`*` (everything) is allowed only where docs/language.md says so.',
  },
  'wildcard-in-list': {
    bad: "policy p {\n  inbound { capture ports * }\n  outbound { capture cidrs 10.0.0.0/8, * }\n}\n",
    good: "policy p {\n  inbound { capture ports * }\n  outbound { capture cidrs * }\n}\n",
    severity: 'error',
    message: "'{word}' cannot be combined with other values",
    hint: "use either '{word}' alone or a list",
    explain: '`*` and `none` stand alone: they are not list items.',
  },
  'duplicate-value': {
    bad: "policy p {\n  inbound { capture ports 80, 8000-8100, 8080 }\n}\n",
    good: "policy p {\n  inbound { capture ports 80, 8000-8100 }\n}\n",
    severity: 'warning',
    message: "'{text}' is already covered by '{other}' in this list",
    hint: 'remove it',
    explain: 'A list names the same port, range, address or name twice (or a range that another item contains).',
  },

  // ---- meaning ---------------------------------------------------------------------------
  'ineffective-exclude': {
    bad: "policy p {\n  inbound {\n    capture ports 80, 443\n    exclude ports 443\n  }\n}\n",
    good: "policy p {\n  inbound {\n    capture ports 80\n  }\n}\n",
    severity: 'error',
    message: "{what} can never take effect: {reason}",
    hint: '{hint}',
    explain:
      'An exclusion only narrows a wildcard capture. Excluding ports when capture is a list (or none) changes nothing, which usually means the policy does not say what its author meant.',
  },
  'exclude-outside-capture': {
    bad: "policy p {\n  inbound { capture ports * }\n  outbound {\n    capture cidrs 10.0.0.0/8\n    exclude cidrs 192.168.0.0/16\n  }\n}\n",
    good: "policy p {\n  inbound { capture ports * }\n  outbound {\n    capture cidrs 10.0.0.0/8\n    exclude cidrs 10.1.0.0/16\n  }\n}\n",
    severity: 'warning',
    message: "excluded CIDR '{text}' lies outside every captured CIDR",
    hint: 'remove it, or capture the range it belongs to',
    explain: 'Excluding a range that is not captured has no effect.',
  },
  'proxy-port-captured': {
    bad: 'policy p {\n  proxy { inbound-port 15006 }\n  inbound { capture ports 15006, 9080 }\n}\n',
    good: 'policy p {\n  proxy { inbound-port 15006 }\n  inbound { capture ports 9080 }\n}\n',
    severity: 'error',
    message: "inbound capture lists the proxy's own {which} port {port}",
    hint: 'remove it from the list: traffic to the proxy must reach the proxy, not be redirected again',
    explain: 'Listing a proxy port among the inbound ports to capture would loop the proxy\'s traffic back into itself.',
  },
  'proxy-port-clash': {
    bad: "policy p {\n  inbound { capture ports * }\n  proxy { inbound-port 15006; tunnel-port 15006 }\n}\n",
    good: "policy p {\n  inbound { capture ports * }\n  proxy { inbound-port 15006; tunnel-port 15008 }\n}\n",
    severity: 'error',
    message: '{a} and {b} are both {port}',
    hint: 'each of the proxy\'s listeners needs its own port',
    explain: 'The outbound, inbound, tunnel and DNS ports of the proxy must all differ.',
  },
  'proxy-unrecognised': {
    bad: 'policy p {\n  proxy { uid none; gid none }\n  outbound { capture cidrs * }\n}\n',
    good: 'policy p {\n  proxy { uid 1337; gid none }\n  outbound { capture cidrs * }\n}\n',
    severity: 'warning',
    message: "the proxy has neither a uid nor a gid ('uid none', 'gid none'): its own outbound connections are captured again",
    hint: "give the proxy's uid ('uid 2102') unless something else keeps its traffic out of capture",
    explain:
      "Rules recognise the proxy's own traffic by its owner. Without one, a connection the proxy opens to a real destination is redirected back to the proxy, a loop. Linkerd's proxy-init writes no owner rule when --proxy-uid and --proxy-gid are unset (or 0); meshcap accepts such a policy, and warns.",
  },
  'passthrough-not-loopback': {
    bad: "policy p {\n  inbound { capture ports * }\n  loopback { passthrough 10.0.0.6, ::6 }\n}\n",
    good: "policy p {\n  inbound { capture ports * }\n  loopback { passthrough 127.0.0.6, ::6 }\n}\n",
    severity: 'error',
    message: "passthrough address '{text}' is not a loopback address",
    hint: 'the proxy binds its inbound passthrough source inside 127.0.0.0/8 (Istio: 127.0.0.6)',
    explain:
      'The passthrough address is the source the proxy uses when it forwards inbound traffic to the app over lo; it must be a loopback address (IPv4: 127.0.0.0/8) or it would not be matched on lo.',
  },
  'family-not-enabled': {
    bad: 'policy p {\n  outbound { capture cidrs 10.0.0.0/8, fd00::/8 }\n  families ipv4\n}\n',
    good: 'policy p {\n  outbound { capture cidrs 10.0.0.0/8, fd00::/8 }\n  families ipv4, ipv6\n}\n',
    severity: 'error',
    message: "'{text}' is an {label} {what}, but 'families' does not list {family}",
    hint: "add {family} to 'families', or remove this value",
    explain: 'A value of a family the policy does not compile for would silently do nothing.',
  },
  'ipv6-bypass': {
    bad: "policy p {\n  inbound { capture ports * }\n  families ipv4\n}\n",
    good: "policy p {\n  inbound { capture ports * }\n  families ipv4, ipv6\n}\n",
    severity: 'warning',
    message: 'families does not list ipv6: IPv6 traffic will bypass capture entirely',
    hint: "add 'families ipv4, ipv6' unless the pod has no IPv6 addresses",
    explain:
      'Like Istio with IPv6 disabled, meshcap then installs no IPv6 rules, so any IPv6 connection reaches its destination without passing through the proxy.',
  },
  'name-resolved-at-load': {
    bad: "policy p {\n  inbound { capture ports * }\n  proxy { uid envoy }\n}\n",
    good: "policy p {\n  inbound { capture ports * }\n  proxy { uid 1337 }\n}\n",
    severity: 'info',
    message: "{what} name '{text}' is resolved when the rules are loaded",
    hint: 'loading fails on a node without it; a numeric id does not depend on the node',
    explain: 'iptables and nft resolve user and group names at load time: the same rules fail to load on a host that lacks the name.',
  },
  'one-per-family': {
    bad: "policy p {\n  inbound { capture ports * }\n  loopback { localhost 127.0.0.1/32, 127.0.0.2/32, ::1/128 }\n}\n",
    good: "policy p {\n  inbound { capture ports * }\n  loopback { localhost 127.0.0.1/32, ::1/128 }\n}\n",
    severity: 'error',
    message: "'{name}' lists more than one {family} value: '{a}' and '{b}'",
    hint: 'use one prefix that covers both',
    explain: 'The localhost range is matched negated in the self-redirect rule (`! -d CIDR`), which iptables can express for one prefix per family only.',
  },
  'dns-port-excluded': {
    bad: "policy p {\n  inbound { capture ports * }\n  outbound { capture cidrs *; exclude ports 3306, 50-60 }\n  dns { capture all }\n}\n",
    good: "policy p {\n  inbound { capture ports * }\n  outbound { capture cidrs *; exclude ports 3306 }\n  dns { capture all }\n}\n",
    severity: 'warning',
    message: "outbound 'exclude ports' lists 53, so DNS capture never sees DNS",
    hint: "remove 53 from 'exclude ports', or turn DNS capture off ('dns { capture off }')",
    explain: 'Excluded outbound ports return before the DNS rules (as in Istio), so excluding port 53 silently disables DNS capture.',
  },
  'vnet-needs-redirect': {
    bad: "policy p {\n  inbound { mode tproxy; capture ports * }\n  interfaces { vnet docker0:172.17.0.0/16 }\n}\n",
    good: "policy p {\n  inbound { mode redirect; capture ports * }\n  interfaces { vnet docker0:172.17.0.0/16 }\n}\n",
    severity: 'error',
    message: "'vnet' needs inbound 'mode redirect'",
    hint: "use 'mode redirect', or reroute the interface with 'reroute'",
    explain: "A virtual network's traffic is redirected in the nat table before inbound capture looks at it, as Kuma does; with TPROXY inbound capture the mangle table would divert it first, which the language does not define.",
  },
  'interface-in-both': {
    bad: "policy p {\n  inbound { capture ports * }\n  interfaces {\n    exclude veth+, eth1\n    reroute eth1\n  }\n}\n",
    good: "policy p {\n  inbound { capture ports * }\n  interfaces {\n    exclude veth+\n    reroute eth1\n  }\n}\n",
    severity: 'error',
    message: "interface '{text}' is both excluded and rerouted",
    hint: 'pick one',
    explain: 'An excluded interface bypasses capture; a rerouted one is captured as outbound. It cannot be both.',
  },
  'nothing-captured': {
    bad: "policy p {\n  proxy { uid 1337 }\n}\n",
    good: "policy p {\n  proxy { uid 1337 }\n  inbound { capture ports * }\n}\n",
    severity: 'warning',
    message: 'this policy captures no traffic at all',
    hint: "capture inbound ports (inbound { capture ports * }), outbound CIDRs or ports, or DNS",
    explain: 'With no capture anywhere the compiled rules would only pass traffic through.',
  },
  'group-exclude-with-list': {
    bad: "policy p {\n  inbound { capture ports * }\n  outbound {\n    capture cidrs *\n    groups 1000\n    exclude groups 1001\n  }\n}\n",
    good: "policy p {\n  inbound { capture ports * }\n  outbound {\n    capture cidrs *\n    groups 1000\n  }\n}\n",
    severity: 'error',
    message: "'exclude groups' can only narrow 'groups *'",
    hint: "either list the groups to capture, or capture '*' and exclude some",
    explain: 'Istio accepts owner-group includes or excludes, never both; an exclusion only narrows a wildcard.',
  },

  // ---- importing rule sets ---------------------------------------------------------------
  'rules-syntax': {
    bad: { command: 'meshcap verify p.intercept --against node.rules', files: { 'p.intercept': P, 'node.rules': nat(':OUTPUT ACCEPT [0:0]', 'OUTPUT -p tcp -j RETURN') } },
    good: { command: 'meshcap verify p.intercept --against node.rules', files: { 'p.intercept': P, 'node.rules': nat(':OUTPUT ACCEPT [0:0]', '-A OUTPUT -p tcp -j RETURN') } },
    severity: 'error',
    message: '{detail}',
    explain: 'A line of an iptables-restore or iptables-save file could not be read.',
  },
  'rules-nft-text': {
    bad: { command: 'meshcap verify p.intercept --against node.nft', files: { 'p.intercept': P, 'node.nft': "table ip mesh {\n\tchain output {\n\t\ttype nat hook output priority -100; policy accept;\n\t\tmeta frob 3 return\n\t}\n}\n" } },
    good: { command: 'meshcap verify p.intercept --against node.nft', files: { 'p.intercept': P, 'node.nft': "table ip mesh {\n\tchain output {\n\t\ttype nat hook output priority -100; policy accept;\n\t\ttcp dport 80 return\n\t}\n}\n" } },
    severity: 'error',
    message: '{detail}',
    hint: 'meshcap reads `nft list ruleset` text of inet, ip and ip6 tables: chains, interval sets, and the matches and statements meshcap emits (meta, ct, ip/ip6 addresses, tcp/udp/th ports, socket, verdicts, redirect, tproxy, dnat, mangle, counter, log)',
    explain: 'A line of an nft text listing (`nft list ruleset`, as pasted) could not be read; it is reported rather than dropped, since dropping it would change the rule set.',
  },
  'rules-unknown-module': {
    bad: { command: 'meshcap verify p.intercept --against node.rules', files: { 'p.intercept': P, 'node.rules': nat(':OUTPUT ACCEPT [0:0]', '-A OUTPUT -p tcp -m multiports --dports 80,443 -j RETURN') } },
    good: { command: 'meshcap verify p.intercept --against node.rules', files: { 'p.intercept': P, 'node.rules': nat(':OUTPUT ACCEPT [0:0]', '-A OUTPUT -p tcp -m multiport --dports 80,443 -j RETURN') } },
    severity: 'error',
    message: "unknown match module '{name}'",
    hint: 'meshcap reads the modules tcp, udp, multiport, owner, mark, connmark, conntrack, state, socket and comment',
    explain: 'The rule uses a match meshcap does not model; it is reported rather than silently dropped, since dropping it would change the rule.',
  },
  'rules-unmodelled': {
    bad: { command: 'meshcap verify p.intercept --against node.rules', files: { 'p.intercept': P, 'node.rules': nat(':OUTPUT ACCEPT [0:0]', '-A OUTPUT -m addrtype --dst-type LOCAL -j RETURN') } },
    good: { command: 'meshcap verify p.intercept --against node.rules', files: { 'p.intercept': P, 'node.rules': nat(':OUTPUT ACCEPT [0:0]', '-A OUTPUT -d 10.0.0.0/8 -j RETURN') } },
    severity: 'warning',
    message: "'{text}' is not modelled: the rule may or may not match, and a proof whose outcome depends on it says unknown, naming it",
    hint: 'another tool\'s rule (kube-proxy, Docker, a CNI) is kept as it is; meshcap models the matches `meshcap explain rules-unknown-module` lists',
    explain: 'A snapshot keeps other tools\' rules, since they run on the same hooks. A match meshcap does not model (addrtype, statistic, set, limit, ...) is read as one that may or may not hold: the simulator tries both, and where the outcome depends on it, the proof reports unknown with the rule, never a false equal.',
  },
  'rules-undecided': {
    bad: { command: 'meshcap diff old.rules node.rules', files: { 'old.rules': nat(':PREROUTING ACCEPT [0:0]', '-A PREROUTING -p tcp -j REDIRECT --to-ports 15006'), 'node.rules': nat(':PREROUTING ACCEPT [0:0]', '-A PREROUTING -p tcp -m addrtype --dst-type LOCAL -j RETURN', '-A PREROUTING -p tcp -j REDIRECT --to-ports 15006') } },
    good: { command: 'meshcap diff old.rules node.rules', files: { 'old.rules': nat(':PREROUTING ACCEPT [0:0]', '-A PREROUTING -p tcp -j REDIRECT --to-ports 15006'), 'node.rules': nat(':PREROUTING ACCEPT [0:0]', '-A PREROUTING -p tcp -j REDIRECT --to-ports 15006', '-A PREROUTING -p tcp -m addrtype --dst-type LOCAL -j RETURN') } },
    docs: 'docs/snapshot.md#when-a-proof-depends-on-another-tools-rule',
    severity: 'error',
    message: "the proof is undecided: whether '{text}' matches decides the outcome of {classes} packet class(es), e.g. {packet}, and meshcap does not model it",
    hint: "see whether it holds for such packets (`meshcap trace FILE --packet '{packet}'` runs it both ways); a rule in front of it that decides the mesh's packets (a RETURN or a jump to the mesh's chain) makes the proof independent of it",
    explain: "A rule of another tool with a match meshcap does not model (warning rules-unmodelled) may or may not hold; here the outcome of some packets depends on it, so the proof can say neither equal nor different for them. It names the rule, how many classes depend on it and one packet of them. verify and diff exit 2, as for input they cannot process; a class that differs for sure is still reported as a difference (exit 1).",
  },
  'rules-undecided-limit': {
    bad: { command: 'meshcap verify p.intercept --against node.rules', files: { 'p.intercept': P, 'node.rules': nat(':OUTPUT ACCEPT [0:0]', '-A OUTPUT -j MARK --set-xmark 0x1/0xff', '-A OUTPUT -m mark --mark 0x1/0xff -j RETURN') } },
    good: { command: 'meshcap verify p.intercept --against node.rules', files: { 'p.intercept': P, 'node.rules': nat(':OUTPUT ACCEPT [0:0]', '-A OUTPUT -j MARK --set-xmark 0x1/0xf', '-A OUTPUT -m mark --mark 0x1/0xf -j RETURN') } },
    docs: 'docs/snapshot.md#when-a-proof-depends-on-another-tools-rule',
    severity: 'error',
    message: 'the proof is undecided: {reason}',
    hint: 'compare a smaller part of the rule set (one family with --family, or the chains the mesh owns), or report the rule sets as a meshcap limitation',
    explain: 'The equivalence engine reached one of its limits (marks compared under partial masks over too many bits) before an answer. It never says equal then; verify and diff exit 2.',
  },
  'rules-unknown-target': {
    bad: { command: 'meshcap verify p.intercept --against node.rules', files: { 'p.intercept': P, 'node.rules': nat(':POSTROUTING ACCEPT [0:0]', '-A POSTROUTING -s 172.17.0.0/16 -j NETMAP --to 10.0.0.0/16') } },
    good: { command: 'meshcap verify p.intercept --against node.rules', files: { 'p.intercept': P, 'node.rules': nat(':POSTROUTING ACCEPT [0:0]') } },
    severity: 'error',
    message: "unknown target '{name}'",
    hint: 'meshcap reads ACCEPT, DROP, RETURN, REDIRECT, TPROXY, MARK, CONNMARK, CT, DNAT, LOG, SNAT and MASQUERADE (in nat) and jumps to chains',
    explain: 'The rule uses a target meshcap does not model.',
  },
  'rules-unknown-option': {
    bad: { command: 'meshcap verify p.intercept --against node.rules', files: { 'p.intercept': P, 'node.rules': nat(':OUTPUT ACCEPT [0:0]', '-A OUTPUT -p tcp --dprt 80 -j RETURN') } },
    good: { command: 'meshcap verify p.intercept --against node.rules', files: { 'p.intercept': P, 'node.rules': nat(':OUTPUT ACCEPT [0:0]', '-A OUTPUT -p tcp --dport 80 -j RETURN') } },
    severity: 'error',
    message: "option '{name}' is not understood here",
    hint: '{hint}',
    explain: 'An option that the preceding module or target does not take, or that meshcap does not model.',
  },
  'rules-missing-chain': {
    bad: { command: 'meshcap verify p.intercept --against node.rules', files: { 'p.intercept': P, 'node.rules': nat(':OUTPUT ACCEPT [0:0]', '-A OUTPUT -p tcp -j ISTIO_OUTPUT') } },
    good: { command: 'meshcap verify p.intercept --against node.rules', files: { 'p.intercept': P, 'node.rules': nat(':OUTPUT ACCEPT [0:0]', ':ISTIO_OUTPUT - [0:0]', '-A OUTPUT -p tcp -j ISTIO_OUTPUT') } },
    severity: 'error',
    message: "chain '{name}' is not declared in table {table}",
    hint: "declare it (':{name} - [0:0]' in iptables-restore text, an 'add chain' command in nft JSON) or jump to a chain that exists",
    explain: 'A rule refers to a chain that does not exist. iptables-legacy-restore refuses this; iptables-nft-restore --test accepts it (netfilter-facts §2).',
  },
  'rules-jump-loop': {
    bad: { command: 'meshcap verify p.intercept --against node.rules', files: { 'p.intercept': P, 'node.rules': nat(':OUTPUT ACCEPT [0:0]', ':A - [0:0]', ':B - [0:0]', '-A OUTPUT -j A', '-A A -j B', '-A B -j A') } },
    good: { command: 'meshcap verify p.intercept --against node.rules', files: { 'p.intercept': P, 'node.rules': nat(':OUTPUT ACCEPT [0:0]', ':A - [0:0]', ':B - [0:0]', '-A OUTPUT -j A', '-A A -j B', '-A B -j RETURN') } },
    severity: 'error',
    message: "this jump from chain '{chain}' to '{target}' closes a loop in table {table}",
    hint: 'a chain may not be reached again from itself; the kernel refuses the whole table (ELOOP)',
    explain: 'Following the jumps and gotos of a table leads back to a chain already on the way. The kernel refuses such a table when it is loaded, so the rule set cannot be what a node runs.',
  },
  'rules-invalid-hook': {
    bad: { command: 'meshcap verify p.intercept --against node.rules', files: { 'p.intercept': P, 'node.rules': nat(':PREROUTING ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', '-A PREROUTING -m owner --uid-owner 1337 -j RETURN') } },
    good: { command: 'meshcap verify p.intercept --against node.rules', files: { 'p.intercept': P, 'node.rules': nat(':PREROUTING ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', '-A OUTPUT -m owner --uid-owner 1337 -j RETURN') } },
    severity: 'error',
    message: '{detail}',
    explain: 'The kernel refuses this rule in this chain (e.g. an owner match outside OUTPUT/POSTROUTING, -i in OUTPUT, REDIRECT outside nat, TPROXY outside mangle PREROUTING).',
  },

  'rules-snapshot': {
    bad: { command: 'meshcap verify p.intercept --against node.snapshot', files: { 'p.intercept': P, 'node.snapshot': '{"meshcapSnapshot": 1, "rules": []}\n' } },
    good: { command: 'meshcap verify p.intercept --against node.snapshot', files: { 'p.intercept': P, 'node.snapshot': snapshot({ 'iptables-nft': nat(':OUTPUT ACCEPT [0:0]') }) } },
    docs: 'docs/snapshot.md#format-version-1',
    severity: 'error',
    message: 'not a readable snapshot: {detail}',
    hint: "take one with 'meshcap snapshot -o FILE' (docs/snapshot.md gives the format)",
    explain: 'The file looks like a meshcap snapshot (a JSON document starting with "meshcapSnapshot") but cannot be read as one.',
  },
  'rules-snapshot-collect': {
    bad: { command: 'meshcap snapshot --netns no-such-namespace' },
    good: { command: 'meshcap snapshot' },
    docs: 'docs/cli.md#snapshot',
    severity: 'error',
    message: 'cannot take a snapshot: {detail}',
    hint: '{hint}',
    explain: 'meshcap snapshot runs iptables-save, nft and ip in the namespace; here the namespace could not be entered or no tool could read it.',
  },
  'rules-split-flavours': {
    bad: { command: 'meshcap verify p.intercept --against node.snapshot', files: { 'p.intercept': P, 'node.snapshot': snapshot({ 'iptables-legacy': nat(':OUTPUT ACCEPT [0:0]', '-A OUTPUT -p tcp --dport 80 -j REDIRECT --to-ports 15001'), 'iptables-nft': nat(':OUTPUT ACCEPT [0:0]', '-A OUTPUT -p tcp --dport 80 -j REDIRECT --to-ports 8080') }) } },
    good: { command: 'meshcap verify p.intercept --against node.snapshot', files: { 'p.intercept': P, 'node.snapshot': snapshot({ 'iptables-nft': nat(':OUTPUT ACCEPT [0:0]', '-A OUTPUT -p tcp --dport 80 -j REDIRECT --to-ports 15001', '-A OUTPUT -p tcp --dport 80 -j REDIRECT --to-ports 8080') }) } },
    docs: 'docs/snapshot.md#format-version-1',
    severity: 'warning',
    message: '{family} rules are split between iptables-legacy (hooks: {legacy}) and iptables-nft (hooks: {nft}); both run, on shared hooks ({shared}) in an order no listing shows: {order}',
    hint: 'keep one flavour: the node and the mesh should use the same iptables (update-alternatives --config iptables); istio/istio#15519',
    explain: 'The kernel runs the base chains of iptables-legacy, iptables-nft and native nft tables on the same hook one after another, by priority; legacy and nft tables of the same name have the same priority, and the kernel runs the one registered last first (seen), which no listing shows. meshcap reads iptables-nft first and proves whether the order matters by comparing both.',
  },

  'rules-preflight-other-rules': {
    bad: { command: 'meshcap preflight --netns pod1 p.intercept', files: { 'p.intercept': P }, illustrative: "a namespace where another tool (kube-proxy, Docker) already has rules on the hooks the policy uses" },
    good: { command: 'meshcap preflight --netns pod2 p.intercept', files: { 'p.intercept': P }, illustrative: 'a fresh pod namespace' },
    docs: 'docs/cli.md#preflight',
    severity: 'warning',
    message: 'other rules already run on the hooks the policy uses in {where}, outside {firewall}: {rules}',
    hint: 'they run beside the rules meshcap applies (equal priorities: the last registered first); after apply, `meshcap verify POLICY --live` proves whether they change any outcome, or apply with the firewall they use (--firewall)',
    explain: 'The kernel runs every base chain of a hook, from iptables-legacy, iptables-nft and native nft tables, by priority; rules of another tool in another flavour can pre-empt the mesh (kumahq/kuma#11267). preflight --netns lists them before anything is applied.',
  },
  'rules-preflight-routing': {
    bad: { command: 'meshcap preflight --netns pod1 p.intercept', files: { 'p.intercept': P }, illustrative: "a namespace whose ip rules or routing tables already use TPROXY's mark or table" },
    good: { command: 'meshcap preflight --netns pod2 p.intercept', files: { 'p.intercept': P }, illustrative: 'a fresh pod namespace' },
    docs: 'docs/cli.md#preflight',
    severity: 'error',
    message: "TPROXY's policy routing ({family}: fwmark {mark} lookup {table}) collides with {where}: {detail}",
    hint: "choose another mark or table in the policy (inbound { mode tproxy mark N table N }), or remove the rule or routes that hold them",
    explain: "TPROXY needs `ip rule add fwmark MARK lookup TABLE` and a local default route in TABLE; a rule already using the mark or the table, other routes in the table, or a rule evaluated first would send diverted packets elsewhere.",
  },
  'rules-preflight-sysctl': {
    bad: { command: 'meshcap preflight --netns pod1 p.intercept', files: { 'p.intercept': P }, illustrative: "a namespace with route_localnet set" },
    good: { command: 'meshcap preflight --netns pod2 p.intercept', files: { 'p.intercept': P }, illustrative: 'a fresh pod namespace' },
    docs: 'docs/cli.md#preflight',
    severity: 'warning',
    message: '{name} is {value} in {where}: {detail}',
    hint: 'pod namespaces keep the default; see docs/facts.md for what the proofs assume',
    explain: 'The proofs leave out packets the kernel cannot produce under the default sysctls (docs/facts.md); a namespace that changes them can produce packets no proof covered.',
  },
  'rules-preflight-missing': {
    bad: { command: 'meshcap preflight --firewall iptables-legacy p.intercept', files: { 'p.intercept': P }, illustrative: "on a node whose kernel or tools lack what the rules need (here: no iptables-legacy, or no nat table in the kernel)" },
    good: { command: 'meshcap preflight --firewall nftables p.intercept', files: { 'p.intercept': P }, illustrative: 'the firewall the node has' },
    docs: 'docs/cli.md#preflight',
    severity: 'error',
    message: '{firewall} ({family}) cannot do {what}: {reason}; needed by {from}',
    hint: '{hint}',
    explain: 'meshcap preflight loads, in a throwaway namespace, the smallest rule that uses each thing the compiled rules need; this one was refused, so applying the rules would fail there (or, with a script, half-way).',
  },

  // ---- Istio import ------------------------------------------------------------------------
  'istio-unknown-flag': {
    bad: { command: 'meshcap import istio-iptables -- --envoy-port 15001 --proxy-uuid 1337' },
    good: { command: 'meshcap import istio-iptables -- --envoy-port 15001 --proxy-uid 1337' },
    severity: 'error',
    message: "unknown istio-iptables flag '{name}'",
    hint: '{suggestion}',
    explain: 'The flag is not one istio-iptables takes.',
  },
  'istio-bad-value': {
    bad: { command: 'meshcap import istio-iptables -- -p 1500l -u 1337' },
    good: { command: 'meshcap import istio-iptables -- -p 15001 -u 1337' },
    severity: 'error',
    message: "{flag}: {detail}",
    explain: 'The value of an istio-iptables flag or config field is malformed.',
  },
  'istio-ignored': {
    bad: { command: 'meshcap import istio-iptables -- -p 15001 -u 1337 --dry-run' },
    good: { command: 'meshcap import istio-iptables -- -p 15001 -u 1337' },
    severity: 'info',
    message: "{flag} has no effect on the rules and is ignored",
    explain: 'Flags that control validation, probes, dry runs or logging do not change the rule set.',
  },
  'istio-dropped': {
    bad: { command: 'meshcap import istio-iptables -- -p 15001 -z 15006 -u 1337 -b 9080 -d 15090' },
    good: { command: "meshcap import istio-iptables -- -p 15001 -z 15006 -u 1337 -b '*' -d 15090" },
    severity: 'warning',
    message: '{flag} is ignored by istio-iptables here: {reason}',
    hint: 'meshcap leaves it out of the policy, which is what istio-iptables does',
    explain: 'istio-iptables silently ignores some combinations (e.g. inbound exclusions when inbound capture is a list); meshcap says so.',
  },
  'import-unknown-flag': {
    bad: { command: 'meshcap import linkerd-proxy-init -- --incoming-proxy-port 4143 --outgoing-proxy-port 4140 --proxy-uid 2102 --inbound-ports-to-ignor 4190' },
    good: { command: 'meshcap import linkerd-proxy-init -- --incoming-proxy-port 4143 --outgoing-proxy-port 4140 --proxy-uid 2102 --inbound-ports-to-ignore 4190' },
    docs: 'docs/cli.md#import-linkerd-proxy-init',
    severity: 'error',
    message: "unknown {tool} flag '{name}'",
    hint: '{suggestion}',
    explain: 'The flag is not one the tool being imported (Linkerd proxy-init, kumactl install transparent-proxy) takes; the tool itself would refuse to run.',
  },
  'import-bad-value': {
    bad: { command: 'meshcap import linkerd-proxy-init -- --incoming-proxy-port 4l43 --outgoing-proxy-port 4140 --proxy-uid 2102' },
    good: { command: 'meshcap import linkerd-proxy-init -- --incoming-proxy-port 4143 --outgoing-proxy-port 4140 --proxy-uid 2102' },
    docs: 'docs/cli.md#import-linkerd-proxy-init',
    severity: 'error',
    message: '{tool} {flag}: {detail}',
    explain: 'A flag of the tool being imported has a value the tool refuses, or one whose rules could not work (the tool would fail, or redirect to a port nothing can listen on). Nothing is written.',
  },
  'import-unsupported': {
    bad: { command: 'meshcap import kuma --resolv-conf resolv.conf -- --redirect-dns', files: { 'resolv.conf': 'nameserver 10.96.0.10\n' } },
    good: { command: 'meshcap import kuma --resolv-conf resolv.conf -- --redirect-dns --ip-family-mode ipv4', files: { 'resolv.conf': 'nameserver 10.96.0.10\n' } },
    docs: 'docs/cli.md#import-kuma',
    severity: 'error',
    message: '{tool} {flag} cannot be imported yet: {reason}',
    hint: 'see docs/kuma-differences.md; meshcap writes no policy rather than one that means something else',
    explain: "The input shapes the peer's rules in a way the policy language cannot say yet. meshcap refuses it by name instead of writing a policy that would treat some packets differently.",
  },
  'import-ignored': {
    bad: { command: 'meshcap import linkerd-proxy-init -- --incoming-proxy-port 4143 --outgoing-proxy-port 4140 --proxy-uid 2102 --simulate' },
    good: { command: 'meshcap import linkerd-proxy-init -- --incoming-proxy-port 4143 --outgoing-proxy-port 4140 --proxy-uid 2102' },
    docs: 'docs/cli.md#import-linkerd-proxy-init',
    severity: 'info',
    message: '{tool} {flag} has no effect on the rules and is ignored',
    explain: 'Flags that control logging, dry runs, which iptables binary runs, waits and retries do not change what the rules do.',
  },
  'import-read': {
    bad: { command: 'meshcap import kuma --resolv-conf resolv.conf -- --redirect-dns', files: { 'resolv.conf': 'nameserver 10.96.0.10\nnameserver fd00::a\n' } },
    good: { command: 'meshcap import kuma -- --redirect-all-dns-traffic' },
    docs: 'docs/cli.md#import-kuma',
    severity: 'info',
    message: 'the import read {what} from {path}',
    hint: 'the policy keeps what the file said when it was imported; import again if the file changes',
    explain: "An input of the tool being imported names a file the tool reads when it runs (Kuma's --redirect-dns reads the nameservers of a resolv.conf). meshcap read it at import time and wrote its contents into the policy; it says which file, since the one on the node the tool runs on may differ.",
  },
  'import-differs': {
    bad: { command: 'meshcap import kuma --resolv-conf resolv.conf -- --redirect-dns --ip-family-mode ipv4', files: { 'resolv.conf': 'nameserver 127.0.0.53\n' } },
    good: { command: 'meshcap import kuma --resolv-conf resolv.conf -- --redirect-dns --ip-family-mode ipv4', files: { 'resolv.conf': 'nameserver 10.96.0.10\n' } },
    docs: 'docs/kuma-differences.md',
    severity: 'warning',
    message: '{tool} {flag}: {detail}',
    hint: 'the difference is documented and justified in the peer\'s differences page; the policy is written',
    explain: "The peer's rules differ from the imported policy in a way that does not change where any packet goes (a conntrack zone, for instance), and the difference is one of those documented for that peer. meshcap writes the policy and names the difference.",
  },
  'import-dropped': {
    bad: { command: 'meshcap import linkerd-proxy-init -- --incoming-proxy-port 4143 --outgoing-proxy-port 4140 --proxy-uid 2102 --ipv6 false' },
    good: { command: 'meshcap import linkerd-proxy-init -- --incoming-proxy-port 4143 --outgoing-proxy-port 4140 --proxy-uid 2102 --ipv6=false' },
    docs: 'docs/cli.md#import-linkerd-proxy-init',
    severity: 'warning',
    message: '{tool} ignores {flag} here: {reason}',
    hint: 'meshcap leaves it out of the policy, which is what the tool does',
    explain: 'The tool being imported silently ignores some inputs (an owner id of 0, a port list entry it cannot read, an argument that is not a flag). meshcap writes the policy the tool\'s rules mean, and says what was left out.',
  },

  // ---- lint's inputs (the findings themselves are lint rules: src/lint/rules.ts) -----------
  'lint-config-invalid': {
    bad: { command: 'meshcap lint p.intercept', files: { 'p.intercept': P, '.meshcap.yaml': 'rules:\n  nothing-captured: loud\n' } },
    good: { command: 'meshcap lint p.intercept', files: { 'p.intercept': P, '.meshcap.yaml': 'rules:\n  nothing-captured: error\n' } },
    docs: 'docs/lint.md#configuration-meshcapyaml',
    severity: 'error',
    message: '{path}: {detail}',
    hint: "'meshcap schema lint-config' prints the schema",
    explain: 'The lint configuration (`.meshcap.yaml`, or the file given with --config) does not match the schema meshcap ships: an unknown setting or rule id, a level that is not off, info, warning or error, a cluster CIDR that is not ADDRESS/PREFIX. Nothing is linted; lint exits 2.',
  },
  'lint-no-input': {
    bad: { command: 'meshcap lint notes', files: { 'notes/README.md': '# nothing to lint here\n' } },
    good: { command: 'meshcap lint policies', files: { 'policies/p.intercept': P } },
    docs: 'docs/lint.md#inputs',
    severity: 'error',
    message: '{path} holds no policy or manifest to lint',
    hint: 'lint reads .intercept, .yaml and .yml files (directories recursively), and - for stdin',
    explain: 'A file named on the lint command line is neither a policy nor a Kubernetes manifest (a directory holds none, or every file in it is ignored).',
  },

  // ---- packets -------------------------------------------------------------------------------
  'invalid-packet': {
    bad: { command: "meshcap trace p.intercept --packet 'out tcp 10.1.0.5:40000 -> 10.2.0.9:90800'", files: { 'p.intercept': P } },
    good: { command: "meshcap trace p.intercept --packet 'out tcp 10.1.0.5:40000 -> 10.2.0.9:9080'", files: { 'p.intercept': P } },
    docs: 'docs/cli.md#trace',
    severity: 'error',
    message: 'packet {path}: {detail}',
    explain: 'The packet given to trace is not valid: a field is missing, unknown or out of range. docs/cli.md (trace) lists the fields and the compact form.',
  },

  // ---- applying rules to a node ---------------------------------------------------------------
  'apply-refused': {
    bad: { command: 'meshcap apply p.intercept', files: { 'p.intercept': P }, illustrative: 'as a user who is not root: iptables-restore refuses (Permission denied)' },
    good: { command: 'sudo meshcap apply p.intercept', files: { 'p.intercept': P }, illustrative: 'as root, in the namespace to configure' },
    severity: 'error',
    message: '{tool} refused the rules: {detail}',
    hint: 'nothing of this family was changed (a transaction loads whole or not at all); --dry-run prints it',
    explain: "`meshcap apply` loads one transaction per family (iptables-restore --noflush, ip6tables-restore --noflush or nft -j -f) and the tool refused it or could not be run: it is missing (install iptables or nftables), the kernel lacks a module the rules use, or another process held the xtables lock for longer than the wait. The tool's own words follow the colon.",
  },
  'apply-not-owned': {
    bad: { command: 'meshcap apply --backend nftables p.intercept', files: { 'p.intercept': P }, illustrative: "when the namespace has a table inet p that another tool made" },
    good: { command: 'meshcap apply --backend nftables p.intercept', files: { 'p.intercept': P.replace('policy p', 'policy p-capture') }, illustrative: 'a policy whose name (the table\'s) is not taken' },
    severity: 'error',
    message: 'table {family} {name} exists and is not meshcap\'s ({reason}); nothing was changed',
    hint: "the policy's name is the table's: rename the policy, or delete the table if it is a stale one of meshcap's (nft delete table {family} {name})",
    explain: "The nft artifact owns one table, named after the policy, and `meshcap apply` replaces it whole; so it first makes sure a table of that name is meshcap's: one of its rules carries meshcap's provenance comment (`meshcap FILE:LINE ...`, as the shell script checks too) or it holds the empty chain `meshcap-apply` that apply adds as its mark. Another tool's table of the same name is never replaced or, with --remove, deleted.",
  },
  'apply-input': {
    bad: { command: 'meshcap apply p.txt', files: { 'p.txt': P } },
    good: { command: 'meshcap apply --dry-run p.intercept', files: { 'p.intercept': P } },
    severity: 'error',
    message: "'{path}' is neither a policy nor a meshcap artifact",
    hint: 'apply takes a policy (.intercept, .yaml, .yml) or what compile -o wrote (NAME.iptables.rules, NAME.ip6tables.rules, NAME.nft.json)',
    explain: '`meshcap apply` takes one policy, which it compiles and proves first, or artifacts written by `meshcap compile -o DIR`, which it recognises by their names.',
  },
  // ---- the command line (exit 3) ---------------------------------------------------------
  'not-formatted': {
    bad: { command: 'meshcap fmt --check --format json p.intercept', files: { 'p.intercept': 'policy p {\ninbound {capture ports *}\n}\n' } },
    good: { command: 'meshcap fmt --check --format json p.intercept', files: { 'p.intercept': P } },
    docs: 'docs/language.md#file-structure',
    severity: 'warning',
    message: '{path} is not in the canonical layout',
    hint: "run 'meshcap fmt --write {path}'",
    explain: '`meshcap fmt --check` found a file whose layout differs from what `meshcap fmt` writes (the policy means the same either way). In text output this is the line `not formatted: FILE`.',
  },
  'nft-version-assumed': {
    bad: { command: 'meshcap compile --backend nftables --nft-version 9.0 p.intercept', files: { 'p.intercept': P } },
    good: { command: 'meshcap compile --backend nftables --nft-version 1.1.1 p.intercept', files: { 'p.intercept': P } },
    docs: 'docs/cli.md#nft-versions-flush-vs-destroy',
    severity: 'info',
    message: 'nft {asked} is newer than the newest release meshcap knows; emitting for nft {used}',
    hint: 'nft accepts what its older releases accepted; a newer capability is used only once meshcap knows the release',
    explain: 'The --nft-version given is newer than every release in the capability table (backends/nftables/versions.ts). meshcap emits for the newest release it knows, whose input the newer nft accepts.',
  },
  'usage-unknown-command': {
    bad: { command: 'meshcap compil p.intercept', files: { 'p.intercept': P } },
    good: { command: 'meshcap compile p.intercept', files: { 'p.intercept': P } },
    severity: 'error',
    message: "unknown command '{name}'; the commands are: {commands}",
    explain: "The first argument is not one of meshcap's commands (`meshcap --help` lists them).",
  },
  'usage-unknown-option': {
    bad: { command: 'meshcap compile --backnd iptables p.intercept', files: { 'p.intercept': P } },
    good: { command: 'meshcap compile --backend iptables p.intercept', files: { 'p.intercept': P } },
    severity: 'error',
    message: "unknown option '{option}'",
    hint: "to pass a value that starts with '-', put it after '--'",
    explain: 'The command does not take this option; `meshcap COMMAND --help` lists the ones it takes.',
  },
  'usage-missing-option-value': {
    bad: { command: 'meshcap compile p.intercept --backend', files: { 'p.intercept': P } },
    good: { command: 'meshcap compile p.intercept --backend iptables', files: { 'p.intercept': P } },
    severity: 'error',
    message: "option '{option}' needs a value",
    explain: 'The option takes a value (`--format json`), and none was given.',
  },
  'usage-bad-option-value': {
    bad: { command: 'meshcap check --format xml p.intercept', files: { 'p.intercept': P } },
    good: { command: 'meshcap check --format sarif p.intercept', files: { 'p.intercept': P } },
    severity: 'error',
    message: '{detail}',
    explain: 'An option was given a value it does not take (`--format xml`, `--max 0`, ...); the message says what it takes.',
  },
  'usage-conflicting-options': {
    bad: { command: 'meshcap fmt --check --write p.intercept', files: { 'p.intercept': P } },
    good: { command: 'meshcap fmt --write p.intercept', files: { 'p.intercept': P } },
    severity: 'error',
    message: '{detail}',
    explain: 'Two options (or an option and arguments) that cannot be used together.',
  },
  'usage-unknown-backend': {
    bad: { command: 'meshcap compile --backend nftabels p.intercept', files: { 'p.intercept': P } },
    good: { command: 'meshcap compile --backend nftables p.intercept', files: { 'p.intercept': P } },
    severity: 'error',
    message: "unknown backend '{name}'; the backends are: {backends}",
    explain: 'A --backend that meshcap does not have.',
  },
  'usage-missing-argument': {
    bad: { command: 'meshcap compile', files: { 'p.intercept': P } },
    good: { command: 'meshcap compile p.intercept', files: { 'p.intercept': P } },
    severity: 'error',
    message: '{detail}',
    explain: 'The command needs an argument (a file, a policy, --packet, --against, ...) that was not given.',
  },
  'usage-extra-argument': {
    bad: { command: 'meshcap compile p.intercept q.intercept', files: { 'p.intercept': P, 'q.intercept': P.replace('policy p', 'policy q') } },
    good: { command: 'meshcap compile p.intercept', files: { 'p.intercept': P, 'q.intercept': P.replace('policy p', 'policy q') } },
    severity: 'error',
    message: '{detail}',
    explain: 'The command was given more arguments than it takes.',
  },
  'usage-bad-argument': {
    bad: { command: 'meshcap schema nft' },
    good: { command: 'meshcap schema nftables' },
    severity: 'error',
    message: '{detail}',
    explain: 'An argument is not one the command takes (`meshcap import linkerd`, `meshcap schema xml`).',
  },
  'usage-unknown-code': {
    bad: { command: 'meshcap explain bad-port' },
    good: { command: 'meshcap explain invalid-port' },
    severity: 'error',
    message: "no diagnostic '{code}': {suggestion}",
    explain: '`meshcap explain` takes a code of the catalogue; `meshcap explain --list` lists them.',
  },
  // ---- meshcap's own failures (a bug: please report it) ------------------------------------
  'internal-check-ir': {
    bad: { command: 'meshcap compile p.intercept', files: { 'p.intercept': P }, illustrative: 'a meshcap bug: the lowering made a rule the kernel would refuse; nothing was written' },
    good: { command: 'meshcap compile --emit ir p.intercept', files: { 'p.intercept': P }, illustrative: 'the IR, to attach to the report with the policy' },
    severity: 'error',
    message: 'lowering produced a rule the kernel would refuse: {family} {table} {chain} #{index}: {problem}',
    hint: 'this is a meshcap bug; please report it with the policy',
    explain: 'The check-ir pass found a rule in the lowered IR that the kernel refuses (e.g. an owner match outside OUTPUT). Nothing is written; compile exits 1.',
  },
  'internal-schema': {
    bad: { command: 'meshcap compile --backend nftables p.intercept', files: { 'p.intercept': P }, illustrative: "a meshcap bug: the nft JSON does not match meshcap's schema; nothing was written" },
    good: { command: 'meshcap compile --backend iptables p.intercept', files: { 'p.intercept': P }, illustrative: 'another backend, until the bug is fixed' },
    severity: 'error',
    message: "the {backend} output does not match meshcap's schema: {problems}",
    hint: 'this is a meshcap bug; please report it with the policy',
    explain: 'nft ignores unknown keys, so every nftables output is validated against `meshcap schema nftables`; this one does not match. Nothing is written; compile exits 1.',
  },
  'internal-reimport': {
    bad: { command: 'meshcap compile --backend nftables p.intercept', files: { 'p.intercept': P }, illustrative: "a meshcap bug: the output does not read back with meshcap's own importer; nothing was written" },
    good: { command: 'meshcap compile --backend iptables p.intercept', files: { 'p.intercept': P }, illustrative: 'another backend, until the bug is fixed' },
    severity: 'error',
    message: 'the {backend} output does not read back: {problems}',
    hint: 'this is a meshcap bug; please report it with the policy',
    explain: "Each output is read back by its backend's own importer before it is verified; this one could not be read. Nothing is written; compile exits 1.",
  },
  'internal-routing': {
    bad: { command: 'meshcap compile --backend shell p.intercept', files: { 'p.intercept': P }, illustrative: "a meshcap bug: the script's policy routing is not the IR's; nothing was written" },
    good: { command: 'meshcap compile --backend iptables p.intercept', files: { 'p.intercept': P }, illustrative: 'another backend, until the bug is fixed' },
    severity: 'error',
    message: "the {backend} output's routing ({got}) is not the IR's ({want})",
    hint: 'this is a meshcap bug; please report it with the policy',
    explain: "The policy routing (TPROXY rule and table) that an output installs differs from the IR's. Nothing is written; compile exits 1.",
  },
  'internal-verify-different': {
    bad: { command: 'meshcap compile p.intercept', files: { 'p.intercept': P }, illustrative: 'a meshcap bug: an output does not do what the policy means; nothing was written' },
    good: { command: 'meshcap compile --verify-report report.json p.intercept', files: { 'p.intercept': P }, illustrative: 'the proof with its counterexample, to attach to the report' },
    severity: 'error',
    message: 'verification failed: {stage}: they differ ({classes} packet classes explored)',
    hint: 'this is a meshcap bug; the counterexample and both traces follow on stderr',
    explain: 'compile proves on every run that the IR does what the policy means and that each output does what the IR does; here two of them treat some packet differently. Nothing is written; compile exits 1.',
  },
  'internal-verify-undecided': {
    bad: { command: 'meshcap compile p.intercept', files: { 'p.intercept': P }, illustrative: 'the proof reached a limit before an answer' },
    good: { command: 'meshcap compile --verify-report report.json p.intercept', files: { 'p.intercept': P }, illustrative: 'the proof, to attach to the report (--no-verify writes unproven rules)' },
    severity: 'error',
    message: 'verification undecided: {stage}: {reason}',
    explain: 'The equivalence check could not reach an answer within its limits. Nothing is written; compile exits 1.',
  },
  'internal-format': {
    bad: { command: 'meshcap fmt --write p.intercept', files: { 'p.intercept': P }, illustrative: 'a meshcap bug: the layout would change what the policy means; nothing was written' },
    good: { command: 'meshcap fmt --check p.intercept', files: { 'p.intercept': P }, illustrative: 'the file stays as it is; report it with the file' },
    severity: 'error',
    message: 'formatting {path} would change its meaning; nothing was written',
    hint: 'this is a meshcap bug; please report it with the file',
    explain: '`fmt` checks that the text it prints means the same as its input before writing anything; here it would not.',
  },
  'internal-error': {
    bad: { command: 'meshcap compile p.intercept', files: { 'p.intercept': P }, illustrative: 'a meshcap bug: an unexpected exception' },
    good: { command: 'MESHCAP_DEBUG=1 meshcap compile p.intercept', files: { 'p.intercept': P }, illustrative: 'the stack trace, to attach to the report' },
    severity: 'error',
    message: 'internal error: {detail}',
    hint: 'this is a meshcap bug; MESHCAP_DEBUG=1 shows the stack trace',
    explain: 'An unexpected exception inside meshcap. User input never causes one: please report it.',
  },
} as const satisfies Record<string, CatalogueEntry>;

export type Code = keyof typeof catalogue;

/** A code's prefix says who is at fault: the input (exit 2), the command line (exit 3), meshcap. */
export type UsageCode = Extract<Code, `usage-${string}`>;
export type InternalCode = Extract<Code, `internal-${string}`>;
export type CodeClass = 'input' | 'usage' | 'internal';

export function codeClass(code: Code): CodeClass {
  return code.startsWith('usage-') ? 'usage' : code.startsWith('internal-') ? 'internal' : 'input';
}

export function isCode(s: string): s is Code {
  return Object.prototype.hasOwnProperty.call(catalogue, s);
}

/** Codes in catalogue order from `first` to `last`: a section of the table. */
function section(first: Code, last: Code): Set<string> {
  const keys = Object.keys(catalogue);
  return new Set(keys.slice(keys.indexOf(first), keys.indexOf(last) + 1));
}

const DOCS_BY_SECTION: [Set<string>, string][] = [
  [section('file-unreadable', 'unknown-file-type'), 'docs/cli.md#diagnostics'],
  [section('unexpected-character', 'yaml-shape'), 'docs/language.md#lexical-rules'],
  [section('unknown-block', 'single-value-expected'), 'docs/language.md#file-structure'],
  [section('invalid-port', 'duplicate-value'), 'docs/language.md#values'],
  [section('ineffective-exclude', 'group-exclude-with-list'), 'docs/language.md#whole-policy-checks'],
  [section('rules-syntax', 'rules-invalid-hook'), 'docs/cli.md#verify'],
  [section('istio-unknown-flag', 'istio-dropped'), 'docs/cli.md#import-istio-iptables'],
  [section('apply-refused', 'apply-input'), 'docs/cli.md#apply'],
];

/** Where the docs say more about a code: its own `docs`, else its section's page and heading. */
export function docsOf(code: Code): string {
  const e: CatalogueEntry = catalogue[code];
  if (e.docs) return e.docs;
  if (code.startsWith('usage-')) return 'docs/cli.md#exit-codes';
  if (code.startsWith('internal-')) return 'docs/cli.md#how-the-proofs-work';
  return DOCS_BY_SECTION.find(([codes]) => codes.has(code))?.[1] ?? 'docs/cli.md#diagnostics';
}
