import { compareEventIds, formatEventId, parseEventId, type SseEventId } from '@nest-sse/protocol';
import type { Redis } from 'ioredis';

import type { SseHistoryRecord, SseHistoryStore, SseReplayResult } from '../history/sse-history-store.interface.js';
import { SseFrame } from '../wire/sse-frame.js';
import type { RedisLogReader } from './redis-log.reader.js';
import type { RedisSseKeys } from './redis-transport.options.js';

/** How long a resume from an id this instance has not read yet waits for its reader to get there. */
const CATCH_UP_MS = 2000;

type StreamEntry = [id: string, fields: string[]];
type PipelineReply = [Error | null, unknown][];

/**
 * The cluster's history: one Redis Stream per user, per topic and for
 * broadcasts, written by the transport's publish script with the cluster log's
 * ids, so a client resumes on any instance, or after all of them restarted.
 * When Redis came back without events it had (an older snapshot, or empty), a
 * resume from before what it lost is answered `history-lost`: from before the
 * restart point an instance recorded, or from an event the log should still
 * hold (it is within the log's range) and does not.
 */
export class RedisHistoryStore implements SseHistoryStore {
  constructor(
    private readonly client: Redis,
    private readonly keys: RedisSseKeys,
    private readonly bounds: { maxEvents: number; ttlMs: number },
    private readonly reader: RedisLogReader,
  ) {}

  /** Nothing to do: the publish script already wrote the event to its history logs, in the same atomic step as to the cluster log. */
  append(_record: SseHistoryRecord): void {}

  async replay(userId: string, after: SseEventId, topics: readonly string[] = []): Promise<SseReplayResult> {
    if (this.client.status !== 'ready') throw new Error('Redis is unreachable');
    // Redis is back, but the reader has not yet checked what it came back with (a restart point may be due).
    if (!(await this.reader.settled(CATCH_UP_MS)))
      throw new Error('the cluster log reader has not read Redis since it came back');
    // Replay stops at what this instance delivered: newer events reach the stream
    // live (it joined before asking), so none comes both ways or not at all.
    if (compareEventIds(after, parseEventId(this.reader.position())!) > 0) {
      // An id another instance delivered before this one read it: wait for the reader to get there.
      const [newest] = (await this.client.xrevrange(this.keys.log, '+', '-', 'COUNT', 1)) as StreamEntry[];
      const newestId = newest ? parseEventId(newest[0]) : undefined;
      if (!newestId || compareEventIds(after, newestId) > 0) return UNKNOWN_ID;
      if (!(await this.reader.reached(after, CATCH_UP_MS)))
        throw new Error(`the cluster log reader is behind ${formatEventId(after)}`);
    }
    const upTo = this.reader.position();
    const unique = [...new Set(topics)];
    const logs = [this.keys.user(userId), this.keys.broadcasts, ...unique.map((topic) => this.keys.topic(topic))];
    const from = formatEventId(after);
    const { log, epoch: epochKey, restart: restartKey } = this.keys;
    // The log's first entry, and the entry `after` if the log has it.
    const pipeline = this.client
      .pipeline()
      .time()
      .get(epochKey)
      .get(restartKey)
      .xrange(log, '-', '+', 'COUNT', 1)
      .xrange(log, from, from);
    for (const key of logs) pipeline.xinfo('STREAM', key).xrange(key, `(${from}`, upTo);
    const replies = (await pipeline.exec()) as PipelineReply;
    const head = replies.slice(0, HEAD);
    const failed = head.find(([err]) => err);
    // eslint-disable-next-line @typescript-eslint/only-throw-error -- failed[0] is the Error ioredis reported for that command; the find above excludes null
    if (failed) throw failed[0];
    const [[, time], [, epoch], [, restart], [, first], [, exact]] = head as [unknown, unknown][];

    // Redis lost events after `after`: it came back from older data, or empty, and an instance found it.
    const restartId = typeof restart === 'string' ? parseEventId(restart) : undefined;
    if (restartId && compareEventIds(after, restartId) < 0) return HISTORY_LOST;
    // Ids from before this data set's history began (Redis lost its data since), or from nowhere.
    const epochId = typeof epoch === 'string' ? parseEventId(epoch) : undefined;
    if (!epochId || compareEventIds(after, epochId) < 0) return UNKNOWN_ID;
    // An event the log should still hold (not older than its first entry) that it does not: lost, though no
    // instance that read it has found that yet. The epoch (a position at boot, no entry's) and the restart point are not.
    const [firstEntry] = first as StreamEntry[];
    const isMark =
      compareEventIds(after, epochId) === 0 || (restartId !== undefined && compareEventIds(after, restartId) === 0);
    if (
      !isMark &&
      (exact as StreamEntry[]).length === 0 &&
      firstEntry &&
      compareEventIds(after, parseEventId(firstEntry[0])!) >= 0
    ) {
      return HISTORY_LOST;
    }
    // A log nobody wrote to for ttlMs expired whole, and a missing key cannot be told
    // from one that never was: so anything older than ttlMs may have been lost.
    const [sec, micro] = time as [string, string];
    if (after.ms < Number(sec) * 1000 + Math.floor(Number(micro) / 1000) - this.bounds.ttlMs) return TOO_OLD;

    const frames: { id: SseEventId; frame: SseFrame }[] = [];
    for (let k = 0; k < logs.length; k++) {
      const [infoErr, info] = replies[HEAD + 2 * k];
      const [rangeErr, entries] = replies[HEAD + 1 + 2 * k];
      if (rangeErr) throw rangeErr;
      // No such key: nothing kept (or it expired, which the age check covers).
      if (!infoErr && this.trimmedPast(info as unknown[], after)) return TOO_OLD;
      // Logs after the user's and the broadcasts' are topics': the entry's topic is its log's (entries keep only type and data).
      for (const [id, fields] of entries as StreamEntry[])
        frames.push({ id: parseEventId(id)!, frame: toFrame(id, fields, k < 2 ? undefined : unique[k - 2]) });
    }
    frames.sort((a, b) => compareEventIds(a.id, b.id));
    // An event sits in one log per recipient; a stream reads one of each kind, but say it once regardless.
    return {
      ok: true,
      frames: frames.filter((f, i) => i === 0 || compareEventIds(f.id, frames[i - 1].id) !== 0).map((f) => f.frame),
    };
  }

