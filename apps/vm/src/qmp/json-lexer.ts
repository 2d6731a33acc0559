/**
 * The first stage of QEMU's QMP input path (qobject/json-lexer.c): an
 * incremental lexer that turns a byte stream into JSON tokens. Like QEMU's
 * it accepts single-quoted strings and lower-case keywords of any spelling
 * (the parser rejects unknown ones), leaves escape sequences for the parser
 * to check, and after a lexical error skips input until a structural
 * character or an ASCII control character, where it resynchronises.
 */
export type JsonTokenType = '{' | '}' | '[' | ']' | ':' | ',' | 'string' | 'number' | 'keyword' | 'error';

export interface JsonToken {
  type: JsonTokenType;
  /** The token's source text (a string token keeps its quotes and escapes). */
  text: string;
}

/** QEMU's MAX_TOKEN_SIZE: no single token may exceed 64 MiB. */
export const JSON_MAX_TOKEN_SIZE = 64 << 20;

const STRUCTURAL = new Set(['{', '}', '[', ']', ':', ',']);
const NUMBER_CHARS = /[0-9.eE+-]/;
const NUMBER = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$/;

type State = 'start' | 'string' | 'escape' | 'number' | 'keyword' | 'recovery';

export class JsonLexer {
  private state: State = 'start';
  private token = '';
  private quote = '"';

  constructor(private readonly emit: (token: JsonToken) => void) {}

  feed(input: string): void {
    for (let i = 0; i < input.length; i++) {
      const c = input[i]!;
      if (!this.step(c)) i--; // the character ended a token: look at it again from the start state
    }
  }

  /** One character; false when it was not consumed (lookahead). */
  private step(c: string): boolean {
    const code = c.charCodeAt(0);
    switch (this.state) {
      case 'start':
        if (c === ' ' || c === '\t' || c === '\n' || c === '\r') return true;
        if (STRUCTURAL.has(c)) {
          this.emit({ type: c as JsonTokenType, text: c });
          return true;
        }
        this.token = c;
        if (c === '"' || c === "'") {
          this.quote = c;
          this.state = 'string';
        } else if (c === '-' || (c >= '0' && c <= '9')) this.state = 'number';
        else if (c >= 'a' && c <= 'z') this.state = 'keyword';
        else this.error();
        return true;
      case 'string':
        if (code < 0x20) {
          this.error();
          return false;
        }
        this.token += c;
        if (c === '\\') this.state = 'escape';
        else if (c === this.quote) this.finish('string');
        else if (this.token.length > JSON_MAX_TOKEN_SIZE) this.error();
        return true;
      case 'escape':
        if (code < 0x20) {
          this.error();
          return false;
        }
        this.token += c;
        this.state = 'string';
        return true;
      case 'number':
        if (NUMBER_CHARS.test(c)) {
          this.token += c;
          return true;
        }
        if (NUMBER.test(this.token)) this.finish('number');
        else this.error();
        return false;
      case 'keyword':
        if (c >= 'a' && c <= 'z') {
          this.token += c;
          return true;
        }
        this.finish('keyword');
        return false;
      case 'recovery':
        if (STRUCTURAL.has(c) || code < 0x20) {
          this.state = 'start';
          return false;
        }
        return true;
    }
  }

  private finish(type: JsonTokenType): void {
    this.emit({ type, text: this.token });
    this.token = '';
    this.state = 'start';
  }

  private error(): void {
    this.emit({ type: 'error', text: this.token.slice(0, 64) });
    this.token = '';
    this.state = 'recovery';
  }
}
