import { compareEventIds, parseEventId } from '../../../sse/src/sse-event-id.js';
import { SSE_EVENT_TYPES, SSE_LIMITS } from '../../../sse/src/sse-wire.rules.js';
import { SseClientError } from '../sse-client.errors.js';
import type { SseStatus, SseStatusReason } from '../sse-client.types.js';
import type { SseTabElection } from './tab-election.interface.js';
import {
  newMemberId,
  type SseBroadcastChannelLike,
  type SseRelayedEvent,
  type SseShareMessage,
  type SseSharedError,
} from './tab-share.protocol.js';

const RESET = SSE_EVENT_TYPES.reset;
const FORBIDDEN = 403;

/**
 * How often a member repeats what it needs, and how long the leader remembers one it no
 * longer hears (a crashed tab says no goodbye). Browsers run the timers of a tab hidden
 * for minutes about once a minute, so a member is forgotten only well past that.
 */
export const SSE_SHARE_TIMINGS = {
  keepAliveMs: 20_000,
  forgetAfterMs: 150_000,
  /**
   * A follower that has heard nothing from the leader for this long pings it; with no
   * answer within `answerMs` more, the leader's page is frozen or hung and the next
   * member takes over (a second one after twice that, should the first be stuck too).
   */
  watchMs: 1_000,
  answerMs: 2_000,
} as const;

/** The real stream, held by the leader: an `SseClient` of its own, not shared. */
export interface SseLeaderStream {
  readonly status: SseStatus;
  readonly lastEventId: string | undefined;
  /** Listens to one more event type (a member handles it now). */
  listenTo(type: string): void;
  /**
   * The HTTP status the stream's URL answers now (a `HEAD` request), or `undefined` when it
   * cannot be asked (a ticket is spent by its stream) or did not answer: a browser's
   * EventSource does not say why it was refused.
   */
  probe(): Promise<number | undefined>;
  close(): void;
}

/** What the leader's stream reports, to relay to every member. */
export interface SseLeaderRelay {
  event(event: SseRelayedEvent): void;
  /** With `error` for the `error` status: why it gave up. */
  status(status: SseStatus, reason: SseStatusReason, error: SseClientError | undefined): void;
  error(error: SseClientError): void;
}

/** The client a share serves: it dispatches relayed events and mirrors the leader's status as its own. */
export interface SseShareHost {
  readonly topics: readonly string[];
  readonly lastEventId: string | undefined;
  handledTypes(): Iterable<string>;
  receive(event: SseRelayedEvent): void;
  /** With `error` (only for the `error` status): why the stream gave up, reported after the status. */
  mirrorStatus(status: SseStatus, reason: SseStatusReason, error?: SseClientError): void;
  mirrorError(error: SseClientError): void;
  /** This member became the leader (`true`) or stopped being it. */
  roleChanged(leader: boolean): void;
  /** Leaves the share for good and opens a stream of its own (see the `solo` message). */
  goSolo(): void;
  /** Opens the real stream, subscribed to `topics`, resuming after `lastEventId`. */
  openLeaderStream(topics: readonly string[], types: Iterable<string>, lastEventId: string | undefined, relay: SseLeaderRelay): SseLeaderStream;
}

interface MemberNeeds {
  topics: readonly string[];
  types: readonly string[];
  lastEventId: string | undefined;
  seenAt: number;
}

/** Needed by a share: where it talks, and how it is elected. */
export interface SseShareParts {
  channel: SseBroadcastChannelLike;
  election: (memberId: string) => SseTabElection;
}

/** The leader's stream and what it was opened with. */
interface Leading {
  /** Set once the client is made; its first statuses may come while it is made. */
  stream: SseLeaderStream | undefined;
  topics: ReadonlySet<string>;
  types: Set<string>;
  reason: SseStatusReason;
  /**
   * Who a reset on this stream concerns: everyone after a hand-over (they may have missed
   * events), only the members it was rewound for after a restart (the others are ahead).
   */
  resetsFor: 'all' | ReadonlySet<string>;
}

/** A restart of the leader's stream waiting for its turn: from where, and for whom it rewinds. */
interface PendingRestart {
  lastEventId: string | undefined;
  rewoundFor: Set<string>;
}

