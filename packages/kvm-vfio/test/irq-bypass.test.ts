import { EventFd } from '@tsvirt/core-bus';
import type { IrqBypassConsumer, IrqBypassProducer } from '@tsvirt/kvm-core';
import { describe, expect, it } from 'vitest';
import { EventfdIrqProducer, IrqBypass, irqBypass } from '../src/index.ts';

const code = (c: string) => expect.objectContaining({ code: c });

function prod(token: EventFd, log: string[], name = 'P', failAdd = false): IrqBypassProducer {
  return {
    token,
    irq: 42,
    addConsumer: (c) => {
      log.push(`${name}.add_consumer(${(c as { name?: string }).name ?? '?'})`);
      if (failAdd) throw Object.assign(new Error('p refuses'), { code: 'EINVAL' });
    },
    delConsumer: () => log.push(`${name}.del_consumer`),
    stop: () => log.push(`${name}.stop`),
    start: () => log.push(`${name}.start`),
  };
}

function cons(
  token: EventFd,
  log: string[],
  name = 'C',
  failAdd = false,
): IrqBypassConsumer & { name: string } {
  return {
    name,
    token,
    addProducer: (p) => {
      log.push(`${name}.add_producer(${p.irq})`);
      if (failAdd) throw Object.assign(new Error('c refuses'), { code: 'EINVAL' });
    },
    delProducer: () => log.push(`${name}.del_producer`),
    stop: () => log.push(`${name}.stop`),
    start: () => log.push(`${name}.start`),
  };
}

describe('IRQ bypass manager (irqbypass.c)', () => {
  it('connects a producer and consumer with the same token in upstream order, whichever registers first', () => {
    for (const producerFirst of [true, false]) {
      const m = new IrqBypass();
      const t = new EventFd();
      const log: string[] = [];
      const p = prod(t, log);
      const c = cons(t, log);
      if (producerFirst) m.registerProducer(p);
      else m.registerConsumer(c);
      expect(log).toEqual([]);
      if (producerFirst) m.registerConsumer(c);
      else m.registerProducer(p);
      expect(log).toEqual([
        'P.stop',
        'C.stop',
        'P.add_consumer(C)',
        'C.add_producer(42)',
        'C.start',
        'P.start',
      ]);
      expect(m.connectedConsumer(t)).toBe(c);
      expect(m.connections).toBe(1);
    }
  });

  it('disconnects in upstream order when either side leaves; unknown unregistrations are ignored', () => {
    const m = new IrqBypass();
    const t = new EventFd();
    const log: string[] = [];
    const p = prod(t, log);
    const c = cons(t, log);
    m.registerProducer(p);
    m.registerConsumer(c);
    log.length = 0;
    m.unregisterConsumer(c);
    expect(log).toEqual(['P.stop', 'C.stop', 'C.del_producer', 'P.del_consumer', 'C.start', 'P.start']);
    expect(m.connections).toBe(0);
    expect(m.consumers).toEqual([]);
    m.registerConsumer(c);
    log.length = 0;
    m.unregisterProducer(p);
    expect(log).toEqual(['P.stop', 'C.stop', 'C.del_producer', 'P.del_consumer', 'C.start', 'P.start']);
    log.length = 0;
    m.unregisterProducer(p);
    m.unregisterConsumer(cons(t, log, 'X'));
    expect(log).toEqual([]);
    expect(m.consumers).toEqual([c]);
  });

  it('tokens that differ never connect', () => {
    const m = new IrqBypass();
    const log: string[] = [];
    m.registerProducer(prod(new EventFd(), log));
    m.registerConsumer(cons(new EventFd(), log));
    expect(log).toEqual([]);
    expect(m.connections).toBe(0);
  });

  it('one of each per token: EBUSY for a second producer or consumer, and for re-registering; state unchanged', () => {
    const m = new IrqBypass();
    const t = new EventFd();
    const log: string[] = [];
    const p = prod(t, log);
    const c = cons(t, log);
    m.registerProducer(p);
    m.registerConsumer(c);
    log.length = 0;
    expect(() => m.registerProducer(prod(t, log, 'P2'))).toThrow(code('EBUSY'));
    expect(() => m.registerProducer(p)).toThrow(code('EBUSY'));
    expect(() => m.registerConsumer(cons(t, log, 'C2'))).toThrow(code('EBUSY'));
    expect(() => m.registerConsumer(c)).toThrow(code('EBUSY'));
    expect(log).toEqual([]);
    expect([m.producers, m.consumers, m.connectedConsumer(t)]).toEqual([[p], [c], c]);
  });

  it('EINVAL for a missing token or a consumer without add/del_producer', () => {
    const m = new IrqBypass();
    expect(() => m.registerProducer({ irq: 1 } as unknown as IrqBypassProducer)).toThrow(code('EINVAL'));
    expect(() =>
      m.registerConsumer({ addProducer() {}, delProducer() {} } as unknown as IrqBypassConsumer),
    ).toThrow(code('EINVAL'));
    expect(() => m.registerConsumer({ token: new EventFd() } as unknown as IrqBypassConsumer)).toThrow(
      code('EINVAL'),
    );
    expect([m.producers.length, m.consumers.length]).toEqual([0, 0]);
  });

  it('a refused connect fails the registration, undoes add_consumer, and still restarts both ends', () => {
    const m = new IrqBypass();
    const t = new EventFd();
    const log: string[] = [];
    const p = prod(t, log);
    m.registerProducer(p);
    expect(() => m.registerConsumer(cons(t, log, 'C', true))).toThrow(code('EINVAL'));
    expect(log).toEqual([
      'P.stop',
      'C.stop',
      'P.add_consumer(C)',
      'C.add_producer(42)',
      'P.del_consumer',
      'C.start',
      'P.start',
    ]);
    expect([m.consumers.length, m.connections]).toEqual([0, 0]);
    // a producer that refuses: the consumer's add_producer is never called
    const m2 = new IrqBypass();
    const log2: string[] = [];
    const c = cons(t, log2);
    m2.registerConsumer(c);
    expect(() => m2.registerProducer(prod(t, log2, 'P', true))).toThrow(code('EINVAL'));
    expect(log2).toEqual(['P.stop', 'C.stop', 'P.add_consumer(C)', 'C.start', 'P.start']);
    expect([m2.producers.length, m2.consumers, m2.connections]).toEqual([0, [c], 0]);
  });

  it('there is one package-level manager', () => {
    expect(irqBypass).toBeInstanceOf(IrqBypass);
  });
});

describe('EventfdIrqProducer', () => {
  it('signals the eventfd until connected to a direct consumer, then injects; stop holds interrupts until start', () => {
    const t = new EventFd();
    const p = new EventfdIrqProducer(t, 7);
    let injected = 0;
    const c: IrqBypassConsumer & { inject(): void } = {
      token: t,
      addProducer() {},
      delProducer() {},
      inject: () => injected++,
    };
    p.fire();
    expect([t.value, injected]).toEqual([1n, 0]);
    const m = new IrqBypass();
    m.registerProducer(p);
    m.registerConsumer(c);
    expect(p.connected).toBe(true);
    p.fire();
    expect([t.value, injected]).toEqual([1n, 1]);
    p.stop();
    p.fire();
    p.fire();
    expect(injected).toBe(1);
    p.start();
    expect(injected).toBe(3);
    m.unregisterConsumer(c);
    p.fire();
    expect([t.value, injected]).toEqual([2n, 3]);
  });
});
