import { ByteReader, ByteWriter } from '../byte-io.ts';
import type { SectionHandler } from '../section.ts';
import { MigrationError } from '../stream.ts';

/**
 * QEMU's "globalstate" section: the run state the source was in before the
 * migration stopped it. A destination starts the guest only if the source
 * was running; a VM saved while paused (`stop`, then `migrate`) is
 * restored paused, for `cont`.
 */
export const globalstateSection: SectionHandler = {
  id: 'globalstate',
  version: 1,
  instances: () => [0],
  save: (_m, w, ctx) => w.section('globalstate', 0, 1, new ByteWriter().str(ctx.runState).finish()),
  load(_m, s, ctx) {
    const r = new ByteReader(s.payload, "section 'globalstate'");
    const state = r.str();
    r.end();
    if (state !== 'running' && state !== 'paused') throw new MigrationError(`unknown run state '${state}'`);
    ctx.runState = state;
  },
};
