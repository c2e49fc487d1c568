import { randomBytes } from 'node:crypto';

/** The demo's settings, read once from the environment. */
export interface AppConfig {
  port: number;
  jwtSecret: string;
  /** True when JWT_SECRET was not set and a throwaway secret was generated. */
  jwtSecretGenerated: boolean;
  heartbeatMs?: number;
  maxConnectionsPerUser?: number;
  corsOrigins: string[];
  production: boolean;
  /**
   * The dev-token route (`POST /api/dev/token`): only for local development, so only
   * when the secret is the generated one or `DEV_TOKENS=1`, and never with `NODE_ENV=production`.
   */
  devTokens: boolean;
  /** Delay before the simulated shipment of an order. */
  shipDelayMs: number;
  /**
   * Connections the kernel queues while the app is busy (Node's default is 511):
   * when every client reconnects at once, the ones past it are dropped and wait
   * for TCP to retry their SYN (1 s, 3 s, 7 s...).
   */
  listenBacklog: number;
}

function optionalInt(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be a non-negative integer, got '${raw}'`);
  return value;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const secret = env.JWT_SECRET;
  return {
    port: optionalInt(env, 'PORT') ?? 3000,
    jwtSecret: secret || randomBytes(32).toString('hex'),
    jwtSecretGenerated: !secret,
    heartbeatMs: optionalInt(env, 'SSE_HEARTBEAT_MS'),
    maxConnectionsPerUser: optionalInt(env, 'SSE_MAX_CONNECTIONS_PER_USER'),
    corsOrigins: (env.CORS_ORIGINS ?? '')
      .split(',')
      .map((o) => o.trim())
      .filter(Boolean),
    production: env.NODE_ENV === 'production',
    devTokens: env.NODE_ENV !== 'production' && (!secret || env.DEV_TOKENS === '1'),
    shipDelayMs: optionalInt(env, 'SHIP_DELAY_MS') ?? 3000,
    listenBacklog: optionalInt(env, 'LISTEN_BACKLOG') || 4096,
  };
}
