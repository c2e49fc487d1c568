import { DEFAULT_BRIDGE_HANDLER_TIMEOUT_MS, DEFAULT_BRIDGE_MAX_PENDING } from './sse-bridge.constants.js';

/** Options of `SseBridgeModule.forRoot()`. */
export interface SseBridgeOptions {
  /**
   * How long an async `@SsePush()` handler may hold back the pushes emitted after
   * it (pushes leave in emit order). When it expires the handler's own push is
   * dropped and logged, and the queue moves on. 0 waits forever. Default 10 000 ms.
   */
  handlerTimeoutMs?: number;
  /** Pushes allowed to wait behind slower handlers; beyond it new ones are dropped and logged. Default 10 000. */
  maxPendingPushes?: number;
}

export type ResolvedSseBridgeOptions = Required<SseBridgeOptions>;

export function resolveSseBridgeOptions(options: SseBridgeOptions = {}): ResolvedSseBridgeOptions {
  const handlerTimeoutMs = options.handlerTimeoutMs ?? DEFAULT_BRIDGE_HANDLER_TIMEOUT_MS;
  if (!Number.isInteger(handlerTimeoutMs) || handlerTimeoutMs < 0 || handlerTimeoutMs > 2 ** 31 - 1) {
    throw new Error('SseBridgeModule: handlerTimeoutMs must be an integer between 0 and 2^31-1');
  }
  const maxPendingPushes = options.maxPendingPushes ?? DEFAULT_BRIDGE_MAX_PENDING;
  if (!Number.isInteger(maxPendingPushes) || maxPendingPushes < 1) {
    throw new Error('SseBridgeModule: maxPendingPushes must be an integer >= 1');
  }
  return { handlerTimeoutMs, maxPendingPushes };
}
