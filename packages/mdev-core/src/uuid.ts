import { fail } from '@tsvirt/core-bus';

/** UUID_STRING_LEN (include/linux/uuid.h): 8-4-4-4-12 hex digits with dashes. */
export const UUID_STRING_LEN = 36;

const DASHES = new Set([8, 13, 18, 23]);

/** uuid_is_valid(): exactly 36 characters, dashes at 8/13/18/23, hex digits elsewhere. */
export function uuidIsValid(s: string): boolean {
  if (s.length !== UUID_STRING_LEN) return false;
  for (let i = 0; i < UUID_STRING_LEN; i++) {
    const c = s.charCodeAt(i);
    if (DASHES.has(i)) {
      if (c !== 0x2d) return false;
    } else if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46))) {
      return false;
    }
  }
  return true;
}

/**
 * Parse what userspace wrote to a type's `create` file, as create_store()
 * does: the write must be UUID_STRING_LEN bytes or one more (the newline
 * `echo` adds), and only the first 36 are parsed by guid_parse(). The result
 * is lower-case, as the device name (`%pUl`) is, so "ABC..." and "abc..."
 * name the same mdev.
 */
export function parseMdevUuid(text: string, syscall = 'mdev_create'): string {
  if (text.length < UUID_STRING_LEN || text.length > UUID_STRING_LEN + 1)
    fail('EINVAL', `a UUID is ${UUID_STRING_LEN} characters, got ${text.length}`, syscall);
  const s = text.slice(0, UUID_STRING_LEN);
  if (!uuidIsValid(s)) fail('EINVAL', `${JSON.stringify(s)} is not a UUID`, syscall);
  return s.toLowerCase();
}
