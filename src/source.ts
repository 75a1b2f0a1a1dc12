// Source text with a line index, and the spans every later stage points back with.

export interface Position {
  /** 1-based line */
  line: number;
  /** 1-based column, in UTF-16 code units (what editors and Chevrotain count) */
  col: number;
  /** 0-based offset into the text */
  offset: number;
}

export interface Span {
  file: string;
  start: Position;
  end: Position; // exclusive
}

export class SourceFile {
  readonly lineStarts: number[];

  constructor(
    readonly path: string,
    readonly text: string,
  ) {
    this.lineStarts = [0];
    // indexOf searches natively, several times faster than a loop over char codes.
    for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) this.lineStarts.push(i + 1);
  }

  /** The line of the last lookup: tokens are mostly looked up in order, so start there. */
  private lastLine = 0;

  position(offset: number): Position {
    const o = Math.max(0, Math.min(offset, this.text.length));
    const starts = this.lineStarts;
    let lo = this.lastLine;
    if (starts[lo] <= o && (lo + 1 >= starts.length || o < starts[lo + 1])) {
      // same line as last time
    } else if (lo + 1 < starts.length && starts[lo + 1] <= o && (lo + 2 >= starts.length || o < starts[lo + 2])) {
      lo++;
    } else {
      // binary search for the last line start <= o
      lo = 0;
      let hi = starts.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (starts[mid] <= o) lo = mid;
        else hi = mid - 1;
      }
    }
    this.lastLine = lo;
    return { line: lo + 1, col: o - starts[lo] + 1, offset: o };
  }

  span(startOffset: number, endOffset: number): Span {
    return { file: this.path, start: this.position(startOffset), end: this.position(endOffset) };
  }

  /** The same span, with line and column worked out when read (see SourceSpan). */
  lazySpan(startOffset: number, endOffset: number): Span {
    return new SourceSpan(this, startOffset, endOffset);
  }

  /** The text of a 1-based line, without its newline. */
  lineText(line: number): string {
    const start = this.lineStarts[line - 1];
    if (start === undefined) return '';
    const next = this.lineStarts[line];
    let end = next === undefined ? this.text.length : next - 1;
    if (end > start && this.text.charCodeAt(end - 1) === 13) end--;
    return this.text.slice(start, end);
  }
}

/**
 * A span whose line and column are worked out when read. The parser gives one to
 * every value of a list: a 10,000-line policy has some 45,000, most of which are never
 * shown, and two Position objects each were a third of the front end's allocations (and
 * of its garbage collection). It reads like any Span: `file`, `start` and `end`, and
 * JSON.stringify writes the same object. It is not plain data, though: spread or
 * structuredClone copy only `file`, so code that copies spans must copy their fields
 * (`{ file, start, end }`) or keep the object (spans are never changed). Likewise vitest's
 * toEqual sees only `file` of two SourceSpans: tests compare spans by their fields or
 * their JSON (as test/scanner.test.ts does), not as objects.
 */
export class SourceSpan implements Span {
  readonly file: string;
  readonly #source: SourceFile;
  readonly #from: number;
  readonly #to: number;

  constructor(source: SourceFile, from: number, to: number) {
    this.file = source.path;
    this.#source = source;
    this.#from = from;
    this.#to = to;
  }

  // Worked out at each read, not kept: reads are few (a message, a rule's comment), and two
  // more fields per value would cost more than they save.
  get start(): Position {
    return this.#source.position(this.#from);
  }

  get end(): Position {
    return this.#source.position(this.#to);
  }

  toJSON(): Span {
    return { file: this.file, start: this.start, end: this.end };
  }
}

/** A span covering both a and b (a must start first). */
export function joinSpans(a: Span, b: Span): Span {
  return { file: a.file, start: a.start, end: b.end };
}
