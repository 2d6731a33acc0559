import { describe, expect, it } from 'vitest';
import { ERRNO, errnoName, fail, KernelError } from '../src/index.ts';

describe('KernelError', () => {
  it('is shaped like a Node SystemError', () => {
    const e = new KernelError('EINVAL', 'size is zero', 'VFIO_IOMMU_MAP_DMA');
    expect(e).toBeInstanceOf(Error);
    expect(e.code).toBe('EINVAL');
    expect(e.errno).toBe(22);
    expect(e.ret).toBe(-22);
    expect(e.syscall).toBe('VFIO_IOMMU_MAP_DMA');
    expect(e.message).toBe('VFIO_IOMMU_MAP_DMA: EINVAL (Invalid argument): size is zero');
    expect(e.detail).toBe('size is zero');
    expect(new KernelError('EIO').detail).toBeUndefined();
  });

  it('fail() throws it', () => {
    expect(() => fail('EEXIST', 'overlap')).toThrow(/EEXIST.*overlap/);
  });

  it('carries the Linux errno numbers', () => {
    expect(ERRNO).toMatchObject({
      EPERM: 1,
      ENOENT: 2,
      EBADF: 9,
      EAGAIN: 11,
      ENOMEM: 12,
      EACCES: 13,
      EFAULT: 14,
    });
    expect(ERRNO).toMatchObject({ EBUSY: 16, EEXIST: 17, ENODEV: 19, EINVAL: 22, ENOTTY: 25, ENOSPC: 28 });
    expect(ERRNO).toMatchObject({ ENOSYS: 38, ELOOP: 40, EOVERFLOW: 75, EUSERS: 87, EOPNOTSUPP: 95 });
    expect(errnoName(87)).toBe('EUSERS');
    expect(errnoName(41)).toBeUndefined(); // 41 is unused in Linux
  });
});
