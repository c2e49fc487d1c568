import { compareEventIds, parseEventId, SSE_EVENT_TYPES, SSE_LIMITS } from '@nest-sse/protocol';

import { SseClientError } from '../sse-client.errors.js';
import type { SseStatus, SseStatusReason } from '../sse-client.types.js';
import type { SseTabElection } from './tab-election.interface.js';
import {
  checkShareMessage,
  newMemberId,
  newNonce,
  shareIdProblem,
  SSE_SHARE_LIMITS,
  type SseBroadcastChannelLike,
  type SseRelayedEvent,
  type SseSharedError,
  type SseShareMessage,
  streamTypeProblem,
} from './tab-share.protocol.js';

const { reset: RESET, connected: CONNECTED } = SSE_EVENT_TYPES;
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
  /**
   * The leader's stream reconnects (for a member's new topic, one nobody needs any more, a
   * member that joined behind it, a refusal) at most once per this long: what members ask
   * meanwhile is coalesced into the next one. The first after a quiet second is at once.
   */
  restartMinIntervalMs: 1_000,
  /**
   * A hand-over (the leader left, or this member took the stream over) is not a reconnect for the
   * page: a member keeps its status (`open`, say) until the new leader's stream reports one, and
   * shows `reconnecting` only if that takes longer than this. A hand-over usually takes tens of ms
   * (the next member in line opens the stream at once); longer means the stream is really down.
   */
  handOverMs: 2_000,
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
  /**
   * A message of the channel was not acted on: `malformed` (not a share message, or one the
   * wire rules refuse), `untrusted` (well-formed, but a leader's message from a member that
   * is not the leader this one follows, or in this member's own name). `reason` says why.
   */
  ignored(kind: 'malformed' | 'untrusted', reason: string): void;
  /** Leaves the share for good and opens a stream of its own (see the `solo` message). */
  goSolo(): void;
  /** Opens the real stream, subscribed to `topics`, resuming after `lastEventId`. */
  openLeaderStream(
    topics: readonly string[],
    types: Iterable<string>,
    lastEventId: string | undefined,
    relay: SseLeaderRelay,
  ): SseLeaderStream;
}

interface MemberNeeds {
  topics: readonly string[];
  types: readonly string[];
  lastEventId: string | undefined;
  seenAt: number;
  /** The stream was rewound for it once already: a member rejoins only after it left (its `bye`), or was forgotten. */
  rewound: boolean;
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
   * Who a reset on this stream concerns: everyone after a hand-over or a restart from the
   * stream's position (they may have missed events); only the members it was rewound for
   * while it answers the rewind (the others are ahead), everyone once it brought an event.
   */
  resetsFor: 'all' | ReadonlySet<string>;
  /** Where it resumed from (`undefined`: fresh). */
  from: string | undefined;
  /** A rewound stream's: where the members it was not rewound for stand (the position before the rewind). */
  othersFrom: string | undefined;
  /**
   * A rewound stream answered with a reset (it could not go back that far): it is at the
   * present, past what the others missed meanwhile, so it relays nothing more, and a stream
   * resuming from `othersFrom` replaces it at once.
   */
  catchingUp: boolean;
}

/**
 * A member that claims to lead (a roll-call, or a leader's message while none is followed),
 * asked to prove it by answering a ping with `nonce`, and its messages held meanwhile.
 */
interface Claimant {
  nonce: string;
  since: number;
  held: SseShareMessage[];
}

/** Claimants checked at once, and messages held for each. */
const MAX_CLAIMANTS = 4;
const MAX_HELD = 1_000;

/** The leader's messages: acted on only when they come from the leader this member follows. */
const LEADER_KINDS: ReadonlySet<SseShareMessage['kind']> = new Set(['event', 'status', 'error', 'solo']);

/**
 * A restart of the leader's stream waiting for its turn: the members it rewinds for, and
 * the id each resumes from. Where the others stand is read when it runs.
 */
