/**
 * Options of `SseBridgeModule.forRoot()` / `forRootAsync()`.
 *
 * @publicApi
 */
export interface SseBridgeOptions {
  /**
   * How long an async `@SsePush()` handler may hold back the pushes emitted after
   * it (pushes leave in emit order). When it expires the handler's own push is
   * dropped and logged, and the queue moves on. 0 waits forever. Default 10 000 ms.
   */
  handlerTimeoutMs?: number;
  /** Pushes allowed to wait behind slower handlers; beyond it new ones are dropped and logged. Default 10 000. */
  maxPendingPushes?: number;
  /**
   * Emits the module's lifecycle on the event emitter: `sse.connected`,
   * `sse.disconnected` (with its reason), `sse.user.online`, `sse.user.offline`
   * (see `SSE_LIFECYCLE_EVENTS`). Default true.
   */
  lifecycleEvents?: boolean;
}

export type ResolvedSseBridgeOptions = Required<SseBridgeOptions>;
