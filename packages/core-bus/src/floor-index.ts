/**
 * Index of the last element of the ascending `sorted` that is <= key, or -1:
 * the range lookup behind an address bus (__kvm_io_bus_get_first_dev()
 * sorts its ranges for it) and KVM's memslot search (search_memslots()).
 */
export function floorIndex(sorted: readonly number[], key: number): number {
  let lo = 0;
  let hi = sorted.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! <= key) {
      found = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return found;
}
