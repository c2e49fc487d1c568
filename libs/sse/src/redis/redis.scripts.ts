import { SSE_EVENT_TYPES, SSE_RESET_REASONS } from '@nest-sse/protocol';
import type { Redis } from 'ioredis';

/**
 * The Lua scripts, each run atomically by Redis: that is what keeps the ids of
 * every log in one order under concurrent publishers, and a user's slot count
 * under its limit when two instances take a slot at once. Times come from the
 * Redis server (TIME), never from an instance's clock.
 */

/** Event ids (`<ms>-<seq>`, as Redis Streams give them) in Lua: ms fit a double exactly (15 digits at most). */
const IDS = `
local function parseId(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  return tonumber(ms), tonumber(seq)
end
local function formatId(ms, seq)
  return string.format('%.0f-%.0f', ms, seq)
end
-- Whether id a comes before id b.
local function before(a, b)
  local ams, aseq = parseId(a)
  local bms, bseq = parseId(b)
  return ams < bms or (ams == bms and aseq < bseq)
end
local function nextId(id)
  local ms, seq = parseId(id)
  return formatId(ms, seq + 1)
end
`;

/**
 * The restart point's entry in the cluster log: a `reset` (history-lost) to every stream, marked by its
 * field `r` so that readers tell it from an event someone named `reset`. A reader that does not know the
 * mark (an older version, during a rolling deploy) delivers it as what it is: a reset frame to every stream.
 */
export const RESTART_MARK_FIELDS = [
  'type',
  SSE_EVENT_TYPES.reset,
  'data',
  JSON.stringify({ reason: 'history-lost', message: SSE_RESET_REASONS['history-lost'] }),
  'r',
  '1',
] as const;

/**
 * KEYS[1..3]: log, epoch, restart point. Whether the log still holds what an instance read from it, up to
 * `floor` (`entry`: floor is the id of an entry it read, not a position without one, as at boot). It does
 * not when Redis came back from older data (a snapshot), or empty, or the log was trimmed past it: then
 * events may have been lost under the instance's streams. Returns false when nothing was lost, else the
 * restart point: an id above everything the log holds or held, after which the log and every history log
 * are whole again. The first instance to find a loss records it: an entry of the log (RESTART_MARK_FIELDS),
 * so every later event is above it and every reader, however far behind, meets it in log order. One that
 * finds a point past its floor already recorded takes that one: a cluster's streams all get their reset at
 * the same id.
 */
const RESTART_POINT = `${IDS}
local function restartPoint(floor, entry)
  local recorded = redis.call('GET', KEYS[3])
  if recorded and before(floor, recorded) then return recorded end
  local last
  if redis.call('EXISTS', KEYS[1]) == 1 then
    local info = redis.call('XINFO', 'STREAM', KEYS[1])
    for i = 1, #info, 2 do
      if info[i] == 'last-generated-id' then last = info[i + 1] end
    end
  end
  local epoch = redis.call('GET', KEYS[2])
  local lost = not last or not epoch or before(floor, epoch) or before(last, floor)
  if not lost and entry then lost = #redis.call('XRANGE', KEYS[1], floor, floor) == 0 end
  if not lost then return false end
  local t = redis.call('TIME')
  local point = formatId(tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000), 0)
  if last and not before(last, point) then point = nextId(last) end
  if not before(floor, point) then point = nextId(floor) end
  redis.call('XADD', KEYS[1], point, ${RESTART_MARK_FIELDS.map((field) => `[==[${field}]==]`).join(', ')})
  redis.call('SET', KEYS[3], point)
  redis.call('SET', KEYS[2], point, 'NX')
  return point
end
`;

/** How long Redis remembers a publishing instance's last batch (see PUBLISH): past any outage a batch could be sent again after. */
export const WRITER_TTL_MS = 24 * 60 * 60 * 1000;

/**
 * A batch of events, written in order. KEYS: log, epoch, restart point, the publishing
 * instance's key, then each event's history logs in turn. ARGV: log MAXLEN, events per
 * history log, history ttl ms, the instance's floor (the newest id it delivered, '' for
 * none), '1' when that is an entry's id, '1' to check first whether Redis lost events
 * (see RESTART_POINT: the instance lost its connection since its last checked publish),
 * the batch's number (each instance numbers its batches from 1), then five per event:
 * type, data, audience field ('' for a broadcast, 'u' or 't'), its value, how many history
 * logs it has. Each event gets its own id from Redis, above the floor; the batch runs as
 * one atomic step, so every log's ids increase whatever other instances publish.
 *
 * A batch is written once: the instance's key holds the number of its last batch, so one
 * sent again after its reply was lost with the connection (ioredis resends what was not
 * answered) is skipped when Redis has it, and written when Redis lost it too. A number
 * that does not follow the last one means Redis lost batches of this instance: it checks
 * then too. Returns how many events it wrote (0 for a batch already written).
 */
