import { SseModule, type SseModuleOptions, SseTopic, type SseTopicPolicy, type SseUser } from '@nest-sse/server';
import { Injectable, Module, type Type } from '@nestjs/common';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';

import { listen, type RunningApp, TEST_SECRET } from './demo-app.js';
import { createApp, type ServeOptions } from './nest-app.factory.js';

/**
 * What the test app's policies read and record: who owns which order, who is on
 * which board, and every topic a policy was asked about (to show that a name the
 * guard refuses never reaches one). A provider, so the policies get it by DI.
 */
@Injectable()
export class TopicAccess {
  /** orderId → owner's userId. */
  readonly orderOwners = new Map<string, string>();
  /** boardId → member userIds. */
  readonly boardMembers = new Map<string, Set<string>>();
  /** Every topic a policy was asked about, in order. */
  readonly asked: string[] = [];
}

/** Sync, by parameter: an order's topic is its owner's. */
@SseTopic('orders/:orderId')
export class OrderTopic implements SseTopicPolicy<{ orderId: string }> {
  constructor(private readonly access: TopicAccess) {}
  canSubscribe(user: SseUser, { orderId }: { orderId: string }, topic: string): boolean {
    this.access.asked.push(topic);
    return this.access.orderOwners.get(orderId) === user.userId;
  }
}

/** Async: a board's members, looked up "remotely". */
@SseTopic('boards/:boardId')
export class BoardTopic implements SseTopicPolicy<{ boardId: string }> {
  constructor(private readonly access: TopicAccess) {}
  async canSubscribe(user: SseUser, { boardId }: { boardId: string }, topic: string): Promise<boolean> {
    this.access.asked.push(topic);
    await new Promise((resolve) => setTimeout(resolve, 5));
    return this.access.boardMembers.get(boardId)?.has(user.userId) ?? false;
  }
}

/** Open to everyone: the topics the isolation, replay, cleanup and concurrency tests use. */
@SseTopic('feeds/:name')
export class FeedTopic implements SseTopicPolicy<{ name: string }> {
  constructor(private readonly access: TopicAccess) {}
  canSubscribe(_user: SseUser, _params: { name: string }, topic: string): boolean {
    this.access.asked.push(topic);
    return true;
  }
}

/** A policy with a bug: it throws (the message must not leak to the client). */
@SseTopic('broken/:id')
export class BrokenTopic implements SseTopicPolicy {
  constructor(private readonly access: TopicAccess) {}
  canSubscribe(_user: SseUser, _params: Record<string, string>, topic: string): boolean {
    this.access.asked.push(topic);
    throw new Error('policy exploded: database unreachable');
  }
}

/** Returns something truthy that is not `true`: only `true` allows. */
@SseTopic('truthy/:id')
export class TruthyTopic {
  constructor(private readonly access: TopicAccess) {}
  canSubscribe(_user: SseUser, params: { id: string }, topic: string): unknown {
    this.access.asked.push(topic);
    return params.id === 'one' ? 1 : params.id === 'string' ? 'yes' : { allowed: true };
  }
}

export const TOPIC_POLICIES: Type<unknown>[] = [OrderTopic, BoardTopic, FeedTopic, BrokenTopic, TruthyTopic];

/**
 * A query string parsed the way Express's `extended` parser (qs) reads brackets:
 * `topic[x]=1` is `{ topic: { x: '1' } }`; `topic[]=` and a repeated key are arrays. For Fastify,
 * whose own parser keeps `topic[x]` as a key, so both platforms hand the guard an object.
 */
function parseBrackets(query: string): Record<string, unknown> {
  const parsed: Record<string, unknown> = {};
  for (const [key, value] of new URLSearchParams(query)) {
    const bracket = /^([^[\]]+)\[([^[\]]*)\]$/.exec(key);
    if (bracket?.[2] === '') {
      parsed[bracket[1]] = [...((parsed[bracket[1]] as string[] | undefined) ?? []), value];
    } else if (bracket) {
      const inner = (parsed[bracket[1]] ??= {}) as Record<string, string>;
      inner[bracket[2]] = value;
    } else {
      const seen = parsed[key];
      parsed[key] = seen === undefined ? value : Array.isArray(seen) ? [...seen, value] : [seen, value];
    }
  }
  return parsed;
}

/**
 * The library with the topic policies above, on a real socket, as a user's app
 * would declare them. `extendedQuery`: the platform parses brackets into objects
 * (Express's `query parser: extended`), as some apps configure it.
 */
export async function startTopicsApp(
  options: Partial<SseModuleOptions> = {},
  serve: ServeOptions & { extendedQuery?: boolean } = {},
): Promise<RunningApp & { access: TopicAccess }> {
  @Module({
    imports: [SseModule.forRoot({ jwt: { secret: TEST_SECRET }, heartbeatIntervalMs: 0, ...options })],
    providers: [TopicAccess, ...TOPIC_POLICIES],
  })
  class TopicsAppModule {}
  const moduleRef = await Test.createTestingModule({ imports: [TopicsAppModule] }).compile();
  const { extendedQuery, ...platform } = serve;
  let app: RunningApp['app'];
  if (!extendedQuery) app = createApp(moduleRef, platform);
  else if (platform.adapter === 'fastify') {
    app = moduleRef.createNestApplication(new FastifyAdapter({ routerOptions: { querystringParser: parseBrackets } }), {
      logger: ['error'],
    });
  } else {
    app = createApp(moduleRef, platform);
    (app as unknown as { set(setting: string, value: string): void }).set('query parser', 'extended');
  }
  const running = await listen(app);
  return { ...running, access: app.get(TopicAccess) };
}

/** Compiles and initialises an app with `policies` only: for declarations that must fail the bootstrap. */
export async function initWithPolicies(policies: Type<unknown>[]): Promise<void> {
  @Module({
    imports: [SseModule.forRoot({ jwt: { secret: TEST_SECRET } })],
    providers: policies,
  })
  class PoliciesModule {}
  const moduleRef = await Test.createTestingModule({ imports: [PoliciesModule] }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  try {
    await app.init();
  } finally {
    await app.close().catch(() => undefined);
  }
}
