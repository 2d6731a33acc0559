import { defineModule, type VmmModule } from '@tsvirt/core-bus';
import { MmStruct, type MmStructOptions } from './mm-struct.ts';
import { HostPhysMemory, type HostPhysMemoryOptions } from './phys-memory.ts';
import { HOST_MM, HOST_PHYS_MEMORY } from './tokens.ts';

/** A host-scope module with the given sizes: the host's frames and the VMM process's mm. */
export function createHostMmModule(
  opts: { phys?: HostPhysMemoryOptions; mm?: MmStructOptions } = {},
): VmmModule {
  return defineModule({
    name: 'host-mm',
    scope: 'host',
    register(c) {
      const phys = new HostPhysMemory(opts.phys);
      c.registerInstance(HOST_PHYS_MEMORY, phys);
      c.registerInstance(HOST_MM, new MmStruct(phys, opts.mm));
    },
  });
}

/** host-mm with the defaults: 16 GiB of host frames, a 47-bit address space, 8 MiB RLIMIT_MEMLOCK. */
export const hostMmModule = createHostMmModule();
