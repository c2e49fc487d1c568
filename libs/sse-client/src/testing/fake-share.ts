import type {
  SseBroadcastChannelConstructor,
  SseBroadcastChannelLike,
  SseLockManagerLike,
} from '../share/tab-share.protocol.js';

type MessageListener = (event: MessageEvent) => void;

/**
 * An in-memory `BroadcastChannel` for tests, one hub per test: like the browser's, it
 * delivers a structured clone of each message to every other open channel of the same
 * name (never back to the sender), asynchronously (a promise job, which jest's fake
 * timers do not hold back), in the order posted, and refuses to post once closed.
 *
 * A channel's `muted = true` plays a frozen or crashed tab: nothing it posts goes out
 * and nothing reaches it, while its owner's timers still run.
 */
export class FakeBroadcastHub {
  readonly channels: FakeChannel[] = [];
  /** Every message posted on an open, unmuted channel, by channel name. */
  readonly posted: Array<{ name: string; message: unknown }> = [];
  /**
   * Set when members answered each other without end (more than `maxMessages` posted):
   * the hub then stops delivering, so that the test fails instead of spinning.
   */
  storm = false;
  maxMessages = 20_000;

  /** The constructor to pass as `share.BroadcastChannel`. */
  readonly BroadcastChannel: SseBroadcastChannelConstructor;

  constructor() {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- inside the class below this is the channel; its constructor needs the hub
    const hub = this;
    this.BroadcastChannel = class extends FakeChannel {
      constructor(name: string) {
        super(hub, name);
      }
    };
  }

  /** Open channels named `name`. */
  open(name?: string): FakeChannel[] {
    return this.channels.filter((channel) => !channel.closed && (name === undefined || channel.name === name));
  }

  /** Messages of one kind posted so far (optionally on channels whose name ends with `suffix`). */
  messages(kind: string, suffix?: string): unknown[] {
    return this.posted
      .filter(
        ({ name, message }) =>
          (message as { kind?: unknown }).kind === kind && (suffix === undefined || name.endsWith(suffix)),
      )
      .map(({ message }) => message);
  }

  deliver(from: FakeChannel, message: unknown): void {
    if (this.posted.length >= this.maxMessages) {
      this.storm = true;
      return;
    }
    const copy = structuredClone(message);
    this.posted.push({ name: from.name, message: copy });
    for (const target of this.channels) {
      if (target === from || target.name !== from.name || target.closed) continue;
      later(() => target.receive(structuredClone(copy)));
    }
  }
}

export class FakeChannel implements SseBroadcastChannelLike {
  closed = false;
  muted = false;
  private readonly listeners = new Set<MessageListener>();

  constructor(
    private readonly hub: FakeBroadcastHub,
    readonly name: string,
  ) {
    hub.channels.push(this);
  }

  postMessage(message: unknown): void {
    if (this.closed) throw new DOMException('BroadcastChannel is closed.', 'InvalidStateError');
    if (this.muted) return;
    this.hub.deliver(this, message);
  }

  addEventListener(type: 'message', listener: MessageListener): void {
    if (type === 'message') this.listeners.add(listener);
  }

  removeEventListener(type: 'message', listener: MessageListener): void {
    if (type === 'message') this.listeners.delete(listener);
  }

  close(): void {
    this.closed = true;
  }

  get listenerCount(): number {
    return this.listeners.size;
  }

  receive(data: unknown): void {
    if (this.closed || this.muted) return;
    const event = new MessageEvent('message', { data });
    for (const listener of [...this.listeners]) listener(event);
  }
}

interface LockRequest {
  callback: (lock: unknown) => Promise<void>;
  signal: AbortSignal | undefined;
  resolve: (value: unknown) => void;
  reject: (reason: unknown) => void;
  onAbort: () => void;
  /** Taken by a `steal` request while held. */
  stolen?: boolean;
}

/**
 * An in-memory Web Locks manager (exclusive locks only): one queue per name, granted in
 * the order requested, each held until its callback's promise settles; a request whose
 * `signal` aborts before it is granted leaves the queue and rejects with an `AbortError`.
 */
export class FakeLockManager implements SseLockManagerLike {
  private readonly held = new Map<string, LockRequest>();
  private readonly queues = new Map<string, LockRequest[]>();
  /** How many times each name was granted. */
  readonly grants = new Map<string, number>();

  request(
    name: string,
    options: { signal?: AbortSignal; steal?: boolean },
    callback: (lock: unknown) => Promise<void>,
  ): Promise<unknown> {
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(abortError());
    if (options.steal) {
      // As the Web Locks API: the holder's request rejects with AbortError, and this one is granted at once.
      const holder = this.held.get(name);
      if (holder) {
        this.held.delete(name);
        holder.stolen = true;
        holder.reject(abortError());
      }
      return new Promise((resolve, reject) => {
        const request: LockRequest = { callback, signal: undefined, resolve, reject, onAbort: () => undefined };
        (this.queues.get(name) ?? this.queues.set(name, []).get(name)!).unshift(request);
        this.grantNext(name);
      });
    }
    return new Promise((resolve, reject) => {
      const request: LockRequest = {
        callback,
        signal,
        resolve,
        reject,
        onAbort: () => {
          const queue = this.queues.get(name) ?? [];
          const at = queue.indexOf(request);
          if (at === -1) return; // granted already: the signal no longer matters
          queue.splice(at, 1);
          reject(abortError());
        },
      };
      signal?.addEventListener('abort', request.onAbort, { once: true });
      const queue = this.queues.get(name) ?? [];
      this.queues.set(name, queue);
      queue.push(request);
      this.grantNext(name);
    });
  }

  /** Whether `name` is held now, and how many requests wait for it. */
  state(name: string): { held: boolean; waiting: number } {
    return { held: this.held.has(name), waiting: this.queues.get(name)?.length ?? 0 };
  }

  private grantNext(name: string): void {
    if (this.held.has(name)) return;
    const next = this.queues.get(name)?.shift();
    if (!next) return;
    this.held.set(name, next);
    next.signal?.removeEventListener('abort', next.onAbort);
    this.grants.set(name, (this.grants.get(name) ?? 0) + 1);
    later(() => {
      let held: Promise<void>;
      try {
        held = Promise.resolve(next.callback({ name, mode: 'exclusive' }));
      } catch (err) {
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- rejects with whatever the lock callback threw, as navigator.locks.request does
        held = Promise.reject(err);
      }
      held.then(next.resolve, next.reject).finally(() => {
        // A stolen lock was released by the steal already.
        if (next.stolen) return;
        this.held.delete(name);
        this.grantNext(name);
      });
    });
  }
}

function abortError(): DOMException {
  return new DOMException('The request was aborted.', 'AbortError');
}

/** A promise job: unlike `queueMicrotask`, never faked by jest's fake timers. */
function later(run: () => void): void {
  void Promise.resolve().then(run);
}
