import { describe, expect, it } from 'vitest';
import { EventFd, FdTable, type KernelFile } from '../src/index.ts';

class Counted implements KernelFile {
  released = 0;
  release() {
    this.released++;
  }
}

describe('FdTable', () => {
  it('hands out the lowest free descriptor', () => {
    const t = new FdTable();
    const a = t.install(new Counted());
    const b = t.install(new Counted());
    expect([a, b]).toEqual([0, 1]);
    t.close(a);
    expect(t.install(new Counted())).toBe(0);
  });

  it('releases a file when its last descriptor closes', () => {
    const t = new FdTable();
    const f = new Counted();
    const fd = t.install(f);
    const fd2 = t.dup(fd);
    t.close(fd);
    expect(f.released).toBe(0);
    t.close(fd2);
    expect(f.released).toBe(1);
  });

  it('EBADF for closed, negative or unknown descriptors; EINVAL for the wrong kind', () => {
    const t = new FdTable();
    const fd = t.install(new Counted());
    expect(() => t.get(7)).toThrow(/EBADF/);
    expect(() => t.get(-1)).toThrow(/EBADF/);
    expect(() => t.getAs(fd, EventFd)).toThrow(/EINVAL/);
    t.close(fd);
    expect(() => t.close(fd)).toThrow(/EBADF/);
  });

  it('closeAll releases everything (process exit)', () => {
    const t = new FdTable();
    const files = [new Counted(), new Counted()];
    for (const f of files) t.install(f);
    t.closeAll();
    expect(files.map((f) => f.released)).toEqual([1, 1]);
    expect(t.openCount).toBe(0);
  });
});
