/**
 * The errno name ('EINVAL', 'EBUSY', ...) of the KernelError `fn` throws, or
 * undefined when it returns normally. Anything else thrown is rethrown, so a
 * TypeError from a bug never passes for an expected errno. Recognised by
 * shape (name 'KernelError' and a string `code`) rather than by class, so
 * that test-utils does not depend on core-bus, whose own tests use it.
 */
export function errnoOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    if (e instanceof Error && e.name === 'KernelError' && typeof (e as { code?: unknown }).code === 'string')
      return (e as Error & { code: string }).code;
    throw e;
  }
  return undefined;
}
