import { SSE_AUTH_REASON_HEADER } from '@nest-sse/protocol';
import { Inject, Injectable, NestMiddleware } from '@nestjs/common';

import type { ResolvedSseOptions } from '../options/sse-options.resolver.js';
import { SSE_OPTIONS } from '../sse.tokens.js';
import type { SseRawRequest, SseRawResponse } from './sse-response.sink.js';

/**
 * CORS for the stream route only, so the app's own CORS policy is untouched.
 * Allowed origins are echoed (never `*`, which credentials forbid); any other
 * origin gets no CORS header at all, and the browser refuses the stream.
 * Nest hands middleware Node's own request and response on every platform
 * (on Fastify through middie), so the headers are on the raw response.
 * A 401's category header (`SSE-Auth-Reason`) is exposed to the page, so that
 * the browser client's `HEAD` probe can read why it was refused.
 */
@Injectable()
export class SseCorsMiddleware implements NestMiddleware {
  private readonly origins: Set<string>;

  constructor(@Inject(SSE_OPTIONS) private readonly options: ResolvedSseOptions) {
    this.origins = new Set(options.cors.origins);
  }

  use(req: SseRawRequest, res: SseRawResponse, next: () => void): void {
    const origin = req.headers.origin;
    if (this.origins.size > 0) res.appendHeader('Vary', 'Origin');
    if (typeof origin !== 'string' || !this.origins.has(origin)) return next();

    res.setHeader('Access-Control-Allow-Origin', origin);
    if (this.options.cors.credentials) res.setHeader('Access-Control-Allow-Credentials', 'true');
    if (req.method === 'OPTIONS') {
      res.setHeader('Access-Control-Allow-Methods', 'GET, POST');
      res.setHeader('Access-Control-Allow-Headers', 'Authorization, Last-Event-ID, Cache-Control');
      res.setHeader('Access-Control-Max-Age', '600');
      res.statusCode = 204;
      res.end();
      return;
    }
    res.setHeader('Access-Control-Expose-Headers', SSE_AUTH_REASON_HEADER);
    next();
  }
}
