import { SSE_EVENT_TYPES } from '@nest-sse/protocol';
import { useCallback, useEffect, useLayoutEffect, useRef, useState } from 'react';

import { SseClientError } from '../sse-client.errors.js';
import { SseClient } from '../sse-client.js';
import type {
  SseClientOptions,
  SseEventData,
  SseEventMap,
  SseGetTicket,
  SseGetToken,
  SseHandler,
  SseShareRole,
  SseStatus,
  SseStatusReason,
} from '../sse-client.types.js';

const { notification: NOTIFICATION, update: UPDATE } = SSE_EVENT_TYPES;

export interface UseSseOptions<TEvents extends object = SseEventMap> extends SseClientOptions<TEvents> {
  /**
   * Handler for `notification` events (called before `handlers.notification`).
   * @deprecated Two event names of the demo's domain in a generic hook: use `handlers: { notification }`.
   * Still called, for now.
   */
  onNotification?: SseHandler<SseEventData<TEvents, typeof NOTIFICATION>>;
  /**
   * Handler for `update` events (called before `handlers.update`).
   * @deprecated Use `handlers: { update }`. Still called, for now.
   */
  onUpdate?: SseHandler<SseEventData<TEvents, typeof UPDATE>>;
  /** `false` closes the stream (and opens none). Default `true`. */
  enabled?: boolean;
  /** Changing it reconnects (e.g. the signed-in user's id). It is also the share key (`share.key`) unless one is given. */
  key?: string | number;
}

/** What the hook renders from: the client's state as of its last callback. */
interface SseView {
  /**
   * `unauthorized`: the server refused the credential `maxAuthFailures` times in a row and the
   * client stopped; `error.reason` says why when the server said (`expired`, `revoked`...).
   * Refresh the session and change `key` (a new client), or sign the user out.
   */
  status: SseStatus;
  /** Why `status` last changed; `undefined` while the first connection is under way. */
  statusReason: SseStatusReason | undefined;
  /** The latest error reported by the client; cleared when a connection opens. */
  error: SseClientError | undefined;
  lastEventId: string | undefined;
  /** This client's part in a shared stream (`leader`, `follower`), or `none` with a stream of its own or none. */
  shareRole: SseShareRole;
}

export interface UseSseResult extends SseView {
  /** Closes the stream until `url`, `key`, `topics` or `enabled` changes. Stable across renders. */
  close: () => void;
}

type Latest<TEvents extends object> = () => UseSseOptions<TEvents>;

/** One effect's hold on the view: once it is cleaned up, its client's callbacks change nothing. */
interface ViewUpdates {
  readonly live: boolean;
  show(change: Partial<SseView>): void;
  stop(): void;
}

// useLayoutEffect keeps the callbacks ref current before any event can be dispatched;
// on the server (where neither runs) fall back to useEffect to avoid React 18's warning.
const useIsomorphicLayoutEffect = typeof window === 'undefined' ? useEffect : useLayoutEffect;

/**
 * Subscribes to a per-user SSE stream for the lifetime of the component.
 *
 * The client is created in an effect (never during rendering, so nothing happens on
 * the server) and closed on unmount. It is recreated only when `url`, `options.key`,
 * `options.enabled` or the set of `options.topics` change (by value: the same names in a
 * new array, or in another order, do not reconnect): callbacks and the other options are read from the
 * latest render, so passing new inline functions does not reconnect. `token`
 * changes are picked up at the next recovery (they are what `getToken` falls back to);
 * `getTicket` (the recommended browser flow) is the latest render's at every connection.
 * A `null`/`undefined` url opens nothing, like `enabled: false`.
 */