  /** Whether the log dropped (by its count bound) an event newer than `after`. */
  private trimmedPast(info: unknown[], after: SseEventId): boolean {
    const field = (name: string) => {
      const at = info.indexOf(name);
      return at === -1 ? undefined : info[at + 1];
    };
    const maxDeleted = field('max-deleted-entry-id');
    if (typeof maxDeleted === 'string') return compareEventIds(after, parseEventId(maxDeleted)!) < 0;
    // Redis before 7 does not say what it trimmed: a full log that starts after `after` may have.
    const first = field('first-entry') as StreamEntry | null | undefined;
    return (
      Number(field('length')) >= this.bounds.maxEvents && !!first && compareEventIds(parseEventId(first[0])!, after) > 0
    );
  }
}

function toFrame(id: string, fields: string[], topic: string | undefined): SseFrame {
  let type: string | undefined;
  let data: string | undefined;
  for (let i = 0; i < fields.length; i += 2) {
    if (fields[i] === 'type') type = fields[i + 1];
    else if (fields[i] === 'data') data = fields[i + 1];
  }
  return new SseFrame({ type, id, data, topic });
}

/** Replies in front of the logs' in replay's pipeline: time, epoch, restart point, the log's first entry, the entry `after`. */
const HEAD = 5;

const UNKNOWN_ID: SseReplayResult = Object.freeze({ ok: false, reason: 'unknown-id' });
const HISTORY_LOST: SseReplayResult = Object.freeze({ ok: false, reason: 'history-lost' });
const TOO_OLD: SseReplayResult = Object.freeze({ ok: false, reason: 'too-old' });