const PUBLISH = `${RESTART_POINT}
local maxLen, keep, ttl, floor, entry, check = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4], ARGV[5] == '1', ARGV[6] == '1'
local batch = tonumber(ARGV[7])
local last = tonumber(redis.call('GET', KEYS[4]) or '0')
if floor ~= '' and (check or last ~= batch - 1) then restartPoint(floor, entry) end
if batch <= last then return 0 end
redis.call('SET', KEYS[4], batch, 'PX', ${WRITER_TTL_MS})
local k = 5
local first
local touched, order = {}, {}
for a = 8, #ARGV, 5 do
  local type, data, field = ARGV[a], ARGV[a + 1], ARGV[a + 2]
  local id
  for attempt = 1, 2 do
    if field == '' then
      id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', maxLen, '*', 'type', type, 'data', data)
    else
      id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', maxLen, '*', 'type', type, 'data', data, field, ARGV[a + 3])
    end
    -- Once per batch (the next events are above this one), and a second time never needed.
    if first or floor == '' or before(floor, id) then break end
    -- The log's last id was at or below what this instance delivered (Redis came back from older data
    -- that no instance checked yet, or its clock is behind): raised to it, so that ids keep increasing.
    redis.call('XDEL', KEYS[1], id)
    redis.call('XSETID', KEYS[1], floor)
  end
  first = first or id
  local through = k + tonumber(ARGV[a + 4]) - 1
  for i = k, through do
    -- pcall: a history log left with a newer id (its cluster log deleted by hand) must not stop the event.
    redis.pcall('XADD', KEYS[i], id, 'type', type, 'data', data)
    if not touched[KEYS[i]] then
      touched[KEYS[i]] = true
      order[#order + 1] = KEYS[i]
    end
  end
  k = through + 1
end
if first then redis.call('SET', KEYS[2], first, 'NX') end
-- Each log touched is trimmed and renewed once per batch.
for _, key in ipairs(order) do
  -- Dropped with XDEL rather than MAXLEN: XINFO's max-deleted-entry-id then names the newest event a log lost.
  -- pcall: a key of another type under the prefix must not fail the other events of the batch.
  local over = (tonumber(redis.pcall('XLEN', key)) or 0) - keep
  if over > 0 then
    for _, entry in ipairs(redis.call('XRANGE', key, '-', '+', 'COUNT', over)) do
      redis.call('XDEL', key, entry[1])
    end
  end
  redis.call('PEXPIRE', key, ttl)
end
return (#ARGV - 7) / 5
`;

/**
 * KEYS: log, epoch, restart point. ARGV: the reader's position, '1' when it is an entry's id.
 * What a log reader asks when Redis is back after an outage: the restart point when events
 * were lost (see RESTART_POINT), else nil.
 */
const RESTART = `${RESTART_POINT}
return restartPoint(ARGV[1], ARGV[2] == '1')
`;

const NOW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

/**
 * KEYS: log, epoch. Makes the log if there is none, with a last id of now
 * (XADD MAXLEN 0 keeps no entry), so every event published from here has a
 * greater id, and records where history begins (the epoch) unless it is known.
 * Returns the log's last id: where this instance starts reading.
 */
const BOOT = `${NOW}
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('XADD', KEYS[1], 'MAXLEN', '0', now .. '-1', 'boot', '1')
end
local info = redis.call('XINFO', 'STREAM', KEYS[1])
local last
for i = 1, #info, 2 do
  if info[i] == 'last-generated-id' then last = info[i + 1] end
end
redis.call('SET', KEYS[2], last, 'NX')
return last
`;

/**
 * KEYS: user's slots, all slots. ARGV: limit, member, ttl ms. Returns 0 when the
 * user is at the limit, else the user's live slots with this one (1: their first
 * stream in the cluster).
 */
