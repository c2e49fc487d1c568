import type { Redis } from 'ioredis';

/**
 * The Lua scripts, each run atomically by Redis: that is what keeps the ids of
 * every log in one order under concurrent publishers, and a user's slot count
 * under its limit when two instances take a slot at once. Times come from the
 * Redis server (TIME), never from an instance's clock.
 */

/**
 * A batch of events, written in order. KEYS: log, epoch, then each event's history
 * logs in turn. ARGV: log MAXLEN, events per history log, history ttl ms, then five
 * per event: type, data, audience field ('' for a broadcast, 'u' or 't'), its value,
 * how many history logs it has. Each event gets its own id from Redis; the batch
 * runs as one atomic step, so every log's ids increase whatever other instances
 * publish. Returns how many events it wrote.
 */
const PUBLISH = `
local maxLen, keep, ttl = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local k = 3
local first
local touched, order = {}, {}
for a = 4, #ARGV, 5 do
  local type, data, field = ARGV[a], ARGV[a + 1], ARGV[a + 2]
  local id
  if field == '' then
    id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', maxLen, '*', 'type', type, 'data', data)
  else
    id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', maxLen, '*', 'type', type, 'data', data, field, ARGV[a + 3])
  end
  first = first or id
  local last = k + tonumber(ARGV[a + 4]) - 1
  for i = k, last do
    -- pcall: a history log left with a newer id (its cluster log deleted by hand) must not stop the event.
    redis.pcall('XADD', KEYS[i], id, 'type', type, 'data', data)
    if not touched[KEYS[i]] then
      touched[KEYS[i]] = true
      order[#order + 1] = KEYS[i]
    end
  end
  k = last + 1
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
return (#ARGV - 3) / 5
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

/** A client with the transport's scripts (EVALSHA, falling back to EVAL after Redis lost its script cache). */
export interface RedisScripts {
  sseBoot(log: string, epoch: string): Promise<string>;
  ssePublish(numKeys: number, ...keysAndArgs: (string | string[])[]): Promise<number>;
  sseAcquire(userSlots: string, allSlots: string, limit: number, member: string, ttlMs: number): Promise<number>;
  sseRelease(userSlots: string, allSlots: string, member: string): Promise<number>;
  sseRefresh(numKeys: number, ...keysAndArgs: (string | number)[]): Promise<number>;
  sseCount(slots: string): Promise<number>;
}

export function defineScripts(client: Redis): Redis & RedisScripts {
  client.defineCommand('sseBoot', { numberOfKeys: 2, lua: BOOT });
  client.defineCommand('ssePublish', { lua: PUBLISH });
  client.defineCommand('sseAcquire', { numberOfKeys: 2, lua: ACQUIRE });
  client.defineCommand('sseRelease', { numberOfKeys: 2, lua: RELEASE });
  client.defineCommand('sseRefresh', { lua: REFRESH });
  client.defineCommand('sseCount', { numberOfKeys: 1, lua: COUNT });
  return client as Redis & RedisScripts;
}
