import { genericError } from './errors.ts';
import type { JsonValue } from './json-parser.ts';

/** A QAPI argument type: the built-ins QMP commands use, an enum, or a list. */
export type QmpArgType =
  | 'str'
  | 'int'
  | 'bool'
  | 'number'
  | 'any'
  | { enum: readonly string[] }
  | { list: QmpArgType };

export interface QmpArgSpec {
  type: QmpArgType;
  optional?: boolean;
}

/** A command's arguments in declaration order (the order QEMU's input visitor checks them). */
export type QmpArgsSchema = Readonly<Record<string, QmpArgSpec>>;

export type QmpArgs = Record<string, JsonValue>;

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** The word QEMU's "Invalid parameter type ... expected: X" uses. */
function expected(t: QmpArgType): string {
  if (typeof t === 'object') return 'enum' in t ? 'string' : 'array';
  return { str: 'string', int: 'integer', bool: 'boolean', number: 'number', any: 'value' }[t];
}

function check(name: string, t: QmpArgType, v: JsonValue): void {
  const wrongType = () => genericError(`Invalid parameter type for '${name}', expected: ${expected(t)}`);
  if (t === 'any') return;
  if (t === 'str') {
    if (typeof v !== 'string') throw wrongType();
  } else if (t === 'int') {
    const ok =
      (typeof v === 'number' && Number.isInteger(v)) ||
      (typeof v === 'bigint' && v >= INT64_MIN && v <= INT64_MAX);
    if (!ok) throw wrongType();
  } else if (t === 'bool') {
    if (typeof v !== 'boolean') throw wrongType();
  } else if (t === 'number') {
    if (typeof v !== 'number' && typeof v !== 'bigint') throw wrongType();
  } else if ('enum' in t) {
    if (typeof v !== 'string') throw wrongType();
    if (!t.enum.includes(v)) throw genericError(`Parameter '${name}' does not accept value '${v}'`);
  } else {
    if (!Array.isArray(v)) throw wrongType();
    for (const [i, x] of v.entries()) check(`${name}[${i}]`, t.list, x);
  }
}

/**
 * QEMU's QObject input visitor over a command's `arguments`: each declared
 * member in order (missing, wrong type, enum value not accepted), then any
 * member the command does not declare. Every failure is a GenericError.
 */
export function checkArgs(schema: QmpArgsSchema, args: QmpArgs): QmpArgs {
  for (const [name, spec] of Object.entries(schema)) {
    if (!Object.hasOwn(args, name)) {
      if (!spec.optional) throw genericError(`Parameter '${name}' is missing`);
      continue;
    }
    check(name, spec.type, args[name]!);
  }
  for (const name of Object.keys(args)) {
    if (!Object.hasOwn(schema, name)) throw genericError(`Parameter '${name}' is unexpected`);
  }
  return args;
}
