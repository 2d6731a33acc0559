import { JsonLexer, type JsonToken } from './json-lexer.ts';
import { JsonParseError, type JsonValue, parseJsonTokens } from './json-parser.ts';

/** QEMU's json-streamer.c limits on one message: nesting depth, token count and total size. */
export const JSON_MAX_NESTING = 1024;
export const JSON_MAX_TOKEN_COUNT = 2 << 20;
export const JSON_MAX_MESSAGE_SIZE = 64 << 20;

export type JsonMessage = { value: JsonValue } | { error: string };

/**
 * The middle stage of QEMU's QMP input path (qobject/json-streamer.c): it
 * counts braces and brackets and hands the tokens of one top-level value to
 * the parser when they balance, so messages need no delimiter and may span
 * or share reads. A lexical error, a closer without an opener, or a limit
 * exceeded discards what was collected and reports one error.
 */
export class JsonStreamer {
  private readonly lexer = new JsonLexer((t) => this.token(t));
  private tokens: JsonToken[] = [];
  private braces = 0;
  private brackets = 0;
  private size = 0;

  constructor(private readonly emit: (message: JsonMessage) => void) {}

  feed(input: string): void {
    this.lexer.feed(input);
  }

  private token(t: JsonToken): void {
    if (t.type === 'error') {
      this.done({ error: `JSON parse error, stray '${t.text}'` });
      return;
    }
    if (t.type === '{') this.braces++;
    else if (t.type === '}') this.braces--;
    else if (t.type === '[') this.brackets++;
    else if (t.type === ']') this.brackets--;
    this.tokens.push(t);
    this.size += t.text.length;
    if (this.braces >= 0 && this.brackets >= 0 && this.braces + this.brackets > 0) {
      const limit =
        this.braces + this.brackets > JSON_MAX_NESTING
          ? 'JSON nesting depth limit exceeded'
          : this.tokens.length > JSON_MAX_TOKEN_COUNT
            ? 'JSON token count limit exceeded'
            : this.size > JSON_MAX_MESSAGE_SIZE
              ? 'JSON token size limit exceeded'
              : undefined;
      if (limit) this.done({ error: limit });
      return;
    }
    try {
      this.done({ value: parseJsonTokens(this.tokens) });
    } catch (e) {
      if (!(e instanceof JsonParseError)) throw e;
      this.done({ error: `JSON parse error, ${e.message}` });
    }
  }

  private done(message: JsonMessage): void {
    this.tokens = [];
    this.braces = 0;
    this.brackets = 0;
    this.size = 0;
    this.emit(message);
  }
}