export function useSSE<TEvents extends object = SseEventMap>(
  url: string | URL | null | undefined,
  options: UseSseOptions<TEvents> = {},
): UseSseResult {
  const href = url === null || url === undefined ? null : String(url);
  const active = (options.enabled ?? true) && href !== null;
  const { key } = options;
  const topics = topicsKey(options.topics);

  const optionsRef = useRef(options);
  useIsomorphicLayoutEffect(() => {
    optionsRef.current = options;
  });

  const [view, setView] = useState<SseView>(() => initialView(active, options.lastEventId));
  const clientRef = useRef<SseClient<TEvents> | null>(null);
  /** Subscribes the current client to event types first used after it was created. */
  const syncTypesRef = useRef<(() => void) | null>(null);

  useEffect(() => {
    if (!active || href === null || typeof window === 'undefined') {
      setView(closedView);
      return undefined;
    }
    const view = viewUpdates(setView);
    const latest: Latest<TEvents> = () => optionsRef.current;

    const router = routeEvents(latest);
    // Status callbacks read the client's error, and may run inside its constructor (before this is set).
    // eslint-disable-next-line prefer-const -- read by the callbacks below before createClient returns, so it is declared first and assigned after
    let client: SseClient<TEvents> | undefined;
    const created = createClient<TEvents>(href, {
      ...connectionOptions(latest()),
      getToken: latestTokenSource(latest),
      getTicket: latestTicketSource(latest),
      handlers: router.handlers as SseClientOptions<TEvents>['handlers'],
      ...mirrorCallbacks(latest, view, () => client),
    });
    if (created instanceof SseClientError) {
      view.show({ status: 'error', statusReason: 'unsupported', error: created });
      latest().onError?.(created);
      return undefined;
    }
    client = created;
    clientRef.current = created;
    view.show({
      status: created.status,
      statusReason: created.statusReason,
      error: created.error,
      lastEventId: created.lastEventId,
      shareRole: created.shareRole,
    });
    syncTypesRef.current = () => router.subscribeNewTypes(created);

    return () => {
      view.stop();
      syncTypesRef.current = null;
      if (clientRef.current === created) clientRef.current = null;
      created.close();
    };
  }, [active, href, key, topics]);

  // After every render: a handler for a new event type needs a listener.
  useEffect(() => {
    syncTypesRef.current?.();
  });

  const close = useCallback(() => {
    clientRef.current?.close();
  }, []);

  return { ...view, close };
}

function initialView(active: boolean, lastEventId: string | undefined): SseView {
  return active
    ? { status: 'connecting', statusReason: undefined, error: undefined, lastEventId, shareRole: 'none' }
    : { status: 'closed', statusReason: 'closed', error: undefined, lastEventId, shareRole: 'none' };
}

/** Disabled or without a url: no stream (the last error and event id stay readable). */
function closedView(view: SseView): SseView {
  return view.status === 'closed' && view.statusReason === 'closed'
    ? view
    : { ...view, status: 'closed', statusReason: 'closed', shareRole: 'none' };
}

function viewUpdates(setView: (update: (view: SseView) => SseView) => void): ViewUpdates {
  let live = true;
  return {
    get live() {
      return live;
    },
    show(change) {
      if (live) setView((view) => ({ ...view, ...change }));
    },
    stop() {
      live = false;
    },
  };
}

/** Step 1: the client's handlers, which call the latest render's callbacks for each event type. */
function routeEvents<TEvents extends object>(latest: Latest<TEvents>) {
  const subscribed = new Set<string>();
  const dispatch =
    (type: string): SseHandler<unknown> =>
    (data, event) => {
      const options = latest();
      if (type === NOTIFICATION) options.onNotification?.(data as never, event);
      if (type === UPDATE) options.onUpdate?.(data as never, event);
      const handler = (options.handlers as Record<string, SseHandler<unknown> | undefined> | undefined)?.[type];
      handler?.(data, event);
    };

  const handlers: Record<string, SseHandler<unknown>> = {};
  for (const type of handledTypes(latest())) {
    subscribed.add(type);
    handlers[type] = dispatch(type);
  }
  return {
    handlers,
    /** Listens to the types the latest render handles that the client does not know yet. */
    subscribeNewTypes(client: SseClient<TEvents>): void {
      for (const type of handledTypes(latest())) {
        if (subscribed.has(type)) continue;
        subscribed.add(type);
        client.on(type, dispatch(type));
      }
    },
  };
}

/** Step 2: what the client is created with; changing these later does not reconnect. */
function connectionOptions<TEvents extends object>(initial: UseSseOptions<TEvents>): SseClientOptions<TEvents> {
  const { token, topics, lastEventId, withCredentials, backoff, maxRecoveries, maxAuthFailures, EventSource } = initial;
  return {
    token,
    topics,
    lastEventId,
    withCredentials,
    backoff,
    maxRecoveries,
    maxAuthFailures,
    EventSource,
    share: shareOption(initial),
  };
}

