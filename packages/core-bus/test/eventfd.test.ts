import { errnoOf } from '@tsvirt/test-utils';
import { describe, expect, it } from 'vitest';
import { EFD_SEMAPHORE, EVENTFD_MAX, EventFd } from '../src/index.ts';

describe('EventFd', () => {
  it('adds on write and drains on read', () => {
    const fd = new EventFd();
    fd.write(3);
    fd.write(4n);
    expect(fd.value).toBe(7n);
    expect(fd.read()).toBe(7n);
    expect(fd.value).toBe(0n);
    expect(errnoOf(() => fd.read())).toBe('EAGAIN');
  });

  it('takes one per read in semaphore mode', () => {
    const fd = new EventFd(2n, EFD_SEMAPHORE);
    expect(fd.read()).toBe(1n);
    expect(fd.read()).toBe(1n);
    expect(errnoOf(() => fd.read())).toBe('EAGAIN');
  });

  it('refuses the all-ones value and overflow, keeping the count', () => {
    const fd = new EventFd(EVENTFD_MAX - 1n);
    expect(errnoOf(() => fd.write(0xffff_ffff_ffff_ffffn))).toBe('EINVAL');
    expect(errnoOf(() => fd.write(2))).toBe('EAGAIN');
    expect(fd.value).toBe(EVENTFD_MAX - 1n);
    fd.write(1);
    expect(fd.value).toBe(EVENTFD_MAX);
    expect(errnoOf(() => new EventFd(0n, 0x1))).toBeUndefined();
    expect(errnoOf(() => new EventFd(0n, 0x2))).toBe('EINVAL');
  });

  it('wakes listeners on each write, and once more on close', () => {
    const fd = new EventFd();
    const seen: string[] = [];
    const off = fd.listen((f) => seen.push(f.closed ? 'hup' : `v${f.value}`));
    fd.write(1);
    fd.signal();
    expect(seen).toEqual(['v1', 'v2']);
    off();
    fd.write(1);
    expect(seen).toHaveLength(2);
    fd.listen((f) => seen.push(f.closed ? 'hup' : 'x'));
    fd.close();
    expect(seen).toEqual(['v1', 'v2', 'hup']);
    expect(fd.listenerCount).toBe(0);
    expect(errnoOf(() => fd.write(1))).toBe('EBADF');
  });
});
