import { jest } from '@jest/globals';
import { SseModule } from '@nest-sse/server';
import { SseBridgeModule, SseEventMapping, SsePush, type SsePushTarget } from '@nest-sse/server/bridge';
import { Injectable, Logger, Module } from '@nestjs/common';
import { EventEmitter2, EventEmitterModule } from '@nestjs/event-emitter';
import { Test } from '@nestjs/testing';

import { listen, type RunningApp, TEST_SECRET } from './support/demo-app.js';
import { sleep, StreamClient } from './support/sse-client.js';
import { connectUser } from './support/streams.js';

interface Step {
  userId: string;
  seq: number;
  delayMs?: number;
}

@SseEventMapping<MappedStep>({ type: 'notification', to: (e) => e.userId, data: (e) => ({ seq: e.seq, via: 'class' }) })
class MappedStep {
  constructor(
    readonly userId: string,
    readonly seq: number,
  ) {}
}

@Injectable()
class StepListener {
  @SsePush('step.slow', { type: 'notification' })
  async slow(e: Step): Promise<SsePushTarget> {
    await sleep(e.delayMs ?? 0);
    return { userId: e.userId, data: { seq: e.seq, via: 'async' } };
  }

  @SsePush('step.fast', { type: 'notification' })
  fast(e: Step): SsePushTarget {
    return { userId: e.userId, data: { seq: e.seq, via: 'sync' } };
  }

  @SsePush('step.stuck', { type: 'notification' })
  stuck(): Promise<SsePushTarget> {
    return new Promise(() => {});
  }
}

@Module({ providers: [StepListener] })
class StepModule {}

describe('bridge ordering', () => {
  let server: RunningApp;
  let events: EventEmitter2;
  const clients: StreamClient[] = [];
  let errors: string[];

  beforeEach(async () => {
    errors = [];
    jest.spyOn(Logger.prototype, 'error').mockImplementation(function (message: unknown) {
      errors.push(String(message));
    });
    const moduleRef = await Test.createTestingModule({
      imports: [
        EventEmitterModule.forRoot(),
        SseModule.forRoot({ jwt: { secret: TEST_SECRET }, heartbeatIntervalMs: 0 }),
        SseBridgeModule.forRoot({ handlerTimeoutMs: 300 }),
        StepModule,
      ],
    }).compile();
    server = await listen(moduleRef.createNestApplication({ logger: false }));
    events = server.app.get(EventEmitter2);
  });
  afterEach(async () => {
    clients.splice(0).forEach((c) => c.close());
    await server.close();
    jest.restoreAllMocks();
  });

  const connect = (userId: string) => connectUser(server, userId, clients);

  const seqs = (client: StreamClient) => client.ofType('notification').map((e) => (e.data as { seq: number }).seq);

  it('delivers each user’s pushes in emit order across slow async, sync and class-mapped events', async () => {
    const users = ['ann', 'ben'];
    const streams = await Promise.all(users.map((u) => connect(u)));
    const perUser = 40;
    const kinds = ['slow', 'fast', 'mapped'] as const;
    for (let seq = 0; seq < perUser; seq++) {
      for (const [i, userId] of users.entries()) {
        const kind = kinds[(seq * 7 + i) % 3];
        // Early async pushes are the slowest, so they would finish last if nothing held the order.
        if (kind === 'slow') events.emit('step.slow', { userId, seq, delayMs: Math.max(0, 30 - seq) });
        else if (kind === 'fast') events.emit('step.fast', { userId, seq });
        else events.emit('step.mapped', new MappedStep(userId, seq));
      }
      if (seq % 10 === 9) await sleep(1);
    }
    for (const stream of streams) {
      await stream.until(() => stream.ofType('notification').length >= perUser, 5000, 'every push');
      expect(seqs(stream)).toEqual(Array.from({ length: perUser }, (_, i) => i));
      expect(new Set(stream.ofType('notification').map((e) => (e.data as { via: string }).via))).toEqual(
        new Set(['async', 'sync', 'class']),
      );
    }
    expect(errors).toEqual([]);
  });

  it('a handler that never settles holds the queue only until its timeout, then is logged and skipped', async () => {
    const ann = await connect('ann');
    events.emit('step.fast', { userId: 'ann', seq: 1 });
    events.emit('step.stuck', { userId: 'ann', seq: 2 });
    const blockedAt = Date.now();
    events.emit('step.fast', { userId: 'ann', seq: 3 });
    events.emit('step.slow', { userId: 'ann', seq: 4, delayMs: 10 });
    await ann.until(() => ann.ofType('notification').length >= 3, 5000, 'pushes after the timeout');
    expect(Date.now() - blockedAt).toBeGreaterThanOrEqual(250);
    expect(seqs(ann)).toEqual([1, 3, 4]);
    expect(errors).toEqual([
      "SSE push 'notification' for event 'step.stuck' from StepListener.stuck failed: the handler did not settle within 300 ms; its push is dropped and the pushes behind it go on",
    ]);
  });
});