const ACQUIRE = `${NOW}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local held = redis.call('ZCARD', KEYS[1])
if held >= tonumber(ARGV[1]) then return 0 end
local ttl = tonumber(ARGV[3])
redis.call('ZADD', KEYS[1], now + ttl, ARGV[2])
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
redis.call('ZADD', KEYS[2], now + ttl, ARGV[2])
return held + 1
`;

/**
 * KEYS: user's slots, all slots. ARGV: member. Returns the user's live slots
 * left, or -1 when the slot was not there (expired, or Redis lost it): only the
 * release that removed the last slot sees 0, so the cluster's 1 -> 0 is reported once.
 */
const RELEASE = `${NOW}
redis.call('ZREM', KEYS[2], ARGV[1])
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then return -1 end
return redis.call('ZCOUNT', KEYS[1], '(' .. now, '+inf')
`;

/**
 * KEYS: all slots, then each slot's user key. ARGV: ttl ms, then each slot's member.
 * Renews them, adding back any that expired meanwhile (Redis away longer than
 * the ttl, or restarted empty): they are streams still open here.
 */
const REFRESH = `${NOW}
local ttl = tonumber(ARGV[1])
for i = 2, #KEYS do
  redis.call('ZADD', KEYS[i], now + ttl, ARGV[i])
  redis.call('PEXPIRE', KEYS[i], ttl)
  redis.call('ZADD', KEYS[1], now + ttl, ARGV[i])
end
return #KEYS - 1
`;

/** KEYS: a slots key. Live slots in it. */
const COUNT = `${NOW}
return redis.call('ZCOUNT', KEYS[1], '(' .. now, '+inf')
`;

/** Expired tickets an issue sweeps at most: one script stays short however many expired at once. */
const TICKET_SWEEP_LIMIT = 100;

/**
 * Stream tickets (RedisTicketStore). Per ticket, keyed by the SHA-256 of the ticket (Redis never holds a ticket
 * itself): a hash `u` user id, `d` deadline (µs, Redis's clock), `s` scope, `g` the grant's JSON, expiring with
 * the ticket. Beside them: all tickets (a sorted set of `<hash>:<userId>` by deadline), each user's tickets
 * (hashes by deadline: oldest first) and the holders (user ids by how many they hold, for the server-wide cap).
 * `all` is the truth the other two follow: a ticket is counted while it is in it, and `drop` only uncounts what
 * it removed from it, so the counts stay exact whatever expired on its own.
 */
const TICKETS = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
-- hash: 43 characters (base64url of SHA-256).
local function drop(all, holders, ticketPrefix, userPrefix, hash, userId)
  redis.call('DEL', ticketPrefix .. hash)
  redis.call('ZREM', userPrefix .. userId, hash)
  if redis.call('ZREM', all, hash .. ':' .. userId) == 1 and tonumber(redis.call('ZINCRBY', holders, -1, userId)) <= 0 then
    redis.call('ZREM', holders, userId)
  end
end
`;

/**
 * KEYS: all, holders, the user's tickets, the new ticket's hash key. ARGV: ticket key prefix, user tickets key
 * prefix, user id, hash, ttl ms, maxPerUser, maxOutstanding, scope, grant JSON. Sweeps the expired (at most
 * SWEEP_LIMIT per issue: the rest go with later issues, and each ticket's own key expires anyway), makes room by
 * replacement (the user's oldest past maxPerUser, else past maxOutstanding the oldest of a user holding the most),
 * then adds the ticket; never refuses. Returns the tickets held after it.
 *
 * Idempotent: ioredis sends a command again when the connection dropped before its answer, so the same issue may
 * run twice. A replay finds the ticket's key and makes no room again, and the ticket is counted only when `ZADD
 * all` added it. A holder counted with no tickets of its own (a count that drifted) is cleared, and the globally
 * oldest ticket goes instead. The sets' expiry is only ever lengthened (instances may run different ttlMs; PTTL
 * compared here rather than PEXPIRE GT, which needs Redis 7).
 */
const TICKET_ISSUE = `${TICKETS}
local all, holders, own = KEYS[1], KEYS[2], KEYS[3]
local ticketPrefix, userPrefix, userId, hash = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local ttl, maxPerUser, maxOutstanding = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
for _, member in ipairs(redis.call('ZRANGEBYSCORE', all, '-inf', now, 'LIMIT', 0, ${TICKET_SWEEP_LIMIT})) do
  drop(all, holders, ticketPrefix, userPrefix, string.sub(member, 1, 43), string.sub(member, 45))
