import { integerOption, MAX_TIMER_MS } from '../options/sse-options.resolver.js';
import { DEFAULT_BRIDGE_HANDLER_TIMEOUT_MS, DEFAULT_BRIDGE_MAX_PENDING } from './sse-bridge.constants.js';
import type { ResolvedSseBridgeOptions, SseBridgeOptions } from './sse-bridge-options.interface.js';

const option = (name: string, value: number, bounds: { min?: number; max?: number }) =>
  integerOption('SseBridgeModule', name, value, bounds);

/** Applies defaults and fails fast on an option the push queue could not honour. */
export function resolveSseBridgeOptions(options?: SseBridgeOptions | null): ResolvedSseBridgeOptions {
  const { handlerTimeoutMs, maxPendingPushes, lifecycleEvents } = options ?? {};
  return {
    handlerTimeoutMs: option('handlerTimeoutMs', handlerTimeoutMs ?? DEFAULT_BRIDGE_HANDLER_TIMEOUT_MS, {
      max: MAX_TIMER_MS,
    }),
    maxPendingPushes: option('maxPendingPushes', maxPendingPushes ?? DEFAULT_BRIDGE_MAX_PENDING, { min: 1 }),
    lifecycleEvents: lifecycleEvents ?? true,
  };
}