/** The hook's `key` (the signed-in user, say) is the share key unless `share.key` is given. */
function shareOption({ share, key }: Pick<UseSseOptions<object>, 'share' | 'key'>): SseClientOptions<object>['share'] {
  if (share === false || key === undefined) return share;
  // `true` shares even outside a page: it stays forced by naming the implementation.
  if (share === true) return { key: String(key), BroadcastChannel: globalThis.BroadcastChannel ?? null };
  if (share === undefined) return { key: String(key) };
  return share.key === undefined ? { ...share, key: String(key) } : share;
}

/**
 * Step 3: recoveries ask the latest `getToken`, else reuse the latest `token` prop
 * (`null` once it is gone: no session, stop). None when neither was given at first.
 */
function latestTokenSource<TEvents extends object>(latest: Latest<TEvents>): SseGetToken | undefined {
  const initial = latest();
  if (!initial.getToken && initial.token === undefined) return undefined;
  return () => {
    const options = latest();
    return options.getToken ? options.getToken() : (options.token ?? null);
  };
}

/**
 * Step 3b: every connection asks the latest `getTicket` (`null` once it is gone:
 * no session, stop). None when it was not given at first.
 */
function latestTicketSource<TEvents extends object>(latest: Latest<TEvents>): SseGetTicket | undefined {
  if (!latest().getTicket) return undefined;
  return (request) => {
    const getTicket = latest().getTicket;
    return getTicket ? getTicket(request) : null;
  };
}

/**
 * Step 4: the client's callbacks: mirror its state into the view, then call the latest
 * render's. Nothing once the effect is cleaned up (an unmounted component hears no `closed`).
 */
function mirrorCallbacks<TEvents extends object>(
  latest: Latest<TEvents>,
  view: ViewUpdates,
  client: () => SseClient<TEvents> | undefined,
): Pick<
  SseClientOptions<TEvents>,
  'onStatus' | 'onError' | 'onLastEventId' | 'onPosition' | 'onReset' | 'onAuthExpired' | 'onShareRole'
> {
  return {
    onStatus: (status, previous, reason) => {
      if (!view.live) return;
      // The client clears its error when a connection opens.
      view.show({ status, statusReason: reason, error: client()?.error });
      latest().onStatus?.(status, previous, reason);
    },
    onError: (error) => {
      if (!view.live) return;
      view.show({ error });
      latest().onError?.(error);
    },
    onLastEventId: (lastEventId) => {
      if (!view.live) return;
      view.show({ lastEventId });
      latest().onLastEventId?.(lastEventId);
    },
    onPosition: (position) => {
      if (view.live) latest().onPosition?.(position);
    },
    onShareRole: (shareRole) => {
      if (!view.live) return;
      view.show({ shareRole });
      latest().onShareRole?.(shareRole);
    },
    onReset: (data, event) => latest().onReset?.(data, event),
    onAuthExpired: (data, event) => latest().onAuthExpired?.(data, event),
  };
}

/** Step 5: the client, or why it could not be created (no EventSource, options out of range). */
function createClient<TEvents extends object>(
  href: string,
  options: SseClientOptions<TEvents>,
): SseClient<TEvents> | SseClientError {
  try {
    return new SseClient<TEvents>(href, options);
  } catch (err) {
    return err instanceof SseClientError
      ? err
      : new SseClientError('unsupported', `Could not create the SSE client: ${String(err)}`, { cause: err });
  }
}

/**
 * `topics` by value, for the effect's dependencies: the same names in a new array (or in
 * another order, or repeated) are the same subscription. JSON keeps any two lists of
 * distinct strings apart; what is not an array is left to the client to refuse.
 */
function topicsKey(topics: unknown): string {
  if (!Array.isArray(topics)) return typeof topics;
  return JSON.stringify([...new Set(topics.map(String))].sort());
}

function handledTypes(options: { onNotification?: unknown; onUpdate?: unknown; handlers?: object }): string[] {
  const types = new Set<string>();
  if (options.onNotification) types.add(NOTIFICATION);
  if (options.onUpdate) types.add(UPDATE);
  for (const [type, handler] of Object.entries(options.handlers ?? {})) {
    if (typeof handler === 'function') types.add(type);
  }
  return [...types];
}
