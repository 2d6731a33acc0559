// A module resolve hook: @tsvirt/* packages resolve to their TypeScript
// sources (their "@tsvirt/source" export condition), as the workspace's tsx
// and vitest runs do with --conditions, so the commands need no build.
export async function resolve(specifier, context, nextResolve) {
  const conditions = context.conditions.includes('@tsvirt/source')
    ? context.conditions
    : [...context.conditions, '@tsvirt/source'];
  return nextResolve(specifier, { ...context, conditions });
}