/**
 * One client's membership in a stream shared by the tabs of a browser (and the
 * clients of one tab) that have the same URL and share key. Every member hears
 * every message; the elected leader holds the only EventSource, subscribed to the
 * union of the members' topics, and relays each event, in order and with its id,
 * to the others over the channel and to its own client directly. Each client keeps
 * its own handlers, status and last event id, and drops what it did not ask for or
 * already saw.
 */
export class SseTabShare {
  readonly id = newMemberId();
  private readonly channel: SseBroadcastChannelLike;
  private readonly election: SseTabElection;
  private readonly members = new Map<string, MemberNeeds>();
  private leading: Leading | undefined;
  /** Topics seen carried by an open stream (this member's, or a leader's it heard of): a refusal is not theirs. */
  private readonly proven = new Set<string>();
  private restartPending: PendingRestart | undefined;
  private restartTimer: ReturnType<typeof setTimeout> | undefined;
  private keepAlive: ReturnType<typeof setInterval> | undefined;
  private watch: ReturnType<typeof setInterval> | undefined;
  /**
   * The member that last spoke as the leader (`undefined` id: not known yet), when it last
   * did, and when it was pinged without an answer yet.
   */
  private leader: { id: string | undefined; heardAt: number; pingedAt: number | undefined } | undefined;
  private active = false;
  /** The newest position the leader reported (its stream's last id, or its opening's). */
  private position: string | undefined;
  private readonly onMessage = (event: MessageEvent): void => this.receive(event.data as SseShareMessage);
  private readonly onFreeze = (): void => this.suspend();
  private readonly onResume = (): void => this.resume();
  private readonly onPageHide = (): void => this.suspend();
  private readonly onPageShow = (event: Event): void => {
    if ((event as PageTransitionEvent).persisted) this.resume();
  };

  constructor(
    private readonly host: SseShareHost,
    parts: SseShareParts,
  ) {
    this.channel = parts.channel;
    this.election = parts.election(this.id);
  }

  /** Whether this member holds the stream. */
  get isLeader(): boolean {
    return this.leading !== undefined;
  }

  start(): void {
    this.channel.addEventListener('message', this.onMessage);
    // A frozen or cached page hands the stream over; a page being unloaded leaves.
    const doc = (globalThis as { document?: EventTarget }).document;
    doc?.addEventListener('freeze', this.onFreeze);
    doc?.addEventListener('resume', this.onResume);
    if (doc) {
      globalThis.addEventListener?.('pagehide', this.onPageHide);
      globalThis.addEventListener?.('pageshow', this.onPageShow);
    }
    this.resume();
  }

  /** For good: the client closed. */
  stop(): void {
    this.suspend();
    const doc = (globalThis as { document?: EventTarget }).document;
    doc?.removeEventListener('freeze', this.onFreeze);
    doc?.removeEventListener('resume', this.onResume);
    if (doc) {
      globalThis.removeEventListener?.('pagehide', this.onPageHide);
      globalThis.removeEventListener?.('pageshow', this.onPageShow);
    }
    this.channel.removeEventListener('message', this.onMessage);
    this.channel.close();
  }

  /** The client handles a new event type: the leader's stream must listen to it. */
  needsChanged(): void {
    if (!this.active) return;
    this.announce(false);
    if (this.leading) this.syncLeader();
  }

  private resume(): void {
    if (this.active) return;
    this.active = true;
    // Not heard of yet: a leader that does not run (hung, frozen) must still be noticed.
    this.leader = { id: undefined, heardAt: Date.now(), pingedAt: undefined };
    this.announce(true);
    this.keepAlive = setInterval(() => this.tick(), SSE_SHARE_TIMINGS.keepAliveMs);
    this.watch = setInterval(() => this.watchLeader(), SSE_SHARE_TIMINGS.watchMs);
    this.election.start({ lead: () => this.lead(), resign: () => this.resign() });
  }

  /** Steps aside (frozen, cached, closed): another member takes the stream; `resume` joins again. */
  private suspend(): void {
    if (!this.active) return;
    this.post({ kind: 'bye', from: this.id, leader: this.isLeader });
    this.active = false;
    clearInterval(this.keepAlive);
    clearInterval(this.watch);
    this.keepAlive = undefined;
    this.watch = undefined;
    this.leader = undefined;
    this.stopLeading();
    this.election.stop();
    this.members.clear();
  }

