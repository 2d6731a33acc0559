import { errnoOf } from '@tsvirt/test-utils';
import { describe, expect, it } from 'vitest';
import { coreBusModule, ModuleLoader, WORK_QUEUE, WorkQueue, type WorkStruct } from '../src/index.ts';

/** A work item that logs each call and re-queues itself `more` times. */
function chain(wq: WorkQueue, name: string, log: string[], more: number): WorkStruct {
  const w: WorkStruct = {
    run() {
      log.push(name);
      if (more-- > 0) expect(wq.queueWork(w)).toBe(true);
    },
  };
  return w;
}

describe('WorkQueue (the host workqueue)', () => {
  it('queue_work() only queues: nothing runs until a turn, then in queue order', () => {
    const wq = new WorkQueue();
    const log: string[] = [];
    const a = chain(wq, 'a', log, 0);
    const b = chain(wq, 'b', log, 0);
    expect(wq.queueWork(a)).toBe(true);
    expect(wq.queueWork(b)).toBe(true);
    expect(log).toEqual([]);
    expect([wq.size, wq.workPending(a)]).toEqual([2, true]);
    expect(wq.runPending()).toBe(2);
    expect(log).toEqual(['a', 'b']);
    expect([wq.size, wq.workPending(a), wq.executed]).toEqual([0, false, 2]);
  });

  it('queueing a pending item is false and queues it once', () => {
    const wq = new WorkQueue();
    const log: string[] = [];
    const a = chain(wq, 'a', log, 0);
    wq.queueWork(a);
    expect(wq.queueWork(a)).toBe(false);
    wq.runPending();
    expect(log).toEqual(['a']);
  });

  it('a turn runs each item once; work it re-queues waits for the next turn', () => {
    const wq = new WorkQueue();
    const log: string[] = [];
    wq.queueWork(chain(wq, 'a', log, 2));
    wq.queueWork(chain(wq, 'b', log, 0));
    expect(wq.runPending()).toBe(2);
    expect(log).toEqual(['a', 'b']);
    expect(wq.size).toBe(1);
    expect(wq.drain()).toBe(2);
    expect(log).toEqual(['a', 'b', 'a', 'a']);
    expect(wq.runPending()).toBe(0);
  });

  it('cancel_work() takes a pending item off, even from inside a turn', () => {
    const wq = new WorkQueue();
    const log: string[] = [];
    const b = chain(wq, 'b', log, 0);
    const a: WorkStruct = {
      run() {
        log.push('a');
        expect(wq.cancelWork(b)).toBe(true);
      },
    };
    wq.queueWork(a);
    wq.queueWork(b);
    expect(wq.runPending()).toBe(1);
    expect(log).toEqual(['a']);
    expect(wq.cancelWork(b)).toBe(false);
    expect(wq.size).toBe(0);
  });

  it('drain() of a chain that never ends is EBUSY after maxTurns, the item still queued', () => {
    const wq = new WorkQueue();
    const log: string[] = [];
    const w = chain(wq, 'w', log, Number.POSITIVE_INFINITY);
    wq.queueWork(w);
    expect(errnoOf(() => wq.drain(3))).toBe('EBUSY');
    expect(log.length).toBe(3);
    expect(wq.workPending(w)).toBe(true);
  });

  it('something that is not a work item is EINVAL and queues nothing', () => {
    const wq = new WorkQueue();
    expect(errnoOf(() => wq.queueWork({} as WorkStruct))).toBe('EINVAL');
    expect(wq.size).toBe(0);
  });

  it('core-bus registers one per host container', () => {
    const a = new ModuleLoader();
    a.loadHost([coreBusModule]);
    const b = new ModuleLoader();
    b.loadHost([coreBusModule]);
    expect(a.host.resolve(WORK_QUEUE)).toBeInstanceOf(WorkQueue);
    expect(a.host.resolve(WORK_QUEUE)).not.toBe(b.host.resolve(WORK_QUEUE));
  });
});
