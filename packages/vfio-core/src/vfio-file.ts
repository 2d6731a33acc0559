import { type FdTable, fail, type KernelFile } from '@tsvirt/core-bus';

/**
 * A struct file of VFIO: reference counted as f_count. The descriptor table
 * that installs a new file holds the first reference; anyone else who keeps
 * the file (kvm-vfio holding a group, as kvm_vfio_file_add() does with
 * fget()) takes one with `get()` and drops it with `put()`. The file's
 * release runs once, when the last reference goes (__fput()).
 */
export abstract class VfioFile implements KernelFile {
  private fcount = 1;

  /** f_count: how many references keep this file open. */
  get fileCount(): number {
    return this.fcount;
  }

  /** Whether the last reference was dropped and the file released. */
  get isReleased(): boolean {
    return this.fcount === 0;
  }

  /** get_file(): take a reference (EBADF once the file is released). */
  get(): this {
    if (this.fcount === 0) fail('EBADF', 'file already released');
    this.fcount++;
    return this;
  }

  /** fput(): drop a reference; the last one releases the file. */
  put(): void {
    if (this.fcount === 0) return;
    if (--this.fcount === 0) this.releaseFile();
  }

  /** The descriptor table closed its last descriptor for this file: its reference goes. */
  release(): void {
    this.put();
  }

  /** file_operations->release. */
  protected abstract releaseFile(): void;

  /**
   * unlocked_ioctl. `fds` is the calling process's descriptor table
   * (current->files): fd arguments are resolved there and new fds land
   * there; it defaults to the table the file was first installed in.
   */
  abstract ioctl(cmd: number, arg?: unknown, fds?: FdTable): number;
}
