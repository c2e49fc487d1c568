import { jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { Reflector } from '@nestjs/core';

import { SseEventError } from '../sse.exceptions.js';
import type { SseService } from '../sse.service.js';
import { formatEventName } from './sse-bridge.utils.js';
import { SseBridgeMetadataAccessor } from './sse-bridge-metadata.accessor.js';
import { resolveSseBridgeOptions } from './sse-bridge-options.resolver.js';
import { type SseAudience, SseEventMapping, type SseTopicAudience } from './sse-event-mapping.decorator.js';
import { SsePushDispatcher, type SsePushLabel } from './sse-push.dispatcher.js';

interface SseEvent {
  type: string;
  data: unknown;
}
type Sent = [kind: string, audience: unknown, event: SseEvent];

/** Records calls like SseService would receive them, and rejects what it would reject. */
function fakeSse(sent: Sent[]): SseService {
  const check = (event: SseEvent) => {
    try {
      JSON.stringify(event.data);
    } catch (err) {
      throw new SseEventError(`SSE event data is not JSON-serialisable: ${(err as Error).message}`);
    }
  };
  return {
    sendToUser: (userId: string, event: SseEvent) => (check(event), sent.push(['user', userId, event]), 1),
    sendToUsers: (userIds: Iterable<string>, event: SseEvent) => (
      check(event),
      sent.push(['users', [...new Set(userIds)], event]),
      1
    ),
    broadcast: (event: SseEvent) => (check(event), sent.push(['all', null, event]), 1),
    publish: (topic: string, event: SseEvent) => (check(event), sent.push(['topic', topic, event]), 1),
  } as unknown as SseService;
}

const LABEL: SsePushLabel = { event: 'order.placed', source: 'Listener.handle', type: 'notification' };
const accessor = new SseBridgeMetadataAccessor(new Reflector());

@SseEventMapping<Mapped>({ type: 'update', to: (e) => e.to as SseAudience, data: (e) => ({ n: e.n }) })
class Mapped {
  constructor(
    public to: unknown,
    public n: unknown = 1,
  ) {}
}

@SseEventMapping<TopicMapped>({
  type: 'update',
  to: { topic: (e) => e.topic as SseTopicAudience },
  data: (e) => ({ n: e.n }),
})
class TopicMapped {
  constructor(
    public topic: unknown,
    public n: unknown = 1,
  ) {}
}

@SseEventMapping<Throwing>({
  type: 'update',
  to: 'all',
  data: () => {
    throw new Error('projection failed');
  },
})
class Throwing {}

const flush = () => new Promise((resolve) => setImmediate(resolve));

describe('SsePushDispatcher', () => {
  let bridge: SsePushDispatcher;
  let sent: Sent[];
  let errors: string[];

  beforeEach(() => {
    sent = [];
    errors = [];
    jest.spyOn(Logger.prototype, 'error').mockImplementation(function (message: unknown) {
      errors.push(String(message));
    });
    bridge = new SsePushDispatcher(fakeSse(sent), resolveSseBridgeOptions({ handlerTimeoutMs: 200 }));
  });
  afterEach(() => {
    bridge.close();
    jest.restoreAllMocks();
  });

  const run = (result: unknown, label = LABEL) => bridge.runHandler(label, () => result);
  /** What the loader's `onAny` listener does with an emitted payload. */
  const emitted = (event: unknown, payload: unknown) => {
    const mapping = accessor.getEventMapping(payload);
    if (mapping) bridge.pushMapped(formatEventName(event), mapping, payload as object);
  };

  it('refuses to exist without SseService, saying what is missing', () => {
    expect(() => new SsePushDispatcher(undefined, resolveSseBridgeOptions())).toThrow(
      'SseBridgeModule needs SseService: import SseModule.forRoot() in the app',
    );
  });

  it('pushes every target shape with the decorator type', () => {
    run({ userId: 'u1', data: { a: 1 } });
    run({ userId: 42, data: 'n' });
    run({ userIds: new Set(['u2', 'u3']), data: null });
    run({ broadcast: true, data: [1] });
    run([{ userId: 'u4', data: 1 }, null, { userIds: ['u5', 'u5'], data: 2 }]);
    run(null);
    run(undefined);
    run({ userIds: [], data: 'nobody' });
    run({ topic: 'orders/123', data: { status: 'shipped' } });
    expect(sent).toEqual([
      ['user', 'u1', { type: 'notification', data: { a: 1 } }],
      ['user', '42', { type: 'notification', data: 'n' }],
      ['users', ['u2', 'u3'], { type: 'notification', data: null }],
      ['all', null, { type: 'notification', data: [1] }],
      ['user', 'u4', { type: 'notification', data: 1 }],
      ['users', ['u5'], { type: 'notification', data: 2 }],
      ['topic', 'orders/123', { type: 'notification', data: { status: 'shipped' } }],
    ]);
    expect(errors).toEqual([]);
  });

  it('returns what the handler returned, and calls it once, at once', async () => {
    const handler = jest.fn(() => ({ userId: 'u', data: { a: 1 } }));
    const result = bridge.runHandler(LABEL, handler);
    expect(handler).toHaveBeenCalledTimes(1);
    expect(result).toEqual({ userId: 'u', data: { a: 1 } });
    await expect(bridge.runHandler(LABEL, async () => ({ broadcast: true, data: 1 }))).resolves.toEqual({
      broadcast: true,
      data: 1,
    });
  });

  it.each<[string, unknown, RegExp]>([
    ['no audience', { data: 1 }, /no audience/],
    ['an empty user id', { userId: '', data: 1 }, /no audience: userId/],
    [
      'a user id of 257 characters',
      { userId: 'u'.repeat(257), data: 1 },
      /no audience: userId is not usable \(user id must be a non-empty string of at most 256 characters, or a finite number\)$/,
    ],
    ['an infinite user id', { userId: Infinity, data: 1 }, /no audience: userId/],
    [
      'a 257-character id in a list',
      { userIds: ['ok', 'u'.repeat(257)], data: 1 },
      /a user id in the list is not usable/,
    ],
    ['a list that is not one', { userIds: 'u1', data: 1 }, /no audience/],
    ['a bad id in the list', { userIds: ['ok', null], data: 1 }, /a user id in the list/],
    ['broadcast that is not true', { broadcast: 'yes', data: 1 }, /broadcast must be `true`/],
    [
      'an empty topic',
      { topic: '', data: 1 },
      /no audience: topic is not usable \(SSE topic must be a non-empty string\)$/,
    ],
    [
      'a topic with an empty segment',
      { topic: 'orders//1', data: 1 },
      /no audience: topic is not usable \(SSE topic "orders\/\/1" is not allowed/,
    ],
    ['a topic of 201 characters', { topic: 't'.repeat(201), data: 1 }, /SSE topic is longer than 200 characters/],
    ['a topic that is not a string', { topic: ['orders/1'], data: 1 }, /no audience: topic is not usable/],
    [
      'a topic and a user id',
      { topic: 'orders/1', userId: 'u', data: 1 },
      /ambiguous audience: the target has userId and topic; give exactly one$/,
    ],
    [
      'broadcast and a user id',
      { broadcast: true, userId: 'u', data: 1 },
      /ambiguous audience: the target has userId and broadcast/,
    ],
    [
      'a user id and a list',
      { userId: 'u', userIds: ['v'], data: 1 },
      /ambiguous audience: the target has userId and userIds/,
    ],
    ['no data', { userId: 'u' }, /no data/],
    ['a Promise as data', { userId: 'u', data: Promise.resolve(1) }, /data is a Promise/],
    [
      'data that is not JSON',
      { userId: 'u', data: { big: 1n } },
      /failed: SseService refused it: SseEventError: SSE event data is not JSON-serialisable/,
    ],
    ['a string', 'hello', /returned a string/],
  ])('logs %s with the event name, and still pushes the next target', (_, bad, reason) => {
    run([bad, { userId: 'fine', data: 'ok' }]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^SSE push 'notification' for event 'order\.placed' from Listener\.handle failed: /);
    expect(errors[0]).toMatch(reason);
    expect(sent).toEqual([['user', 'fine', { type: 'notification', data: 'ok' }]]);
  });

  it('logs a handler that throws or rejects, never throws, and resolves to undefined', async () => {
    const thrown = bridge.runHandler(LABEL, () => {
      throw new Error('sync boom');
    });
    expect(thrown).toBeUndefined();
    const shipped = { ...LABEL, event: 'order.shipped' };
    await expect(bridge.runHandler(shipped, () => Promise.reject(new Error('async boom')))).resolves.toBeUndefined();
    expect(errors).toEqual([
      "SSE push 'notification' for event 'order.placed' from Listener.handle failed: the handler threw: Error: sync boom",
      "SSE push 'notification' for event 'order.shipped' from Listener.handle failed: the handler rejected: Error: async boom",
    ]);
  });

  it('keeps emit order when an async handler is slower than a later sync one', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    void bridge.runHandler(LABEL, async () => {
      await gate;
      return { userId: 'u', data: 1 };
    });
    run({ userId: 'u', data: 2 });
    emitted('x', new Mapped('u', 3));
    expect(sent).toEqual([]);
    expect(bridge.pending).toBe(3);
    release();
    await flush();
    expect(sent.map(([, , e]) => e.data)).toEqual([1, 2, { n: 3 }]);
  });

  it('drops a handler that never settles after the timeout and lets the rest through', async () => {
    void bridge.runHandler(LABEL, () => new Promise(() => {}));
    run({ userId: 'u', data: 'after' });
    expect(sent).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 260));
    expect(sent).toEqual([['user', 'u', { type: 'notification', data: 'after' }]]);
    expect(errors).toEqual([expect.stringMatching(/for event 'order\.placed' .* did not settle within 200 ms/)]);
  });

  it('fixes a sync handler’s audience when it returns, even if its push waits behind a slower one', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    void bridge.runHandler(LABEL, () => gate.then(() => null));
    const ids = ['u1'];
    run({ userIds: ids, data: 'x' });
    run({ data: 'no audience' });
    expect(errors).toEqual([expect.stringMatching(/no audience/)]);
    ids.push('u2');
    release();
    await flush();
    expect(sent).toEqual([['users', ['u1'], { type: 'notification', data: 'x' }]]);
  });

  it('pushes mapped event classes and ignores every other payload', () => {
    emitted('thing.happened', new Mapped('u1', 7));
    emitted(['ns', 'thing'], new Mapped(['u2', 3]));
    emitted('plain', { to: 'u1', n: 1 });
    emitted('nothing', undefined);
    expect(sent).toEqual([
      ['user', 'u1', { type: 'update', data: { n: 7 } }],
      ['users', ['u2', '3'], { type: 'update', data: { n: 1 } }],
    ]);
  });

  it('publishes a mapping with to: { topic } to each topic it names, once each', () => {
    emitted('order.shipped', new TopicMapped('orders/1', 1));
    emitted('order.shipped', new TopicMapped(new Set(['orders/2', 'tenants/acme/feed']), 2));
    emitted('order.shipped', new TopicMapped(['orders/3', 'orders/3'], 3));
    emitted('order.shipped', new TopicMapped([], 4));
    expect(sent).toEqual([
      ['topic', 'orders/1', { type: 'update', data: { n: 1 } }],
      ['topic', 'orders/2', { type: 'update', data: { n: 2 } }],
      ['topic', 'tenants/acme/feed', { type: 'update', data: { n: 2 } }],
      ['topic', 'orders/3', { type: 'update', data: { n: 3 } }],
    ]);
    expect(errors).toEqual([]);
  });

  it('projects a mapped event when it is emitted, not when its push finally leaves', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    void bridge.runHandler(LABEL, () => gate.then(() => null));
    const event = new Mapped('u1', 'before');
    emitted('x', event);
    event.n = 'after';
    event.to = 'someone-else';
    release();
    await flush();
    expect(sent).toEqual([['user', 'u1', { type: 'update', data: { n: 'before' } }]]);
  });

  it.each<[string, object, RegExp]>([
    ['no audience', new Mapped(undefined), /no audience: 'to' returned nothing/],
    ['an empty user id', new Mapped(''), /no audience/],
    ['a user id of 257 characters', new Mapped('u'.repeat(257)), /no audience: 'to' returned an unusable user id/],
    ['a projection that throws', new Throwing(), /the mapping threw: Error: projection failed/],
    ['no topic', new TopicMapped(null), /no audience: 'to\.topic' returned nothing/],
    [
      'a bad topic',
      new TopicMapped('orders/1/'),
      /no audience: 'to\.topic' is not usable \(SSE topic "orders\/1\/" is not allowed/,
    ],
    ['a topic that is a number', new TopicMapped(123), /'to\.topic' must return a topic name or a list of them/],
    [
      'a bad topic in a list',
      new TopicMapped(['orders/1', 'a b']),
      /a topic in the list from 'to\.topic' is not usable/,
    ],
    ['data that is not JSON', new Mapped('u', 1n), /not JSON-serialisable/],
  ])('logs a class mapping with %s, naming the event and the class', (_, payload, reason) => {
    emitted('thing.failed', payload);
    emitted('thing.ok', new Mapped('u9'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(
      /^SSE push 'update' for event 'thing\.failed' from @SseEventMapping\((Mapped|TopicMapped|Throwing)\) failed: /,
    );
    expect(errors[0]).toMatch(reason);
    expect(sent).toEqual([['user', 'u9', { type: 'update', data: { n: 1 } }]]);
  });

  it('does nothing once closed', async () => {
    bridge.close();
    run({ userId: 'u', data: 1 });
    emitted('x', new Mapped('u'));
    expect(sent).toEqual([]);
  });
});