  private tick(): void {
    this.announce(false);
    const cutoff = Date.now() - SSE_SHARE_TIMINGS.forgetAfterMs;
    let forgot = false;
    for (const [id, member] of this.members) {
      if (member.seenAt < cutoff) forgot = this.members.delete(id);
    }
    if (forgot) this.syncLeader();
  }

  /**
   * A follower's check that the leader runs: a frozen or hung page keeps its lock (and
   * its EventSource) but relays nothing. The member first in id order takes over; the
   * others only if it did not either.
   */
  private watchLeader(): void {
    const leader = this.leader;
    if (this.leading || !leader) return;
    const now = Date.now();
    if (leader.pingedAt === undefined) {
      if (now - leader.heardAt >= SSE_SHARE_TIMINGS.watchMs) {
        leader.pingedAt = now;
        this.post({ kind: 'ping', from: this.id, to: leader.id });
      }
      return;
    }
    const waited = now - leader.pingedAt;
    const first = [...this.members.keys()].every((id) => id === leader.id || this.id < id);
    if (waited >= SSE_SHARE_TIMINGS.answerMs * (first ? 1 : 2)) {
      this.leader = undefined;
      this.election.takeOver();
    }
  }

  /** Any message from the leader says it runs. */
  private heardFrom(id: string): void {
    if (this.leader?.id === id) {
      this.leader.heardAt = Date.now();
      this.leader.pingedAt = undefined;
    } else {
      this.leader = { id, heardAt: Date.now(), pingedAt: undefined };
    }
  }

  private announce(join: boolean): void {
    this.post({
      kind: 'member',
      from: this.id,
      join,
      topics: this.host.topics,
      types: [...this.host.handledTypes()],
      lastEventId: this.host.lastEventId,
    });
  }

  private lead(): void {
    if (!this.active || this.leading) return;
    // The leader this one replaces (closed, crashed, stuck) needs nothing any more.
    if (this.leader?.id !== undefined) this.members.delete(this.leader.id);
    this.leader = undefined;
    this.post({ kind: 'roll-call', from: this.id });
    this.openStream(this.latestSeenId(), 'all');
    this.host.roleChanged(true);
  }

  /** Lost the lead without giving it up (stolen, or a lease conflict): say so, and follow. */
  private resign(): void {
    if (!this.leading) return;
    this.stopLeading();
    this.post({ kind: 'resigned', from: this.id });
  }

  private openStream(lastEventId: string | undefined, resetsFor: Leading['resetsFor']): void {
    const { topics, soloists } = this.union();
    if (soloists.length > 0) this.sendSolo(soloists);
    const types = new Set(this.host.handledTypes());
    for (const member of this.members.values()) member.types.forEach((type) => types.add(type));
    const leading: Leading = { stream: undefined, topics, types, reason: 'opened', resetsFor };
    this.leading = leading;
    const relay: SseLeaderRelay = {
      event: (event) => {
        if (this.leading !== leading) return;
        const only = event.type === RESET && leading.resetsFor !== 'all' ? [...leading.resetsFor] : undefined;
        this.post({ kind: 'event', from: this.id, event, only });
        if (!only || only.includes(this.id)) this.host.receive(event);
      },
      status: (status, reason, error) => {
        // Closing is the leader's own business (handing over, or a restart).
        if (this.leading !== leading || status === 'closed') return;
        if (status === 'open') leading.topics.forEach((topic) => this.proven.add(topic));
        if (reason === 'forbidden' && this.refusedFor(leading)) return;
        if (reason === 'refused') void this.probeRefusal(leading);
        leading.reason = reason;
        this.post({
          kind: 'status',
          from: this.id,
          status,
          reason,
          topics: [...leading.topics],
          position: leading.stream?.lastEventId ?? lastEventId,
          error: error && shared(error),
        });
        this.host.mirrorStatus(status, reason, error);
      },
      error: (error) => {
        // The give-up error went with the `error` status.
        if (this.leading !== leading || leading.stream?.status === 'error') return;
        this.post({ kind: 'error', from: this.id, ...shared(error) });
        this.host.mirrorError(error);
      },
    };
    leading.stream = this.host.openLeaderStream([...topics].sort(), types, lastEventId, relay);
  }

