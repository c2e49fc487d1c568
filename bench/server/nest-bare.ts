import 'reflect-metadata';

import { createSecretKey, type KeyObject } from 'node:crypto';
import type { Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import { Controller, Get, Inject, Module, Query, Res, UnauthorizedException } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';

import { verifyUser } from './jwt.js';
import { listenNest } from './listen.js';
import { PlainStreams } from './plain-streams.js';
import type { Publisher, ServerOptions } from './publisher.js';

const KEY = Symbol('KEY');

/**
 * Not a way to use the module: the plain server's logic behind a bare Nest route
 * on Express (`@Get()` with `@Res()`), so a run shows what Nest and Express cost
 * per connect before this module does anything.
 */
@Controller()
class BareRoute {
  constructor(
    private readonly streams: PlainStreams,
    @Inject(KEY) private readonly key: KeyObject,
  ) {}

  @Get('api/events')
  events(@Query('token') token: string | undefined, @Res() res: ServerResponse): void {
    const user = verifyUser(token, this.key);
    if (!user) throw new UnauthorizedException();
    this.streams.open(user, res);
  }
}

export async function startNestBare({ secret }: ServerOptions): Promise<Publisher> {
  @Module({
    controllers: [BareRoute],
    providers: [PlainStreams, { provide: KEY, useValue: createSecretKey(Buffer.from(secret)) }],
  })
  class BareApp {}
  const app = await NestFactory.create(BareApp, { logger: ['error', 'warn'] });
  await listenNest(app);
  const streams = app.get(PlainStreams);
  return {
    port: ((app.getHttpServer() as Server).address() as AddressInfo).port,
    path: '/api/events',
    broadcast: (type, data) => streams.broadcast(type, data),
    sendToUser: (userId, type, data) => streams.sendToUser(userId, type, data),
    connectionCount: () => streams.connectionCount(),
    close: () => app.close(),
  };
}
