/** DI tokens for host-mm's services. */
export const HOST_PHYS_MEMORY = Symbol.for('host-mm.HostPhysMemory');
/** The VMM process's address space (the `current->mm` of VFIO and KVM ioctls). */
export const HOST_MM = Symbol.for('host-mm.MmStruct');
