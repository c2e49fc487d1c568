import { useCallback, useEffect, useLayoutEffect, useRef, useState } from 'react';
import { SseClient } from '../sse-client.js';
import { SseClientError } from '../sse-client.errors.js';
import type {
  SseClientOptions,
  SseEventData,
  SseEventMap,
  SseGetToken,
  SseHandler,
  SseStatus,
} from '../sse-client.types.js';

export interface UseSseOptions<TEvents extends object = SseEventMap>
  extends Omit<SseClientOptions<TEvents>, 'onLastEventId'> {
  /** Handler for `notification` events (called before `handlers.notification`). */
  onNotification?: SseHandler<SseEventData<TEvents, 'notification'>>;
  /** Handler for `update` events (called before `handlers.update`). */
  onUpdate?: SseHandler<SseEventData<TEvents, 'update'>>;
  /** `false` closes the stream (and opens none). Default `true`. */
  enabled?: boolean;
  /** Changing it reconnects (e.g. the signed-in user's id). */
  key?: string | number;
}

export interface UseSseResult {
  status: SseStatus;
  /** The latest error reported by the client; cleared when a connection opens. */
  error: SseClientError | undefined;
  lastEventId: string | undefined;
  /** Closes the stream until `url`, `key` or `enabled` changes. Stable across renders. */
  close: () => void;
}

// useLayoutEffect keeps the callbacks ref current before any event can be dispatched;
// on the server (where neither runs) fall back to useEffect to avoid React 18's warning.
const useIsomorphicLayoutEffect = typeof window === 'undefined' ? useEffect : useLayoutEffect;

/**
 * Subscribes to a per-user SSE stream for the lifetime of the component.
 *
 * The client is created in an effect (never during rendering, so nothing happens on
 * the server) and closed on unmount. It is recreated only when `url`, `options.key`
 * or `options.enabled` change: callbacks and the other options are read from the
 * latest render, so passing new inline functions does not reconnect. `token`
 * changes are picked up at the next recovery (they are what `getToken` falls back to).
 * A `null`/`undefined` url opens nothing, like `enabled: false`.
 */
export function useSSE<TEvents extends object = SseEventMap>(
  url: string | URL | null | undefined,
  options: UseSseOptions<TEvents> = {},
): UseSseResult {
  const href = url === null || url === undefined ? null : String(url);
  const active = (options.enabled ?? true) && href !== null;
  const { key } = options;

  const optionsRef = useRef(options);
  useIsomorphicLayoutEffect(() => {
    optionsRef.current = options;
  });

  const [status, setStatus] = useState<SseStatus>(active ? 'connecting' : 'closed');
  const [error, setError] = useState<SseClientError | undefined>(undefined);
  const [lastEventId, setLastEventId] = useState<string | undefined>(options.lastEventId);

  const clientRef = useRef<SseClient<TEvents> | null>(null);
  /** Subscribes the current client to event types first used after it was created. */
  const syncTypesRef = useRef<(() => void) | null>(null);

  useEffect(() => {
    if (!active || href === null || typeof window === 'undefined') {
      setStatus('closed');
      return undefined;
    }
    let current = true;
    const latest = (): UseSseOptions<TEvents> => optionsRef.current;
    const initial = latest();

    const subscribed = new Set<string>();
    const dispatch =
      (type: string): SseHandler<unknown> =>
      (data, event) => {
        const options = latest();
        if (type === 'notification') options.onNotification?.(data as never, event);
        if (type === 'update') options.onUpdate?.(data as never, event);
        const handler = (options.handlers as Record<string, SseHandler<unknown> | undefined> | undefined)?.[type];
        handler?.(data, event);
      };
    const handlers: Record<string, SseHandler<unknown>> = {};
    for (const type of handledTypes(initial)) {
      subscribed.add(type);
      handlers[type] = dispatch(type);
    }

    // Recoveries ask the latest getToken, else reuse the latest token prop
    // (null once it is gone: no session, stop).
    const getToken: SseGetToken | undefined =
      initial.getToken || initial.token !== undefined
        ? () => {
            const options = latest();
            return options.getToken ? options.getToken() : (options.token ?? null);
          }
        : undefined;

    let client: SseClient<TEvents>;
    try {
      client = new SseClient<TEvents>(href, {
        token: initial.token,
        getToken,
        lastEventId: initial.lastEventId,
        withCredentials: initial.withCredentials,
        backoff: initial.backoff,
        maxRecoveries: initial.maxRecoveries,
        EventSource: initial.EventSource,
        handlers: handlers as SseClientOptions<TEvents>['handlers'],
        onReset: (data, event) => latest().onReset?.(data, event),
        onAuthExpired: (data, event) => latest().onAuthExpired?.(data, event),
        onStatus: (next, previous) => {
          if (!current) return;
          setStatus(next);
          setError(clientRef.current?.error);
          latest().onStatus?.(next, previous);
        },
        onError: (err) => {
          if (!current) return;
          setError(err);
          latest().onError?.(err);
        },
        onLastEventId: (id) => {
          if (current) setLastEventId(id);
        },
      });
    } catch (err) {
      const failure =
        err instanceof SseClientError
          ? err
          : new SseClientError('unsupported', `Could not create the SSE client: ${String(err)}`, { cause: err });
      setStatus('error');
      setError(failure);
      latest().onError?.(failure);
      return undefined;
    }

    clientRef.current = client;
    setStatus(client.status);
    setError(client.error);
    setLastEventId(client.lastEventId);
    syncTypesRef.current = () => {
      for (const type of handledTypes(latest())) {
        if (subscribed.has(type)) continue;
        subscribed.add(type);
        client.on(type, dispatch(type) as never);
      }
    };

    return () => {
      current = false;
      syncTypesRef.current = null;
      if (clientRef.current === client) clientRef.current = null;
      client.close();
    };
  }, [active, href, key]);

  // After every render: a handler for a new event type needs a listener.
  useEffect(() => {
    syncTypesRef.current?.();
  });

  const close = useCallback(() => {
    clientRef.current?.close();
  }, []);

  return { status, error, lastEventId, close };
}

function handledTypes(options: { onNotification?: unknown; onUpdate?: unknown; handlers?: object }): string[] {
  const types = new Set<string>();
  if (options.onNotification) types.add('notification');
  if (options.onUpdate) types.add('update');
  for (const [type, handler] of Object.entries(options.handlers ?? {})) {
    if (typeof handler === 'function') types.add(type);
  }
  return [...types];
}
