import type { ServerResponse } from 'node:http';

/**
 * The plain server's whole SSE logic, without its HTTP server: users mapped to
 * their open responses, each frame serialised once and written to every socket
 * it is for. The `plain` variant serves it from `node:http`; `nest-bare` from a
 * bare Nest route, to tell Nest's own cost per request from this module's.
 */
export class PlainStreams {
  private readonly users = new Map<string, Set<ServerResponse>>();
  private connections = 0;
  private nextId = 1;

  /** Writes the head and the opening frame, and keeps the response until it closes. */
  open(user: string, res: ServerResponse): void {
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', Connection: 'keep-alive' });
    res.write('id: \nretry: 3000\n: connected\n\n');
    let streams = this.users.get(user);
    if (!streams) this.users.set(user, (streams = new Set()));
    streams.add(res);
    this.connections++;
    res.once('close', () => {
      this.connections--;
      streams.delete(res);
      if (streams.size === 0) this.users.delete(user);
    });
  }

  broadcast(type: string, data: object): void {
    const text = this.frame(type, data);
    for (const streams of this.users.values()) for (const res of streams) res.write(text);
  }

  sendToUser(userId: string, type: string, data: object): void {
    const streams = this.users.get(userId);
    if (!streams) return;
    const text = this.frame(type, data);
    for (const res of streams) res.write(text);
  }

  connectionCount(): number {
    return this.connections;
  }

  private frame(type: string, data: object): string {
    return `event: ${type}\nid: ${this.nextId++}\ndata: ${JSON.stringify(data)}\n\n`;
  }
}
