import http2 from 'node:http2';

import { ConditionWaiter } from './condition-waiter.js';

/** One message of an event stream as read off the wire (comments kept, for heartbeats). */
export interface H2Message {
  type?: string;
  id?: string;
  data?: string;
  comment?: string;
}

/** Opens one HTTP/2 connection (h2c, or TLS trusting `ca`) and resolves once it is up. */
export function connectH2(baseUrl: string, ca?: string): Promise<http2.ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(baseUrl, ca ? { ca } : {});
    session.once('connect', () => resolve(session));
    session.once('error', reject);
  });
}

/**
 * One request on an HTTP/2 session, read with `node:http2` as it arrives:
 * status, headers, the body text and the stream's messages parsed from it.
 */
export class H2Stream {
  status = 0;
  headers: http2.IncomingHttpHeaders = {};
  text = '';
  closed = false;
  readonly request: http2.ClientHttp2Stream;
  private readonly changes = new ConditionWaiter();

  constructor(session: http2.ClientHttp2Session, path: string, headers: Record<string, string> = {}) {
    this.request = session.request({ ':path': path, ...headers });
    this.request.setEncoding('utf8');
    this.request.on('response', (h) => {
      this.headers = h;
      this.status = Number(h[':status']);
      this.notify();
    });
    this.request.on('data', (chunk: string) => {
      this.text += chunk;
      this.notify();
    });
    this.request.on('close', () => {
      this.closed = true;
      this.notify();
    });
    // A stream the server resets (a dropped slow client) errors: 'close' tells it.
    this.request.on('error', () => undefined);
  }

  /** Complete messages so far (each ends with a blank line). */
  get messages(): H2Message[] {
    const blocks = this.text.split('\n\n');
    blocks.pop(); // the unfinished rest
    return blocks.map((block) => {
      const message: H2Message = {};
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) message.comment = line.slice(1).trim();
        else if (line.startsWith('event: ')) message.type = line.slice(7);
        else if (line.startsWith('id: ')) message.id = line.slice(4);
        else if (line.startsWith('data: '))
          message.data = (message.data === undefined ? '' : `${message.data}\n`) + line.slice(6);
      }
      return message;
    });
  }

  ofType(type: string): H2Message[] {
    return this.messages.filter((m) => m.type === type);
  }

  /** Resolves once `predicate` holds, re-checked on every header, chunk and close. */
  until(predicate: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
    return this.changes.until(predicate, timeoutMs, what);
  }

  opened(): Promise<void> {
    return this.until(() => this.status !== 0, 5000, 'the response headers');
  }

  close(): void {
    this.request.close(http2.constants.NGHTTP2_CANCEL);
  }

  private notify(): void {
    this.changes.notify();
  }
}
