import { type DynamicModule, Inject, MiddlewareConsumer, Module, NestModule, RequestMethod } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';

import { SseAuthGuard } from './auth/sse-auth.guard.js';
import { createSseJwtService } from './auth/sse-jwt-service.factory.js';
import { SseTokenVerifier } from './auth/sse-token.verifier.js';
import { MemoryHistoryStore } from './history/memory-history.store.js';
import type { SseHistoryStore } from './history/sse-history-store.interface.js';
import { SseCorsMiddleware } from './http/sse-cors.middleware.js';
import { SseLifecycleHub } from './observe/sse-lifecycle.hub.js';
import { SseStatsCollector } from './observe/sse-stats.collector.js';
import type { SseModuleOptions } from './options/sse-options.interface.js';
import { type ResolvedSseOptions, resolveSseOptions } from './options/sse-options.resolver.js';
import { ConfigurableSseModule, SSE_MODULE_OPTIONS } from './sse.module-definition.js';
import type { SseModuleAsyncOptions, SseModuleForRootOptions } from './sse.module-options.js';
import { SseService } from './sse.service.js';
import {
  SSE_HISTORY_STORE,
  SSE_JWT_SERVICE,
  SSE_OPTIONS,
  SSE_ROUTE_PATH,
  SSE_TICKET_STORE,
  SSE_TRANSPORT,
} from './sse.tokens.js';
import { SseConnectionRegistry } from './streams/sse-connection.registry.js';
import { SseStreamFactory } from './streams/sse-stream.factory.js';
import { MemoryTicketStore } from './tickets/memory-ticket.store.js';
import { SseTicketService } from './tickets/sse-ticket.service.js';
import type { SseTicketStore } from './tickets/sse-ticket-store.interface.js';
import { SseTopicAuthorizer } from './topics/sse-topic.authorizer.js';
import { SseTopicExplorer } from './topics/sse-topic.explorer.js';
import { SseTopicMetadataAccessor } from './topics/sse-topic-metadata.accessor.js';
import { MemorySseTransport } from './transport/memory.transport.js';
import { SseEventIdGenerator } from './wire/sse-event-id.generator.js';

/**
 * `SseModule.forRoot({ jwt: { secret } })` or `SseModule.forRootAsync({ inject, useFactory })`.
 * Route-shaping options (`path`, `maxPendingDataLength`, `isGlobal`, `route`) sit beside either.
 * Exports `SseService`, `SseTokenVerifier` (what `SseAuthGuard` injects) and `SseTopicAuthorizer`.
 *
 * @publicApi
 */
@Module({
  // DiscoveryModule: SseTopicExplorer finds the @SseTopic() policies among the app's providers.
  imports: [DiscoveryModule],
  providers: [
    {
      provide: SSE_OPTIONS,
      inject: [SSE_MODULE_OPTIONS],
      useFactory: (options: SseModuleOptions) => resolveSseOptions(options),
    },
    {
      // jwt.service (the app's JwtService under the stream's rules), else a private one from secret/publicKey.
      provide: SSE_JWT_SERVICE,
      inject: [SSE_OPTIONS],
      useFactory: ({ jwt }: ResolvedSseOptions) => createSseJwtService(jwt),
    },
    // The replaceable parts, each chosen in one place: a transport that keeps its own
    // history (a cluster's shared log) brings it; otherwise history.store, else memory.
    {
      provide: SSE_HISTORY_STORE,
      inject: [SSE_OPTIONS],
      useFactory: ({ history, transport }: ResolvedSseOptions): SseHistoryStore | null =>
        history.enabled ? (transport?.history ?? history.store ?? new MemoryHistoryStore(history)) : null,
    },
    {
      provide: SSE_TRANSPORT,
      inject: [SSE_OPTIONS, SseEventIdGenerator, SSE_HISTORY_STORE],
      useFactory: ({ transport }: ResolvedSseOptions, ids: SseEventIdGenerator, history: SseHistoryStore | null) =>
        transport ?? new MemorySseTransport(ids, history),
    },
    // Tickets: tickets.store if given, else the transport's shared store (any instance redeems a ticket), else memory.
    {
      provide: SSE_TICKET_STORE,
      inject: [SSE_OPTIONS],
      useFactory: ({ tickets: { store, ...limits }, jwt, transport }: ResolvedSseOptions): SseTicketStore => {
        const options = { ...limits, keepClaims: jwt.isRevoked !== undefined };
        return store ?? transport?.createTicketStore?.(options) ?? new MemoryTicketStore(options);
      },
    },
    SseEventIdGenerator,
    SseTokenVerifier,
    SseAuthGuard,
    SseTicketService,
    SseConnectionRegistry,
    SseStreamFactory,
    SseService,
    SseStatsCollector,
    SseLifecycleHub,
    SseTopicMetadataAccessor,
    SseTopicAuthorizer,
    SseTopicExplorer,
  ],
  // What SseAuthGuard injects goes out too, so @UseGuards(SseAuthGuard) works in the app's own modules;
  // SseTopicAuthorizer, to authorise topics on an app's own route; SseStatsCollector, for @nest-sse/server/metrics;
  // SseTicketService, which SseAuthGuard redeems tickets with, and apps issue them with from their own POST.
  exports: [SseService, SseTokenVerifier, SseTopicAuthorizer, SseLifecycleHub, SseStatsCollector, SseTicketService],
})
export class SseModule extends ConfigurableSseModule implements NestModule {
  /**
   * The module with options known at import: `SseModuleOptions` (`jwt` at least) and,
   * beside them, the route-shaping `SseModuleExtras` (`path`, `route`, `isGlobal`, `maxPendingDataLength`).
   */
  static override forRoot(options: SseModuleForRootOptions): DynamicModule {
    return super.forRoot(options);
  }

  /**
   * The module with `SseModuleOptions` resolved through dependency injection
   * (`imports`, `inject` and `useFactory`, or `useClass` / `useExisting`); the
   * `SseModuleExtras` sit beside them, since the route is declared before any provider runs.
   */
  static override forRootAsync(options: SseModuleAsyncOptions): DynamicModule {
    return super.forRootAsync(options);
  }

  /** Null with `route: false`: no route, so no CORS middleware. */
  constructor(@Inject(SSE_ROUTE_PATH) private readonly path: string | null) {
    super();
  }

  configure(consumer: MiddlewareConsumer): void {
    if (this.path === null) return;
    consumer.apply(SseCorsMiddleware).forRoutes({ path: this.path, method: RequestMethod.ALL });
  }
}
