// Text from the user (a policy's file name, a rule's purpose) carried into rule comments
// and script headers: one line of text with no control characters, within a byte limit,
// cut on a character boundary (a cut inside a UTF-16 pair would leave text nft refuses).

// eslint-disable-next-line no-control-regex -- control characters are what is replaced
const CONTROL = /[\x00-\x1f\x7f]/g;

/** `text` on one line, control characters as spaces, at most `maxBytes` bytes of UTF-8. */
export function oneLine(text: string, maxBytes = Infinity): string {
  const line = text.replace(CONTROL, ' ');
  if (Buffer.byteLength(line) <= maxBytes) return line;
  let bytes = 0;
  let end = 0;
  for (const ch of line) {
    const n = Buffer.byteLength(ch);
    if (bytes + n > maxBytes) break;
    bytes += n;
    end += ch.length;
  }
  return line.slice(0, end);
}
