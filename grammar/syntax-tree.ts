// The syntax tree both syntaxes (.intercept and YAML) read into. It is schema-free:
// blocks, statements made of atoms, and the comments around them. The language schema
// (src/language/schema.ts) gives it meaning; the printers lay it out again.
import type { Span } from '../src/source.js';

export interface Comment {
  /** Text after '#', without the '#'. */
  text: string;
  span: Span;
}

/** One word, number, address, range or '*' of a statement. */
export interface Atom {
  text: string;
  span: Span;
  /** A comma stands between this atom and the previous one. */
  commaBefore: boolean;
}

interface ItemBase {
  span: Span;
  /** Comments on their own lines just before the item. */
  leading: Comment[];
  /** A comment after the item on its last line. */
  trailing?: Comment;
  /** One or more blank lines separate this item from what precedes it. */
  blankBefore: boolean;
}

export interface Statement extends ItemBase {
  kind: 'statement';
  /** Key words and values together; the schema decides where the key ends. */
  atoms: Atom[];
  /** The YAML twin names the key itself (`capture-ports:`); set only for YAML input. */
  yamlKey?: Atom;
}

export interface Block extends ItemBase {
  kind: 'block';
  name: Atom;
  items: Item[];
  /** A comment on the line of the opening brace. */
  openComment?: Comment;
  /** Comments after the last item, before the closing brace. */
  endComments: Comment[];
}

export type Item = Statement | Block;

export interface PolicyNode extends ItemBase {
  kind: 'policy';
  keyword: Atom;
  name?: Atom;
  /** The name was there but malformed, and the reader already said so. */
  nameReported?: boolean;
  items: Item[];
  openComment?: Comment;
  endComments: Comment[];
}

export interface SyntaxTree {
  file: string;
  syntax: 'intercept' | 'yaml';
  policies: PolicyNode[];
  /** Comments after the last policy. */
  endComments: Comment[];
}
