import { SseService } from '@nest-sse/server';
import { type RunningApp, signToken } from './support/demo-app.js';
import { startLibrary } from './support/library-app.js';
import { ADAPTERS } from './support/nest-app.factory.js';
import { rawGet, StreamClient } from './support/sse-client.js';

describe.each(ADAPTERS)('on %s', (adapter) => {
  describe('heartbeat', () => {
    let server: RunningApp | undefined;
    afterEach(() => server?.close());

    it('sends a `: heartbeat` comment every interval', async () => {
      server = await startLibrary({ heartbeatIntervalMs: 100 }, {}, { adapter });
      const res = await rawGet(`${server.baseUrl}/api/events?token=${signToken('hb')}`, {}, 550);
      const beats = res.body.match(/^: heartbeat\n\n/gm) ?? [];
      expect(beats.length).toBeGreaterThanOrEqual(3);
      expect(beats.length).toBeLessThanOrEqual(6);
    });

    it('can send a named heartbeat event instead, visible to EventSource listeners', async () => {
      server = await startLibrary({ heartbeatIntervalMs: 100, heartbeatAs: 'event' }, {}, { adapter });
      const client = new StreamClient(`${server.baseUrl}/api/events?token=${signToken('hb')}`);
      try {
        await client.until(() => client.ofType('heartbeat').length >= 2, 2000, 'two heartbeats');
        expect(client.ofType('heartbeat')[0].data).toBeNull();
        // A heartbeat repeats the last id the stream delivered, so it never moves the client's Last-Event-ID.
        server.app.get(SseService).sendToUser('hb', { type: 'update', data: 'x' });
        await client.until(() => client.ofType('update').length === 1);
        const beats = client.ofType('heartbeat').length;
        await client.until(() => client.ofType('heartbeat').length > beats, 2000, 'a later heartbeat');
        expect(client.ofType('heartbeat').at(-1)!.lastEventId).toBe(client.ofType('update')[0].lastEventId);
      } finally {
        client.close();
      }
    });

    it('sends none when disabled', async () => {
      server = await startLibrary({ heartbeatIntervalMs: 0 }, {}, { adapter });
      const res = await rawGet(`${server.baseUrl}/api/events?token=${signToken('hb')}`, {}, 300);
      expect(res.body).not.toMatch(/heartbeat/);
    });
  });

  describe('CORS on the stream route', () => {
    let server: RunningApp;
    beforeAll(async () => {
      server = await startLibrary({ cors: { origins: ['https://app.example'], credentials: true } }, {}, { adapter });
    });
    afterAll(() => server.close());
    const url = () => `${server.baseUrl}/api/events?token=${signToken('cors')}`;

    it('echoes an allowed origin with Vary: Origin and credentials', async () => {
      const res = await rawGet(url(), { origin: 'https://app.example' });
      expect(res.status).toBe(200);
      expect(res.headers['access-control-allow-origin']).toBe('https://app.example');
      expect(res.headers['access-control-allow-credentials']).toBe('true');
      expect(res.headers['vary']).toMatch(/Origin/);
    });

    it('sends no CORS header to a refused origin', async () => {
      const res = await rawGet(url(), { origin: 'https://evil.example' });
      expect(res.headers['access-control-allow-origin']).toBeUndefined();
      expect(res.headers['access-control-allow-credentials']).toBeUndefined();
      expect(res.headers['vary']).toMatch(/Origin/);
    });

    it('keeps CORS headers on a 401, so the browser can read the error', async () => {
      const res = await rawGet(`${server.baseUrl}/api/events?token=bad`, { origin: 'https://app.example' });
      expect(res.status).toBe(401);
      expect(res.headers['access-control-allow-origin']).toBe('https://app.example');
    });

    it('answers a preflight from an allowed origin only', async () => {
      const preflight = (origin: string) =>
        fetch(`${server.baseUrl}/api/events`, {
          method: 'OPTIONS',
          headers: { origin, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' },
        });
      const ok = await preflight('https://app.example');
      expect(ok.status).toBe(204);
      expect(ok.headers.get('access-control-allow-headers')).toMatch(/Authorization/);
      const refused = await preflight('https://evil.example');
      expect(refused.headers.get('access-control-allow-origin')).toBeNull();
    });
  });
});
