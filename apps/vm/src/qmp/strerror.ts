import { getSystemErrorMap } from 'node:util';

/** strerror() text for a Node system error ("No such file or directory"), or its message. */
export function strerror(e: unknown): string {
  const errno = (e as { errno?: number }).errno;
  const text = errno === undefined ? undefined : getSystemErrorMap().get(errno)?.[1];
  if (!text) return (e as Error).message;
  return text[0]!.toUpperCase() + text.slice(1);
}
