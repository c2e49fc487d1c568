import type { ServerResponse } from 'node:http';

/**
 * The plain server's whole SSE logic, without its HTTP server: users and topics
 * mapped to their open responses, each frame serialised once and written to
 * every socket it is for. The `plain` variant serves it from `node:http`;
 * `nest-bare` from a bare Nest route, to tell Nest's own cost per request from
 * this module's.
 */
export class PlainStreams {
  private readonly users = new Map<string, Set<ServerResponse>>();
  /** A topic's subscribers: made with the first, dropped with the last, as the module's channels are. */
  private readonly topics = new Map<string, Set<ServerResponse>>();
  private connections = 0;
  private nextId = 1;

  /** Writes the head and the opening frame, and keeps the response in its user's and its topics' sets until it closes. */
  open(user: string, res: ServerResponse, topics: readonly string[] = []): void {
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', Connection: 'keep-alive' });
    res.write('id: \nretry: 3000\n: connected\n\n');
    join(this.users, user, res);
    for (const topic of topics) join(this.topics, topic, res);
    this.connections++;
    res.once('close', () => {
      this.connections--;
      leave(this.users, user, res);
      for (const topic of topics) leave(this.topics, topic, res);
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

  publish(topic: string, type: string, data: object): void {
    const streams = this.topics.get(topic);
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

function join(sets: Map<string, Set<ServerResponse>>, key: string, res: ServerResponse): void {
  let streams = sets.get(key);
  if (!streams) sets.set(key, (streams = new Set()));
  streams.add(res);
}

function leave(sets: Map<string, Set<ServerResponse>>, key: string, res: ServerResponse): void {
  const streams = sets.get(key);
  if (!streams) return;
  streams.delete(res);
  if (streams.size === 0) sets.delete(key);
}
