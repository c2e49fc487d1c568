import 'reflect-metadata';

import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import {
  Controller,
  Inject,
  Injectable,
  type MessageEvent,
  Module,
  Query,
  Sse,
  UnauthorizedException,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { filter, map, type Observable, Subject } from 'rxjs';

import { verifyUser } from './jwt.js';
import { listenNest } from './listen.js';
import type { Publisher, ServerOptions } from './publisher.js';

/** `to: null` is a broadcast. */
interface BusEvent {
  to: string | null;
  type: string;
  data: object;
}

const SECRET = Symbol('SECRET');

/** The tutorial pattern: one global Subject, which every stream filters for its own user. */
@Injectable()
class EventBus {
  readonly events$ = new Subject<BusEvent>();
}

@Controller()
class NaiveEventsController {
  constructor(
    private readonly bus: EventBus,
    @Inject(SECRET) private readonly secret: string,
  ) {}

  @Sse('api/events')
  events(@Query('token') token: string | undefined): Observable<MessageEvent> {
    const user = verifyUser(token, this.secret);
    if (!user) throw new UnauthorizedException();
    return this.bus.events$.pipe(
      filter((e) => e.to === null || e.to === user),
      map((e) => ({ type: e.type, data: e.data })),
    );
  }
}

export async function startNaive({ secret }: ServerOptions): Promise<Publisher> {
  @Module({ controllers: [NaiveEventsController], providers: [EventBus, { provide: SECRET, useValue: secret }] })
  class NaiveModule {}

  const app = await NestFactory.create(NaiveModule, { logger: ['error', 'warn'] });
  await listenNest(app);
  const bus = app.get(EventBus);
  const server = app.getHttpServer() as Server;

  return {
    port: (server.address() as AddressInfo).port,
    path: '/api/events',
    broadcast: (type, data) => bus.events$.next({ to: null, type, data }),
    sendToUser: (userId, type, data) => bus.events$.next({ to: userId, type, data }),
    // The pattern keeps no registry: the Subject's subscribers are the open streams.
    connectionCount: () => bus.events$.observers.length,
    close: async () => {
      bus.events$.complete();
      await app.close();
    },
  };
}