interface PendingRestart {
  rewinds: Map<string, string>;
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
  private catchUpTimer: ReturnType<typeof setTimeout> | undefined;
  /** Set while a hand-over is under way: shows `reconnecting` once it took `handOverMs`. */
  private handOverTimer: ReturnType<typeof setTimeout> | undefined;
  /** When the leader's stream was last restarted (`restartMinIntervalMs`). */
  private restartedAt = Number.NEGATIVE_INFINITY;
  private keepAlive: ReturnType<typeof setInterval> | undefined;
  private watch: ReturnType<typeof setInterval> | undefined;
  /**
   * The leader this member follows (`undefined` id: none yet), when it last spoke, and when
   * it was pinged (with `nonce`) without an answer yet. A member is followed once it proved
   * it leads: it answered a ping with its nonce (see `claimants`).
   */
  private leader: { id: string | undefined; heardAt: number; pingedAt: number | undefined; nonce?: string } | undefined;
  /** Members that claim to lead, each pinged: the first to answer is followed. */
  private readonly claimants = new Map<string, Claimant>();
  private active = false;
  /**
   * The newest position of the leader's stream this member knows: the ids of the events it
   * relayed (any topic), and the position its statuses report (the opening's id before any event).
   */
  private position: string | undefined;
  private readonly onMessage = (event: MessageEvent): void => this.receive(event.data);
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
    if (this.leaveIfTooManyTypes()) return;
    this.announce(false);
    if (this.leading) this.syncLeader();
  }

  private resume(): void {
    if (this.active) return;
    this.active = true;
    if (this.leaveIfTooManyTypes()) return;
    this.followNobody();
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
    this.handOverDone();
    this.leader = undefined;
    this.claimants.clear();
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
    const now = Date.now();
    for (const [id, claimant] of this.claimants) {
      if (now - claimant.since >= SSE_SHARE_TIMINGS.answerMs) this.dropClaimant(id, 'never proved it leads');
    }
    const leader = this.leader;
    if (this.leading || !leader) return;
    if (leader.pingedAt === undefined) {
      if (now - leader.heardAt >= SSE_SHARE_TIMINGS.watchMs) {
        leader.pingedAt = now;
        leader.nonce = newNonce();
        this.post({ kind: 'ping', from: this.id, to: leader.id, nonce: leader.nonce });
      }
      return;
    }
    const waited = now - leader.pingedAt;
    const first = [...this.members.keys()].every((id) => id === leader.id || this.id < id);
    if (waited >= SSE_SHARE_TIMINGS.answerMs * (first ? 1 : 2)) {
      // Whoever leads next (this member, or another that claimed first) is followed once it proves it.
      this.followNobody();
      this.election.takeOver();
    }
  }

  /**
   * The stream changes hands: the member's status stays as it is (a hand-over is not a
   * reconnect for the page) unless no stream reports one within `handOverMs`.
   */
  private awaitHandOver(): void {
    if (this.handOverTimer !== undefined) return;
    this.handOverTimer = setTimeout(() => {
      this.handOverTimer = undefined;
      if (this.active) this.host.mirrorStatus('reconnecting', 'dropped');
    }, SSE_SHARE_TIMINGS.handOverMs);
  }

  /** A stream reported its status: the hand-over, if any, is over. */
  private handOverDone(): void {
    clearTimeout(this.handOverTimer);
    this.handOverTimer = undefined;
  }

  /** Any message from the leader says it runs. */
  private heardFromLeader(): void {
    if (!this.leader) return;
    this.leader.heardAt = Date.now();
    this.leader.pingedAt = undefined;
  }

  /** No leader known (joining, or the one followed left): the next to prove it leads is followed. */
  private followNobody(): void {
    // Not heard of yet: a leader that does not run (hung, frozen) must still be noticed.
    this.leader = { id: undefined, heardAt: Date.now(), pingedAt: undefined };
  }

  /**
   * `id` says it leads (a roll-call), or sent a leader's message while none is followed:
   * it is pinged, and followed once it answers with the ping's nonce. A script that only
   * posts messages cannot: it does not hear the nonce.
   */
  private claim(id: string): Claimant {
    const known = this.claimants.get(id);
    if (known) return known;
    if (this.claimants.size >= MAX_CLAIMANTS)
      this.dropClaimant(this.claimants.keys().next().value!, 'too many claimants');
    const claimant: Claimant = { nonce: newNonce(), since: Date.now(), held: [] };
    this.claimants.set(id, claimant);
    this.post({ kind: 'ping', from: this.id, to: id, nonce: claimant.nonce });
    return claimant;
  }

  private dropClaimant(id: string, why: string): void {
    const claimant = this.claimants.get(id);
    if (!claimant) return;
    this.claimants.delete(id);
    for (const message of claimant.held) this.host.ignored('untrusted', `${message.kind} from ${id}, which ${why}`);
  }

  /** `id` proved it leads: it is followed, and what it sent meanwhile is acted on, in order. */
  private follow(id: string): void {
    const held = this.claimants.get(id)?.held ?? [];
    this.claimants.delete(id);
    for (const other of [...this.claimants.keys()]) this.dropClaimant(other, 'is not the leader');
    this.leader = { id, heardAt: Date.now(), pingedAt: undefined };
    for (const message of held) {
      // Each may end the following (a solo, a give-up) or this membership.
      if (!this.active || this.leading || this.leader?.id !== id) return;
      this.fromLeader(message);
    }
  }

  /**
   * An event type list this member cannot send (`SSE_SHARE_LIMITS.typesPerMember`): it
   * opens a stream of its own instead (on the next turn: this may run while it starts).
   */
  private leaveIfTooManyTypes(): boolean {
    if (this.streamTypes().length <= SSE_SHARE_LIMITS.typesPerMember) return false;
    void Promise.resolve().then(() => {
      if (this.active) this.host.goSolo();
    });
    return true;
  }

  /** The event types this member handles that a stream can carry (the wire rule); the others never arrive. */
  private streamTypes(): string[] {
    return [...this.host.handledTypes()].filter((type) => streamTypeProblem(type) === undefined);
  }

  private announce(join: boolean): void {
    const lastEventId = this.host.lastEventId;
    this.post({
      kind: 'member',
      from: this.id,
      join,
      topics: this.host.topics,
      types: this.streamTypes(),
      // An id the others would refuse (an app's own `lastEventId` option) is not sent.
      lastEventId: wireId(lastEventId),
    });
  }

  private lead(): void {
    if (!this.active || this.leading) return;
    // The leader this one replaces (closed, crashed, stuck) needs nothing any more.
    if (this.leader?.id !== undefined) {
      this.members.delete(this.leader.id);
      this.awaitHandOver();
    }
    this.leader = undefined;
    this.claimants.clear();
    this.post({ kind: 'roll-call', from: this.id });
    this.openStream(this.latestSeenId(), 'all');
    this.host.roleChanged(true);
  }

  /** Lost the lead without giving it up (stolen, or a lease conflict): say so, and follow. */
  private resign(): void {
    if (!this.leading) return;
    this.stopLeading();
    this.followNobody();
    this.post({ kind: 'resigned', from: this.id });
  }

  private openStream(lastEventId: string | undefined, resetsFor: Leading['resetsFor'], othersFrom?: string): void {
    const { topics, soloists } = this.union();
    if (soloists.length > 0) this.sendSolo(soloists);
    const types = new Set(this.host.handledTypes());
    for (const member of this.members.values()) member.types.forEach((type) => types.add(type));
    const leading: Leading = {
      stream: undefined,
      topics,
      types,
      reason: 'opened',
      resetsFor,
      from: lastEventId,
      othersFrom,
      catchingUp: false,
    };
    this.leading = leading;
    const relay: SseLeaderRelay = {
      event: (event) => {
        if (this.leading !== leading || leading.catchingUp) return;
        if ((event.type === RESET || event.type === CONNECTED) && leading.resetsFor !== 'all') {
          // A rewound stream's opening and reset are for the members it was rewound for: the
          // others stand further (the opening's id is the present when it resets), and may have
          // missed what came while it reconnected.
          const only = [...leading.resetsFor];
          this.post({ kind: 'event', from: this.id, event, only });
          if (only.includes(this.id)) this.host.receive(event);
          if (event.type === RESET) this.catchUp(leading);
          return;
        }
        // Replayed or live: the rewind was answered, and what comes later (a reset when the
        // server lost history) concerns everyone.
        leading.resetsFor = 'all';
        this.notePosition(event.id);
        this.post({ kind: 'event', from: this.id, event });
        this.host.receive(event);
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
          position: wireId(this.othersPosition(leading) ?? lastEventId),
          error: error && shared(error),
        });
        this.handOverDone();
        this.host.mirrorStatus(status, reason, error);
      },
      error: (error) => {
        // The give-up error went with the `error` status.
        if (this.leading !== leading || (leading.stream && gaveUp(leading.stream.status))) return;
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
    this.restart();
    // Its own retries would be refused the same way (and could give up) while the stream
    // without those topics waits for its turn. A stream that gave up (a 403 it saw) is done already.
    if (leading.stream && !gaveUp(leading.stream.status)) leading.stream.close();
    return true;
  }

  /**
   * Where the leader's stream stands for the members: its last id, or, once it was rewound
   * too far and reset (`catchingUp`), the newest id relayed before.
   */
  private resumePoint(leading: Leading): string | undefined {
    return leading.catchingUp ? this.position : leading.stream?.lastEventId;
  }

  /**
   * Where the members the stream was not rewound for stand: where it stands, or, while a
   * rewind is unanswered (no event came yet), where it stood before the rewind.
   */
  private othersPosition(leading: Leading): string | undefined {
    return leading.resetsFor !== 'all' && !leading.catchingUp ? leading.othersFrom : this.resumePoint(leading);
  }

  /**
   * The stream was rewound for some members to an id the server could not resume from (a
   * reset): the others, who stood at `othersFrom`, missed what was published while it
   * reconnected. A stream resuming from there replaces it at once (not waiting its turn, nor
   * merged with a rewind: it would reset again), and what the reset stream brings meanwhile
   * is not relayed: the new one brings it, in order.
   */
  private catchUp(leading: Leading): void {
    leading.catchingUp = true;
    clearTimeout(this.catchUpTimer);
    this.catchUpTimer = setTimeout(() => {
      this.catchUpTimer = undefined;
      if (this.leading !== leading) return;
      this.restartedAt = Date.now();
      leading.stream?.close();
      this.openStream(leading.othersFrom, 'all');
    }, 0);
  }

  /** Tells `ids` to open streams of their own; the union leaves them out from now on. */
  private sendSolo(ids: readonly string[]): void {
    if (ids.length === 0) return;
    this.post({ kind: 'solo', from: this.id, members: ids });
    ids.forEach((id) => this.members.delete(id));
  }

  private stopLeading(): void {
    clearTimeout(this.restartTimer);
    clearTimeout(this.catchUpTimer);
    this.restartTimer = undefined;
    this.catchUpTimer = undefined;
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
   * not know), which may be behind the stream (a reloaded tab): the stream is rewound for it,
   * once per membership (a member that says it joins again without having left is not).
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
    const position = this.othersPosition(leading);
    const { topics, soloists } = this.union();
    this.sendSolo(soloists);
    const changed = topics.size !== leading.topics.size || [...topics].some((topic) => !leading.topics.has(topic));
    const member = joined ? this.members.get(joined.id) : undefined;
    if (joined?.lastEventId !== undefined && member && !member.rewound && isBefore(joined.lastEventId, position)) {
      member.rewound = true;
      this.restart({ id: joined.id, lastEventId: joined.lastEventId });
    } else if (changed) {
      this.restart();
    }
  }

  /**
   * Replaces the leader's stream on the next turn, or once `restartMinIntervalMs` passed since
   * the last restart: what members ask meanwhile (joining together, or a script re-joining
   * every few ms) costs that one reconnect. It resumes from where the members stand then,
   * rewound for those that joined behind (`rewind`).
   */
  private restart(rewind?: { id: string; lastEventId: string }): void {
    const pending = this.restartPending ?? { rewinds: new Map<string, string>() };
    if (rewind) pending.rewinds.set(rewind.id, rewind.lastEventId);
    if (this.restartPending) return;
    this.restartPending = pending;
    const wait = Math.max(0, this.restartedAt + SSE_SHARE_TIMINGS.restartMinIntervalMs - Date.now());
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      this.restartPending = undefined;
      const leading = this.leading;
      if (!leading) return;
      this.restartedAt = Date.now();
      const { rewinds } = pending;
      if (leading.resetsFor !== 'all' && !leading.catchingUp && leading.from !== undefined) {
        // Its own rewind is not answered yet (no event came): the next stream rewinds for them too.
        for (const id of leading.resetsFor) if (!rewinds.has(id)) rewinds.set(id, leading.from);
      }
      const othersFrom = this.othersPosition(leading);
      let from = othersFrom;
      const rewoundFor = new Set<string>();
      for (const [id, lastEventId] of rewinds) {
        if (!this.members.has(id) || !isBefore(lastEventId, othersFrom)) continue;
        rewoundFor.add(id);
        if (isBefore(lastEventId, from)) from = lastEventId;
      }
      leading.stream?.close();
      this.openStream(from, rewoundFor.size > 0 ? rewoundFor : 'all', othersFrom);
    }, wait);
  }

  /**
   * The newest id this member saw, or the leader's stream reached (`position`): where a new
   * leader resumes. What other members say they saw is not taken: anyone can say anything.
   */
  private latestSeenId(): string | undefined {
    const own = this.host.lastEventId;
    return this.position !== undefined && (own === undefined || isBefore(own, this.position)) ? this.position : own;
  }

  /** The leader's stream reached `id` (relayed, or reported in a status). */
  private notePosition(id: string | undefined): void {
    if (id === undefined || id === '' || wireId(id) === undefined) return;
    if (this.position === undefined || isBefore(this.position, id)) this.position = id;
  }

  private receive(data: unknown): void {
    if (!this.active) return;
    const checked = checkShareMessage(data);
    if (!('message' in checked)) {
      this.host.ignored('malformed', checked.problem);
      // A member whose needs no stream can take goes solo: the others keep theirs.
      if (checked.refuse !== undefined && checked.refuse !== this.id && this.leading) {
        const known = this.members.has(checked.refuse);
        this.sendSolo([checked.refuse]);
        if (known) this.syncLeader();
      }
      return;
    }
    const message = checked.message;
    if (message.from === this.id) {
      // A channel never delivers a message back to its sender: someone else wrote this one.
      this.host.ignored('untrusted', `${message.kind} in this member's own name`);
      return;
    }
    if (LEADER_KINDS.has(message.kind)) {
      this.fromAnyLeader(message);
      return;
    }
    switch (message.kind) {
      case 'member': {
        // A member this one did not know (forgotten while its page slept, or unknown to a new leader) is a newcomer.
        const join = message.join || !this.members.has(message.from);
        if (!this.members.has(message.from) && this.members.size >= SSE_SHARE_LIMITS.members) {
          this.host.ignored('untrusted', `member ${message.from}: ${SSE_SHARE_LIMITS.members} members already`);
          if (this.leading) this.sendSolo([message.from]);
          break;
        }
        this.members.set(message.from, {
          topics: message.topics,
          types: message.types,
          lastEventId: message.lastEventId,
          seenAt: Date.now(),
          rewound: this.members.get(message.from)?.rewound ?? false,
        });
        const leading = this.leading;
        if (!leading?.stream) break;
        if (join && leading.stream.status !== 'connecting') {
          // The newcomer mirrors the stream's status as it is now, and learns its position.
          const { stream, reason, topics } = leading;
          const position = wireId(this.othersPosition(leading));
          this.post({ kind: 'status', from: this.id, status: stream.status, reason, topics: [...topics], position });
        }
        this.syncLeader(join ? { id: message.from, lastEventId: message.lastEventId } : undefined);
        break;
      }
      case 'bye': {
        this.members.delete(message.from);
        this.dropClaimant(message.from, 'left');
        if (this.leader?.id === message.from) {
          this.followNobody();
          if (message.leader && !this.leading) this.awaitHandOver();
        }
        this.syncLeader();
        break;
      }
      case 'roll-call':
        this.announce(false);
        // A new leader: followed once it proves it leads (the old one may be gone without a word: crashed, stolen from).
        if (!this.leading && this.leader?.id !== message.from) this.claim(message.from);
        break;
      case 'ping':
        if (this.leading) this.post({ kind: 'pong', from: this.id, nonce: message.nonce });
        else if (message.to === this.id) this.post({ kind: 'resigned', from: this.id });
        break;
      case 'pong': {
        const leader = this.leader;
        if (this.leading || !leader) break;
        if (leader.id === message.from) this.heardFromLeader();
        else if (this.claimants.get(message.from)?.nonce === message.nonce) this.follow(message.from);
        else if (leader.id === undefined && leader.nonce === message.nonce) this.follow(message.from);
        break;
      }
      case 'resigned':
        this.dropClaimant(message.from, 'does not lead');
        if (this.leader?.id === message.from) this.followNobody();
        break;
    }
  }

  /**
   * A leader's message (an event, a status, an error, a solo): acted on from the leader this
   * member follows; held while its sender proves it leads, when it may be the new leader (it
   * called the roll, or none is followed yet); ignored otherwise.
   */
  private fromAnyLeader(message: SseShareMessage): void {
    const leader = this.leader;
    if (this.leading || !leader) {
      this.host.ignored('untrusted', `${message.kind} from ${message.from}: this member leads`);
      return;
    }
    if (leader.id === message.from) {
      this.heardFromLeader();
      this.fromLeader(message);
      return;
    }
    const claimant =
      this.claimants.get(message.from) ?? (leader.id === undefined ? this.claim(message.from) : undefined);
    if (!claimant) {
      this.host.ignored('untrusted', `${message.kind} from ${message.from}, not the leader`);
    } else if (claimant.held.length >= MAX_HELD) {
      this.dropClaimant(message.from, `sent more than ${MAX_HELD} messages before proving it leads`);
      this.host.ignored('untrusted', `${message.kind} from ${message.from}, not the leader`);
    } else {
      claimant.held.push(message);
    }
  }

  /** A message of the leader this member follows. */
  private fromLeader(message: SseShareMessage): void {
    switch (message.kind) {
      case 'event':
        // An event for some members only (a rewound stream's opening or reset) says nothing of where the stream stands for all.
        if (!message.only) this.notePosition(message.event.id);
        if (!message.only || message.only.includes(this.id)) this.host.receive(message.event);
        break;
      case 'status':
        this.notePosition(message.position);
        if (message.status === 'open') message.topics.forEach((topic) => this.proven.add(topic));
        if (message.status === 'open' && !this.host.topics.every((topic) => message.topics.includes(topic))) break;
        this.handOverDone();
        this.host.mirrorStatus(message.status, message.reason, message.error && clientError(message.error));
        break;
      case 'error':
        this.host.mirrorError(clientError(message));
        break;
      case 'solo':
        if (message.members.includes(this.id)) this.host.goSolo();
        else message.members.forEach((id) => this.members.delete(id));
        break;
      default:
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

/** Whether a stream stopped for good on its own (its error went with its status). */
function gaveUp(status: SseStatus): boolean {
  return status === 'error' || status === 'unauthorized';
}

/** `id` as a member may name it to the others (`shareIdProblem`), or `undefined`. */
function wireId(id: string | undefined): string | undefined {
  return id !== undefined && shareIdProblem(id) === undefined ? id : undefined;
}

function shared({ code, message, httpStatus, reason }: SseClientError): SseSharedError {
  return reason === undefined ? { code, message, httpStatus } : { code, message, httpStatus, reason };
}

function clientError({ code, message, httpStatus, reason }: SseSharedError): SseClientError {
  return new SseClientError(code, message, { httpStatus, reason });
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
