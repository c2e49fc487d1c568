import { SseAuthGuard, SseModule, SseRoute, SseService, SseStreamUser, type SseUser } from '@nest-sse/server';
import { type CanActivate, Controller, Injectable, type MessageEvent, Module, UseGuards } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { Observable } from 'rxjs';

import { listen, type RunningApp, signToken, TEST_SECRET } from './support/demo-app.js';
import { Gate } from './support/gate.js';
import { startLibrary } from './support/library-app.js';
import { ADAPTERS, createApp } from './support/nest-app.factory.js';
import { openRaw, waitForCount } from './support/sse-client.js';

const LIMIT = 5; // the default maxConnectionsPerUser
const CONNECTS = 20;

/** Held inside the guards until all 20 requests are there: then they all reach the handler in one burst. */
const guardGate = new Gate();
/** Held inside the handlers, after `stream()` was called and before it is returned (and subscribed). */
const handlerGate = new Gate();

@Injectable()
class LineUpGuard implements CanActivate {
  async canActivate(): Promise<boolean> {
    await guardGate.pass();
    return true;
  }
}

@Controller('own')
@UseGuards(SseAuthGuard, LineUpGuard)
class OwnStreamController {
  constructor(private readonly sse: SseService) {}

  @SseRoute('events')
  async events(@SseStreamUser() user: SseUser): Promise<Observable<MessageEvent>> {
    const stream = this.sse.stream(user.userId, { expiresAt: user.expiresAt });
    await handlerGate.pass();
    return stream;
  }
}

/**
 * Opens `CONNECTS` streams of one user at once and returns how they were answered;
 * with a `gate`, opens it once every request is waiting in it.
 */
async function connectAtOnce(url: string, gate?: Gate) {
  const opening = Array.from({ length: CONNECTS }, () => openRaw(url));
  if (gate) {
    await gate.untilArrived(CONNECTS);
    gate.open();
  }
  const streams = await Promise.all(opening);
  return {
    streams,
    statuses: streams.map((s) => s.status).sort(),
    close: () => streams.forEach((s) => s.destroy()),
  };
}

const expected = [...Array<number>(LIMIT).fill(200), ...Array<number>(CONNECTS - LIMIT).fill(429)];

describe.each(ADAPTERS)('on %s', (adapter) => {
  describe(`${CONNECTS} concurrent connects of one user (limit ${LIMIT})`, () => {
    let server: RunningApp | undefined;
    afterEach(async () => {
      await server?.close();
      server = undefined;
      guardGate.reset();
      handlerGate.reset();
    });

    it(`the module's route: exactly ${LIMIT} stream, the other ${CONNECTS - LIMIT} get 429`, async () => {
      server = await startLibrary({ heartbeatIntervalMs: 0 }, {}, { adapter });
      const sse = server.app.get(SseService);
      const { streams, statuses, close } = await connectAtOnce(
        `${server.baseUrl}/api/events?token=${signToken('crowd')}`,
      );
      try {
        expect(statuses).toEqual(expected);
        expect(sse.connectionCount('crowd')).toBe(LIMIT);
        // The five are live streams, the others ended with the 429 alone.
        sse.sendToUser('crowd', { type: 'notification', data: 'to the five' });
        for (const s of streams.filter((s) => s.status === 200)) {
          await waitForCount(() => (s.body().includes('to the five') ? 1 : 0), 1);
        }
        await Promise.all(streams.filter((s) => s.status === 429).map((s) => s.ended));
      } finally {
        close();
      }
      await waitForCount(() => sse.connectionCount(), 0);
    });

    it(`the module's route, all ${CONNECTS} held in an async isRevoked and then let race: exactly ${LIMIT} stream`, async () => {
      const isRevoked = () => guardGate.pass().then(() => false);
      server = await startLibrary({ heartbeatIntervalMs: 0, jwt: { secret: TEST_SECRET, isRevoked } }, {}, { adapter });
      const sse = server.app.get(SseService);
      const { statuses, close } = await connectAtOnce(
        `${server.baseUrl}/api/events?token=${signToken('crowd')}`,
        guardGate,
      );
      try {
        expect(statuses).toEqual(expected);
        expect(sse.connectionCount('crowd')).toBe(LIMIT);
      } finally {
        close();
      }
      await waitForCount(() => sse.connectionCount(), 0);
    });

    it(`an own @SseRoute, all ${CONNECTS} held in an async guard, then between stream() and its subscription: exactly ${LIMIT} stream`, async () => {
      @Module({
        imports: [SseModule.forRoot({ jwt: { secret: TEST_SECRET }, heartbeatIntervalMs: 0 })],
        controllers: [OwnStreamController],
      })
      class OwnRouteModule {}
      const moduleRef = await Test.createTestingModule({ imports: [OwnRouteModule] }).compile();
      server = await listen(createApp(moduleRef, { adapter }));
      const sse = server.app.get(SseService);
      const url = `${server.baseUrl}/own/events?token=${signToken('crowd')}`;
      const opening = connectAtOnce(url, guardGate);
      // Every handler has called stream() before any returns it: the limit must hold when they are subscribed.
      await handlerGate.untilArrived(CONNECTS);
      expect(sse.connectionCount('crowd')).toBe(0);
      handlerGate.open();
      const { statuses, close } = await opening;
      try {
        expect(statuses).toEqual(expected);
        expect(sse.connectionCount('crowd')).toBe(LIMIT);
      } finally {
        close();
      }
      await waitForCount(() => sse.connectionCount(), 0);
    });
  });
});
