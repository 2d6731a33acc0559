import type { JsonToken } from './json-lexer.ts';

/**
 * A JSON value as QMP input carries it. Objects have no prototype (a key
 * named `__proto__` is just a key); integers beyond 2^53 become bigints so
 * an int64 argument or an `id` keeps its exact value.
 */
export type JsonValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | JsonValue[]
  | { [key: string]: JsonValue };

export class JsonParseError extends Error {
  override readonly name = 'JsonParseError';
}

const INT64_MIN = -(2n ** 63n);
const UINT64_MAX = 2n ** 64n - 1n;
const SIMPLE_ESCAPES: Record<string, string> = {
  '"': '"',
  "'": "'",
  '\\': '\\',
  '/': '/',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
};

/**
 * The last stage of QEMU's QMP input path (qobject/json-parser.c): one
 * complete value from the tokens the streamer collected. Errors carry the
 * short reasons QEMU gives ("expecting value", "duplicate key", ...).
 */
export function parseJsonTokens(tokens: readonly JsonToken[]): JsonValue {
  let pos = 0;
  const peek = () => tokens[pos];
  const fail = (why: string): never => {
    throw new JsonParseError(why);
  };

  function value(): JsonValue {
    const t = tokens[pos++];
    if (t === undefined) return fail('premature end of input');
    switch (t.type) {
      case '{':
        return object();
      case '[':
        return array();
      case 'string':
        return decodeString(t.text);
      case 'number':
        return decodeNumber(t.text);
      case 'keyword':
        if (t.text === 'true') return true;
        if (t.text === 'false') return false;
        if (t.text === 'null') return null;
        return fail(`invalid keyword '${t.text}'`);
      default:
        return fail('expecting value');
    }
  }

  function object(): JsonValue {
    const obj: { [key: string]: JsonValue } = Object.create(null);
    if (peek()?.type === '}') {
      pos++;
      return obj;
    }
    for (;;) {
      const key = value();
      if (typeof key !== 'string') fail('key is not a string in object');
      if (tokens[pos++]?.type !== ':') fail('missing : in object pair');
      const v = value();
      if (Object.hasOwn(obj, key as string)) fail('duplicate key');
      obj[key as string] = v;
      const sep = tokens[pos++]?.type;
      if (sep === '}') return obj;
      if (sep !== ',') fail('expected separator in dict');
    }
  }

  function array(): JsonValue {
    const list: JsonValue[] = [];
    if (peek()?.type === ']') {
      pos++;
      return list;
    }
    for (;;) {
      list.push(value());
      const sep = tokens[pos++]?.type;
      if (sep === ']') return list;
      if (sep !== ',') fail('expected separator in list');
    }
  }

  function decodeString(text: string): string {
    let out = '';
    for (let i = 1; i < text.length - 1; i++) {
      const c = text[i]!;
      if (c !== '\\') {
        out += c;
        continue;
      }
      const e = text[++i]!;
      if (e in SIMPLE_ESCAPES) {
        out += SIMPLE_ESCAPES[e];
        continue;
      }
      const hex = text.slice(i + 1, i + 5);
      if (e !== 'u' || !/^[0-9a-fA-F]{4}$/.test(hex)) fail('invalid escape sequence in string');
      const cp = Number.parseInt(hex, 16);
      // QEMU's strings are NUL-terminated C strings: \u0000 cannot be represented.
      if (cp === 0) fail('\\u0000 is not supported');
      out += String.fromCharCode(cp);
      i += 4;
    }
    return out;
  }

  const v = value();
  if (pos !== tokens.length) fail('expecting end of input');
  return v;
}

/** An integer stays exact (number when safe, else bigint within int64/uint64); anything else is a double. */
function decodeNumber(text: string): number | bigint {
  if (/^-?[0-9]+$/.test(text)) {
    const n = Number(text);
    if (Number.isSafeInteger(n)) return n;
    const b = BigInt(text);
    if (b >= INT64_MIN && b <= UINT64_MAX) return b;
    return n;
  }
  return Number(text);
}

/** Serialise a reply: JSON with bigints written as exact integers. */
export function toJson(v: unknown): string {
  if (typeof v === 'bigint') return v.toString();
  if (Array.isArray(v)) return `[${v.map(toJson).join(', ')}]`;
  if (v !== null && typeof v === 'object') {
    const parts: string[] = [];
    for (const [k, x] of Object.entries(v))
      if (x !== undefined) parts.push(`${JSON.stringify(k)}: ${toJson(x)}`);
    return `{${parts.join(', ')}}`;
  }
  if (typeof v === 'number' && !Number.isFinite(v)) return 'null';
  return JSON.stringify(v) ?? 'null';
}
