import { generateKeyPairSync } from 'node:crypto';
import http from 'node:http';

import type { SseAuthFailureReason } from '@nest-sse/server';
import { SseService } from '@nest-sse/server';
import jwt from 'jsonwebtoken';

import { type RunningApp, signToken, TEST_SECRET } from './support/demo-app.js';
import { startLibrary } from './support/library-app.js';
import { ADAPTERS } from './support/nest-app.factory.js';
import { rawGet, sleep, StreamClient, waitForCount } from './support/sse-client.js';

describe.each(ADAPTERS)('on %s', (adapter) => {
  describe('stream authentication (GET /api/events)', () => {
    let server: RunningApp;
    beforeAll(async () => {
      server = await startLibrary({}, {}, { adapter });
    });
    afterAll(() => server.close());

    const url = (token?: string) => `${server.baseUrl}/api/events${token === undefined ? '' : `?token=${token}`}`;

    it('answers a valid token with an event stream and its headers', async () => {
      const res = await rawGet(url(signToken('alice')));
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
      expect(res.headers['cache-control']).toMatch(/no-cache/);
      expect(res.headers['connection']).toBe('keep-alive');
      expect(res.headers['x-accel-buffering']).toBe('no');
      expect(res.headers['access-control-allow-origin']).toBeUndefined();
      expect(res.body).toMatch(/retry: 3000\n/);
    });

    it('accepts Authorization: Bearer as well as ?token=', async () => {
      const res = await rawGet(url(), { authorization: `Bearer ${signToken('alice')}` });
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
    });

    const header = (obj: object) => Buffer.from(JSON.stringify(obj)).toString('base64url');
    const now = () => Math.floor(Date.now() / 1000);
    const badTokens: Array<[string, () => string | undefined, RegExp, SseAuthFailureReason]> = [
      ['missing', () => undefined, /Missing token/, 'missing'],
      ['empty', () => '', /Missing token/, 'missing'],
      ['malformed', () => 'not.a.jwt', /Invalid token/, 'malformed'],
      ['garbage', () => 'abc', /Invalid token/, 'malformed'],
      ['longer than SSE_LIMITS.tokenLength', () => 'a'.repeat(8193), /too long/, 'malformed'],
      [
        'signed with another secret',
        () => signToken('alice', {}, {}, 'another-secret'),
        /invalid signature/,
        'invalid',
      ],
      [
        "signed with alg 'none'",
        () => `${header({ alg: 'none', typ: 'JWT' })}.${header({ sub: 'alice', exp: now() + 60 })}.`,
        /Invalid token/,
        'invalid',
      ],
      [
        'signed with a wrong algorithm (HS512 when HS256 is pinned)',
        () => signToken('alice', {}, { algorithm: 'HS512' }),
        /invalid algorithm/,
        'invalid',
      ],
      ['expired', () => signToken('alice', { exp: now() - 10 }), /Token expired/, 'expired'],
      ['not yet valid', () => signToken('alice', {}, { notBefore: 3600 }), /not yet valid/, 'not-yet-valid'],
      ['without the user id claim', () => signToken(undefined, { name: 'alice' }), /no usable 'sub' claim/, 'invalid'],
      ['with an empty user id', () => signToken('', {}), /no usable 'sub' claim/, 'invalid'],
      [
        'without exp (its stream would never end)',
        () => jwt.sign({ sub: 'alice' }, TEST_SECRET, { algorithm: 'HS256' }),
        /no expiry/,
        'invalid',
      ],
    ];

    it.each(badTokens)(
      'refuses a token that is %s with 401 JSON naming its reason category, and no stream bytes',
      async (_, token, message, reason) => {
        const t = token();
        const res = await rawGet(t === undefined ? url() : url(encodeURIComponent(t)));
        expect(res.status).toBe(401);
        expect(res.headers['content-type']).toMatch(/^application\/json/);
        const body = JSON.parse(res.body);
        expect(body).toMatchObject({ statusCode: 401, error: 'Unauthorized', reason });
        expect(body.message).toMatch(message);
        // A HEAD (the browser client's probe) has no body: the category is in a header, on both.
        expect(res.headers['sse-auth-reason']).toBe(reason);
        const head = await headWithHeaders(t === undefined ? url() : url(encodeURIComponent(t)));
        expect(head.status).toBe(401);
        expect(head.headers['sse-auth-reason']).toBe(reason);
        expect(res.body).not.toMatch(/retry:|event:|data:/);
        // Tokens are never echoed back.
        if (t) expect(res.body).not.toContain(t);
        expect(server.app.get(SseService).connectionCount()).toBe(0);
      },
    );

    it('takes the same user ids as SseService: 256 characters and numeric claims stream, 257 characters is a 401', async () => {
      const longest = 'u'.repeat(256);
      const clients = [
        new StreamClient(url(signToken(longest)), ['update']),
        new StreamClient(url(signToken(undefined, { sub: 42 })), ['update']),
      ];
      try {
        await Promise.all(clients.map((c) => c.opened()));
        const sse = server.app.get(SseService);
        await waitForCount(() => sse.connectionCount(longest) + sse.connectionCount('42'), 0, 2);
        expect(sse.sendToUser(longest, { type: 'update', data: 'long' })).toBe(1);
        expect(sse.sendToUser('42', { type: 'update', data: 'numeric' })).toBe(1);
        await Promise.all(clients.map((c) => c.until(() => c.events.length >= 1)));
        expect(clients.map((c) => c.events[0].data)).toEqual(['long', 'numeric']);
      } finally {
        clients.forEach((c) => c.close());
      }
      const res = await rawGet(url(signToken('u'.repeat(257))));
      expect(res.status).toBe(401);
      expect(JSON.parse(res.body).message).toMatch(/no usable 'sub' claim/);
      expect(() => server.app.get(SseService).sendToUser('u'.repeat(257), { type: 'update', data: 1 })).toThrow(
        /at most 256 characters/,
      );
    });

    it('refuses a malformed Authorization header', async () => {
      const res = await rawGet(url(), { authorization: 'Basic Zm9vOmJhcg==' });
      expect(res.status).toBe(401);
    });
  });

  describe('stream authentication with a public key (RS256)', () => {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const publicPem = publicKey.export({ type: 'spki', format: 'pem' }) as string;
    let server: RunningApp;
    beforeAll(async () => {
      server = await startLibrary(
        {
          jwt: { publicKey: publicPem, algorithms: ['RS256'], issuer: 'https://issuer.test', audience: 'nest-sse' },
        },
        {},
        { adapter },
      );
    });
    afterAll(() => server.close());

    const sign = (options: jwt.SignOptions = {}) =>
      jwt.sign({ sub: 'carol' }, privateKey, {
        algorithm: 'RS256',
        issuer: 'https://issuer.test',
        audience: 'nest-sse',
        expiresIn: 60,
        ...options,
      });
    const get = (token: string) => rawGet(`${server.baseUrl}/api/events?token=${token}`);

    it('accepts a token signed with the private key', async () => {
      expect((await get(sign())).status).toBe(200);
    });

    it('refuses the HS256-with-public-key confusion attack', async () => {
      // jsonwebtoken itself refuses a PEM as an HMAC secret, so the confused token is forged by hand.
      const { createHmac } = await import('node:crypto');
      const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
      const head = `${enc({ alg: 'HS256', typ: 'JWT' })}.${enc({ sub: 'mallory', iss: 'https://issuer.test', aud: 'nest-sse', exp: Math.floor(Date.now() / 1000) + 60 })}`;
      const forged = `${head}.${createHmac('sha256', publicPem).update(head).digest('base64url')}`;
      expect((await get(forged)).status).toBe(401);
    });

    it('refuses a wrong issuer or audience without naming the ones it expects', async () => {
      const wrongIssuer = await get(sign({ issuer: 'https://evil.test' }));
      const wrongAudience = await get(sign({ audience: 'other-app' }));
      expect(wrongIssuer.status).toBe(401);
      expect(wrongAudience.status).toBe(401);
      expect(JSON.parse(wrongIssuer.body).message).toBe('Invalid token: wrong issuer');
      expect(JSON.parse(wrongAudience.body).message).toBe('Invalid token: wrong audience');
      for (const res of [wrongIssuer, wrongAudience]) expect(res.body).not.toMatch(/issuer\.test|nest-sse/);
    });
  });

  describe('token lifetime rules (jwt.requireExp, jwt.maxTokenAgeSec)', () => {
    const url = (server: RunningApp, token: string) => `${server.baseUrl}/api/events?token=${token}`;
    const now = () => Math.floor(Date.now() / 1000);

    it('accepts a token without exp only with requireExp: false', async () => {
      const server = await startLibrary({ jwt: { secret: TEST_SECRET, requireExp: false } }, {}, { adapter });
      try {
        expect(
          (await rawGet(url(server, jwt.sign({ sub: 'alice' }, TEST_SECRET, { algorithm: 'HS256' })))).status,
        ).toBe(200);
      } finally {
        await server.close();
      }
    });

    it('refuses a token that lives longer than maxTokenAgeSec, and takes one that lives exactly that long', async () => {
      const server = await startLibrary({ jwt: { secret: TEST_SECRET, maxTokenAgeSec: 3600 } }, {}, { adapter });
      try {
        const iat = now();
        const sign = (exp: number) => jwt.sign({ sub: 'alice', iat, exp }, TEST_SECRET, { algorithm: 'HS256' });
        expect((await rawGet(url(server, sign(iat + 3600)))).status).toBe(200);
        const tooLong = await rawGet(url(server, sign(iat + 3601)));
        expect(tooLong.status).toBe(401);
        expect(JSON.parse(tooLong.body).message).toBe('Invalid token: lifetime too long');
        expect((await rawGet(url(server, sign(1e20)))).status).toBe(401);
      } finally {
        await server.close();
      }
    });
  });

  describe('revocation (jwt.isRevoked)', () => {
    it('refuses a revoked token with 401 before any byte, on every connect, and takes the others', async () => {
      const revoked = new Set<string>();
      const checked: unknown[] = [];
      const server = await startLibrary(
        {
          jwt: {
            secret: TEST_SECRET,
            // Asynchronous, as a lookup in a store of revoked sessions would be.
            isRevoked: async (claims) => {
              checked.push(claims.sub);
              await sleep(5);
              return revoked.has(claims.jti as string);
            },
          },
        },
        {},
        { adapter },
      );
      try {
        const url = (jti: string) => `${server.baseUrl}/api/events?token=${signToken('rita', { jti })}`;
        expect((await rawGet(url('session-1'))).status).toBe(200);
        revoked.add('session-1');
        const refused = await rawGet(url('session-1'));
        expect(refused.status).toBe(401);
        expect(JSON.parse(refused.body)).toMatchObject({ message: 'Token revoked', reason: 'revoked' });
        expect(refused.headers['sse-auth-reason']).toBe('revoked');
        expect(refused.body).not.toMatch(/retry:|data:/);
        expect((await rawGet(url('session-2'))).status).toBe(200);
        expect(checked).toEqual(['rita', 'rita', 'rita']);
      } finally {
        await server.close();
      }
    });
  });

  describe('token expiry while the stream is open', () => {
    let server: RunningApp;
    beforeAll(async () => {
      server = await startLibrary({ heartbeatIntervalMs: 0 }, {}, { adapter });
    });
    afterAll(() => server.close());

    it('sends auth-expired and ends the stream when the token expires', async () => {
      const token = jwt.sign({ sub: 'dave' }, TEST_SECRET, { algorithm: 'HS256', expiresIn: 2 });
      const res = await rawGet(`${server.baseUrl}/api/events?token=${token}`, {}, 4000);
      expect(res.status).toBe(200);
      expect(res.ended).toBe(true);
      expect(res.body).toMatch(/event: auth-expired\n(id: .*\n)?data: \{"reason":"token expired"\}\n\n$/);
      expect(server.app.get(SseService).connectionCount('dave')).toBe(0);
    });

    it('lets a real EventSource see the auth-expired event', async () => {
      const token = jwt.sign({ sub: 'erin' }, TEST_SECRET, { algorithm: 'HS256', expiresIn: 2 });
      const client = new StreamClient(`${server.baseUrl}/api/events?token=${token}`);
      try {
        await client.until(() => client.ofType('auth-expired').length > 0, 5000, 'auth-expired');
        expect(client.ofType('auth-expired')[0].data).toEqual({ reason: 'token expired' });
      } finally {
        client.close();
      }
    });
  });

  describe('401 reason categories for tickets, and for pages of another origin', () => {
    let server: RunningApp;
    beforeAll(async () => {
      server = await startLibrary({ cors: { origins: ['https://app.example'] } }, {}, { adapter });
    });
    afterAll(() => server.close());

    it("names a ticket's 401 'ticket' (unknown, or used) and a ticket request's by its token", async () => {
      const stream = `${server.baseUrl}/api/events`;
      const unknown = await rawGet(`${stream}?ticket=not-a-ticket`);
      expect(unknown.status).toBe(401);
      expect(JSON.parse(unknown.body)).toMatchObject({
        message: 'Invalid ticket: unknown, expired or already used',
        reason: 'ticket',
      });
      expect(unknown.headers['sse-auth-reason']).toBe('ticket');
      expect((await headWithHeaders(`${stream}?ticket=not-a-ticket`)).headers['sse-auth-reason']).toBe('ticket');

      const post = (authorization?: string) =>
        fetch(stream, { method: 'POST', headers: authorization ? { authorization } : {} });
      const noToken = await post();
      expect(noToken.status).toBe(401);
      expect(await noToken.json()).toMatchObject({ reason: 'missing' });
      expect(noToken.headers.get('sse-auth-reason')).toBe('missing');
      const otherScheme = await post('Basic dXNlcjpwYXNz');
      expect([otherScheme.status, otherScheme.headers.get('sse-auth-reason')]).toEqual([401, 'missing']);
      const expired = await post(`Bearer ${signToken('tess', { exp: Math.floor(Date.now() / 1000) - 10 })}`);
      expect(expired.status).toBe(401);
      expect(await expired.json()).toMatchObject({ message: 'Token expired', reason: 'expired' });
      expect(expired.headers.get('sse-auth-reason')).toBe('expired');

      const { ticket } = (await (await post(`Bearer ${signToken('tess')}`)).json()) as { ticket: string };
      expect((await rawGet(`${stream}?ticket=${ticket}`)).status).toBe(200);
      const used = await rawGet(`${stream}?ticket=${ticket}`);
      expect(JSON.parse(used.body)).toMatchObject({ reason: 'ticket' });
      expect(used.body).not.toContain(ticket);
    });

    it('exposes the reason header to an allowed origin (Access-Control-Expose-Headers), so a page can read it', async () => {
      const res = await headWithHeaders(`${server.baseUrl}/api/events?token=bad`, { origin: 'https://app.example' });
      expect(res.status).toBe(401);
      expect(res.headers['access-control-allow-origin']).toBe('https://app.example');
      expect(
        String(res.headers['access-control-expose-headers'])
          .toLowerCase()
          .split(/\s*,\s*/),
      ).toContain('sse-auth-reason');
      const other = await headWithHeaders(`${server.baseUrl}/api/events?token=bad`, { origin: 'https://evil.example' });
      expect(other.headers['access-control-expose-headers']).toBeUndefined();
    });
  });
});

/** A HEAD request's status and headers, once its (bodiless) response ended. */
function headWithHeaders(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'HEAD', headers, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}