  /**
   * The topics of this member and of the others, in the order they joined (ids sort by
   * creation), as many as one stream may carry (`SSE_LIMITS.topicsPerStream`); the
   * members whose topics no longer fit go solo.
   */
  private union(): { topics: Set<string>; soloists: string[] } {
    const topics = new Set(this.host.topics);
    const soloists: string[] = [];
    for (const [id, member] of [...this.members].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const added = member.topics.filter((topic) => !topics.has(topic));
      if (topics.size + added.length > SSE_LIMITS.topicsPerStream) soloists.push(id);
      else added.forEach((topic) => topics.add(topic));
    }
    return { topics, soloists };
  }

  /**
   * A browser's EventSource does not say why it was refused. When the stream carries
   * topics never seen open, the leader asks the URL itself: a 403 is a topic the user
   * may not see, which only the members that asked for one of them should suffer.
   */
  private async probeRefusal(leading: Leading): Promise<void> {
    if (![...leading.topics].some((topic) => !this.proven.has(topic))) return;
    const status = await leading.stream?.probe();
    if (status === FORBIDDEN && this.leading === leading) this.refusedFor(leading);
  }

  /**
   * The stream was refused (403) while carrying topics never seen open. The members that
   * asked for one go solo, this leader too if it did (and so hands over), and the stream
   * goes on without them. Whether it did so.
   */
  private refusedFor(leading: Leading): boolean {
    const unproven = [...leading.topics].filter((topic) => !this.proven.has(topic));
    if (unproven.length === 0) return false;
    const askers = [...this.members].filter(([, member]) => member.topics.some((t) => unproven.includes(t)));
    this.sendSolo(askers.map(([id]) => id));
    if (this.host.topics.some((topic) => unproven.includes(topic))) {
      this.host.goSolo();
      return true;
    }
    this.restart(leading.stream?.lastEventId);
    return true;
  }

  /** Tells `ids` to open streams of their own; the union leaves them out from now on. */
  private sendSolo(ids: readonly string[]): void {
    if (ids.length === 0) return;
    this.post({ kind: 'solo', from: this.id, members: ids });
    ids.forEach((id) => this.members.delete(id));
  }

  private stopLeading(): void {
    clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    this.restartPending = undefined;
    const leading = this.leading;
    this.leading = undefined;
    if (!leading) return;
    leading.stream?.close();
    this.host.roleChanged(false);
  }

  /**
   * New event types are listened to in place. A topic added, or one nobody asks for any
   * more (its server side keeps publishing to a subscribed stream), needs a new connection,
   * resuming, so nothing is lost. `joined`: a member that joined (or that this leader did
   * not know), which may be behind the stream (a reloaded tab): the stream is rewound for it.
   */
  private syncLeader(joined?: { id: string; lastEventId: string | undefined }): void {
    const leading = this.leading;
    if (!leading?.stream) return;
    const types = new Set(this.host.handledTypes());
    for (const member of this.members.values()) member.types.forEach((type) => types.add(type));
    for (const type of types) {
      if (!leading.types.has(type)) {
        leading.types.add(type);
        leading.stream.listenTo(type);
      }
    }
    const position = leading.stream.lastEventId;
    const { topics, soloists } = this.union();
    this.sendSolo(soloists);
    const changed = topics.size !== leading.topics.size || [...topics].some((topic) => !leading.topics.has(topic));
    const behind = joined?.lastEventId !== undefined && isBefore(joined.lastEventId, position);
    if (behind) this.restart(joined.lastEventId, joined.id);
    else if (changed) this.restart(position);
  }

  /**
   * Replaces the leader's stream on the next turn, resuming after the earliest id asked
   * for, so that members joining together cost one reconnect.
   */
  private restart(lastEventId: string | undefined, rewoundFor?: string): void {
    const pending = this.restartPending;
    if (pending) {
      if (lastEventId !== undefined && isBefore(lastEventId, pending.lastEventId)) pending.lastEventId = lastEventId;
      if (rewoundFor) pending.rewoundFor.add(rewoundFor);
      return;
    }
    this.restartPending = { lastEventId, rewoundFor: new Set(rewoundFor ? [rewoundFor] : []) };
    this.restartTimer = setTimeout(() => {
      const next = this.restartPending;
      this.restartTimer = undefined;
      this.restartPending = undefined;
      const leading = this.leading;
      if (!leading || !next) return;
      leading.stream?.close();
      this.openStream(next.lastEventId, next.rewoundFor);
    }, 0);
  }

