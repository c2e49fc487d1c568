/** Delays between replacement EventSources after a permanent failure. */
export interface SseBackoffOptions {
  /** Ceiling of the first delay. Default 1000 ms; never below `MIN_RECOVERY_DELAY_MS`. */
  initialMs?: number;
  /** Cap. Default 30000 ms. */
  maxMs?: number;
  /** Growth per consecutive failure. Default 2. */
  factor?: number;
  /**
   * Share of each delay that is random, 0 to 1: a delay is drawn from
   * `[max(MIN_RECOVERY_DELAY_MS, d * (1 - jitter)), d]` where `d = min(maxMs, initialMs * factor^attempt)`.
   * 1 is "full jitter" (the default: from the first retry, so that a fleet dropped together
   * does not come back together), 0.5 "equal jitter", 0 none.
   */
  jitter?: number;
}

export type SseBackoff = Readonly<Required<SseBackoffOptions>>;

/** No timer the client sets to reconnect is shorter than this, whatever the options say. */
export const MIN_RECOVERY_DELAY_MS = 100;

export const DEFAULT_BACKOFF: SseBackoff = Object.freeze({
  initialMs: 1_000,
  maxMs: 30_000,
  factor: 2,
  jitter: 1,
});

/** Fills in defaults and clamps to safe ranges; throws a `RangeError` on non-numbers. */
export function resolveBackoff(options: SseBackoffOptions = {}): SseBackoff {
  const read = (name: keyof SseBackoffOptions): number => {
    const value = options[name] ?? DEFAULT_BACKOFF[name];
    if (typeof value !== 'number' || Number.isNaN(value)) {
      throw new RangeError(`backoff.${name} must be a number, got ${String(value)}`);
    }
    return value;
  };
  const initialMs = Math.max(MIN_RECOVERY_DELAY_MS, read('initialMs'));
  if (!Number.isFinite(initialMs)) throw new RangeError('backoff.initialMs must be finite');
  return Object.freeze({
    initialMs,
    maxMs: Math.max(initialMs, read('maxMs')),
    factor: Math.max(1, read('factor')),
    jitter: Math.min(1, Math.max(0, read('jitter'))),
  });
}

/**
 * The delay before recovery number `attempt` (0 for the first after a healthy connection).
 * Always within `[MIN_RECOVERY_DELAY_MS, maxMs]`.
 */
export function backoffDelay(attempt: number, backoff: SseBackoff, random: () => number = Math.random): number {
  const ceiling = Math.min(backoff.maxMs, backoff.initialMs * backoff.factor ** Math.max(0, attempt));
  const floor = Math.max(MIN_RECOVERY_DELAY_MS, ceiling * (1 - backoff.jitter));
  const delay = floor + random() * (ceiling - floor);
  return Math.round(Math.min(ceiling, Math.max(floor, delay)));
}
