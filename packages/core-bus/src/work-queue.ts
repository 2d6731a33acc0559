import { fail } from './kernel-error.ts';

/** DI token of the host's WorkQueue (the model's system_wq). */
export const WORK_QUEUE = Symbol.for('core-bus.WorkQueue');

/**
 * A work item (struct work_struct): `run()` is its work function. It should
 * do a bounded amount of work; to continue later it queues itself again,
 * which works from inside `run()` because the item stops being pending just
 * before its function is called (as process_one_work() clears PENDING).
 */
export interface WorkStruct {
  /** The work function. */
  run(): void;
}

/**
 * A host workqueue, as the kernel's: devices queue work from their
 * interrupt or register paths (queue_work()) and return at once; the work
 * runs later, outside the caller, in the order it was queued. Nothing here
 * runs by itself: the VMM's run loop calls `runPending()` between vCPU
 * quanta (a worker thread's turn), and library users call `drain()` to run
 * everything to completion.
 */
export class WorkQueue {
  private queue: WorkStruct[] = [];
  private readonly pending = new Set<WorkStruct>();
  /** Work functions called since creation. */
  executed = 0;

  /** queue_work(): false (and nothing changes) when the item is already pending. */
  queueWork(work: WorkStruct): boolean {
    if (typeof work?.run !== 'function') fail('EINVAL', 'not a work item', 'queue_work');
    if (this.pending.has(work)) return false;
    this.pending.add(work);
    this.queue.push(work);
    return true;
  }

  /** cancel_work(): take a pending item off the queue; true if it was pending. */
  cancelWork(work: WorkStruct): boolean {
    if (!this.pending.delete(work)) return false;
    this.queue = this.queue.filter((w) => w !== work);
    return true;
  }

  /** work_pending(). */
  workPending(work: WorkStruct): boolean {
    return this.pending.has(work);
  }

  /** Items waiting to run. */
  get size(): number {
    return this.pending.size;
  }

  /**
   * One turn of the worker: run every item pending now, once each, in
   * queue order. Items queued meanwhile (a work re-queueing itself
   * included) wait for the next turn, so one turn is bounded by the work
   * functions' own bounds. Returns how many ran.
   */
  runPending(): number {
    const batch = this.queue;
    this.queue = [];
    let ran = 0;
    for (const w of batch) {
      // Cancelled by an earlier item of this batch.
      if (!this.pending.delete(w)) continue;
      ran++;
      this.executed++;
      w.run();
    }
    return ran;
  }

  /**
   * drain_workqueue(): turns until nothing is pending, chains of self
   * re-queueing work included. `maxTurns` bounds a chain that never ends:
   * then EBUSY, with the rest still queued. Returns the turns taken.
   */
  drain(maxTurns = Number.POSITIVE_INFINITY): number {
    let turns = 0;
    while (this.pending.size > 0) {
      if (turns >= maxTurns) fail('EBUSY', `work still pending after ${turns} turns`, 'drain_workqueue');
      this.runPending();
      turns++;
    }
    return turns;
  }
}