  /** The newest id this member or any other has seen: where a new leader resumes. */
  private latestSeenId(): string | undefined {
    let latest = this.host.lastEventId;
    for (const id of [this.position, ...[...this.members.values()].map((member) => member.lastEventId)]) {
      if (id !== undefined && (latest === undefined || isBefore(latest, id))) latest = id;
    }
    return latest;
  }

  private receive(message: SseShareMessage): void {
    if (!this.active || message === null || typeof message !== 'object' || message.from === this.id) return;
    switch (message.kind) {
      case 'member': {
        // A member this one did not know (forgotten while its page slept, or unknown to a new leader) is a newcomer.
        const join = message.join || !this.members.has(message.from);
        this.members.set(message.from, {
          topics: message.topics,
          types: message.types,
          lastEventId: message.lastEventId,
          seenAt: Date.now(),
        });
        const leading = this.leading;
        if (!leading?.stream) break;
        if (join && leading.stream.status !== 'connecting') {
          // The newcomer mirrors the stream's status as it is now, and learns its position.
          const { stream, reason, topics } = leading;
          const position = stream.lastEventId;
          this.post({ kind: 'status', from: this.id, status: stream.status, reason, topics: [...topics], position });
        }
        this.syncLeader(join ? { id: message.from, lastEventId: message.lastEventId } : undefined);
        break;
      }
      case 'bye':
        this.members.delete(message.from);
        if (this.leader?.id === message.from) this.leader = undefined;
        if (message.leader && !this.leading) this.host.mirrorStatus('reconnecting', 'dropped');
        this.syncLeader();
        break;
      case 'roll-call':
        this.heardFrom(message.from);
        this.announce(false);
        break;
      case 'solo':
        if (message.members.includes(this.id)) this.host.goSolo();
        else message.members.forEach((id) => this.members.delete(id));
        break;
      case 'ping':
        if (this.leading) this.post({ kind: 'pong', from: this.id });
        else if (message.to === this.id) this.post({ kind: 'resigned', from: this.id });
        break;
      case 'pong':
        this.heardFrom(message.from);
        break;
      case 'resigned':
        if (this.leader?.id === message.from) this.leader = { id: undefined, heardAt: Date.now(), pingedAt: undefined };
        break;
      case 'event':
        this.heardFrom(message.from);
        if (!message.only || message.only.includes(this.id)) this.host.receive(message.event);
        break;
      case 'status':
        this.heardFrom(message.from);
        if (message.position !== undefined && (this.position === undefined || isBefore(this.position, message.position))) {
          this.position = message.position;
        }
        if (message.status === 'open') message.topics.forEach((topic) => this.proven.add(topic));
        if (this.leading) break;
        if (message.status === 'open' && !this.host.topics.every((topic) => message.topics.includes(topic))) break;
        this.host.mirrorStatus(message.status, message.reason, message.error && clientError(message.error));
        break;
      case 'error':
        this.heardFrom(message.from);
        if (!this.leading) this.host.mirrorError(clientError(message));
        break;
    }
  }

  private post(message: SseShareMessage): void {
    try {
      this.channel.postMessage(message);
    } catch {
      // A closed channel (the page is going away): nothing to tell.
    }
  }
}

function shared({ code, message, httpStatus }: SseClientError): SseSharedError {
  return { code, message, httpStatus };
}

function clientError({ code, message, httpStatus }: SseSharedError): SseClientError {
  return new SseClientError(code, message, { httpStatus });
}

/** The order of two event ids (negative, zero, positive); `undefined` when one does not parse (an app's own ids). */
function compareIds(a: string, b: string): number | undefined {
  const left = parseEventId(a);
  const right = parseEventId(b);
  return left === undefined || right === undefined ? undefined : compareEventIds(left, right);
}

/** Whether event id `a` comes before `b` (never when `b` is unknown or either does not parse). */
export function isBefore(a: string, b: string | undefined): boolean {
  return b !== undefined && (compareIds(a, b) ?? 0) < 0;
}

/** Whether `id` comes after `last`: always when `last` is unknown; ids that do not parse, whenever they differ. */
export function isAfter(id: string, last: string | undefined): boolean {
  if (last === undefined) return true;
  return (compareIds(id, last) ?? (id === last ? 0 : 1)) > 0;
}