end
if redis.call('EXISTS', KEYS[4]) == 0 then
  if redis.call('ZCARD', own) >= maxPerUser then
    drop(all, holders, ticketPrefix, userPrefix, redis.call('ZRANGE', own, 0, 0)[1], userId)
  elseif redis.call('ZCARD', all) >= maxOutstanding then
    local heaviest = redis.call('ZREVRANGE', holders, 0, 0)[1]
    local oldest = heaviest and redis.call('ZRANGE', userPrefix .. heaviest, 0, 0)[1]
    if oldest then
      drop(all, holders, ticketPrefix, userPrefix, oldest, heaviest)
    else
      if heaviest then redis.call('ZREM', holders, heaviest) end
      local first = redis.call('ZRANGE', all, 0, 0)[1]
      if first then drop(all, holders, ticketPrefix, userPrefix, string.sub(first, 1, 43), string.sub(first, 45)) end
    end
  end
end
local deadline = now + ttl * 1000
redis.call('HSET', KEYS[4], 'u', userId, 'd', deadline, 's', ARGV[8], 'g', ARGV[9])
redis.call('PEXPIRE', KEYS[4], ttl)
if redis.call('ZADD', all, deadline, hash .. ':' .. userId) == 1 then redis.call('ZINCRBY', holders, 1, userId) end
redis.call('ZADD', own, deadline, hash)
-- Every ticket in them ends within the longest ttl given: an idle cluster's keys go with its last ticket.
for _, key in ipairs({ all, holders, own }) do
  if redis.call('PTTL', key) < ttl then redis.call('PEXPIRE', key, ttl) end
end
return redis.call('ZCARD', all)
`;

/**
 * KEYS: all, holders, the ticket's hash key. ARGV: ticket key prefix, user tickets key prefix, hash, scope, '1'
 * to spend it (a GET) or '0' to look (a HEAD). Looks up, spends and checks deadline and scope in one step, so of
 * any number of redemptions on any instances one gets the grant; a ticket tried for any reason is spent. Returns
 * the grant's JSON, or false.
 */
const TICKET_REDEEM = `${TICKETS}
local found = redis.call('HMGET', KEYS[3], 'u', 'd', 's', 'g')
if not found[1] then return false end
if ARGV[5] == '1' then drop(KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3], found[1]) end
if tonumber(found[2]) <= now or found[3] ~= ARGV[4] then return false end
return found[4]
`;

/** A client with the transport's scripts (EVALSHA, falling back to EVAL after Redis lost its script cache). */
export interface RedisScripts {
  sseBoot(log: string, epoch: string): Promise<string>;
  sseRestart(log: string, epoch: string, restart: string, position: string, entry: '0' | '1'): Promise<string | null>;
  ssePublish(numKeys: number, ...keysAndArgs: (string | string[])[]): Promise<number>;
  sseAcquire(userSlots: string, allSlots: string, limit: number, member: string, ttlMs: number): Promise<number>;
  sseRelease(userSlots: string, allSlots: string, member: string): Promise<number>;
  sseRefresh(numKeys: number, ...keysAndArgs: (string | number)[]): Promise<number>;
  sseCount(slots: string): Promise<number>;
  sseTicketIssue(...keysAndArgs: (string | number)[]): Promise<number>;
  sseTicketRedeem(...keysAndArgs: string[]): Promise<string | null>;
}

export function defineScripts(client: Redis): Redis & RedisScripts {
  client.defineCommand('sseBoot', { numberOfKeys: 2, lua: BOOT });
  client.defineCommand('ssePublish', { lua: PUBLISH });
  client.defineCommand('sseRestart', { numberOfKeys: 3, lua: RESTART });
  client.defineCommand('sseAcquire', { numberOfKeys: 2, lua: ACQUIRE });
  client.defineCommand('sseRelease', { numberOfKeys: 2, lua: RELEASE });
  client.defineCommand('sseRefresh', { lua: REFRESH });
  client.defineCommand('sseCount', { numberOfKeys: 1, lua: COUNT });
  client.defineCommand('sseTicketIssue', { numberOfKeys: 4, lua: TICKET_ISSUE });
  client.defineCommand('sseTicketRedeem', { numberOfKeys: 3, lua: TICKET_REDEEM });
  return client as Redis & RedisScripts;
}
