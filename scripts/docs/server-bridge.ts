/**
 * `@nest-sse/server/bridge`: push from `@nestjs/event-emitter` events (`SseBridgeModule`, `@SsePush`, `@SseEventMapping`).
 * Needs `@nestjs/event-emitter` ^12.
 * @module @nest-sse/server/bridge
 */
export * from '../../libs/sse/src/bridge/index.js';
