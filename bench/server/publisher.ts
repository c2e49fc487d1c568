/** What each server variant gives its process's command handler (main.ts): the same calls as the library's API. */
export interface Publisher {
  readonly port: number;
  readonly path: string;
  broadcast(type: string, data: object): void;
  sendToUser(userId: string, type: string, data: object): void;
  /** Only where the route subscribes streams to topics (`TOPIC_VARIANTS`). */
  publish?(topic: string, type: string, data: object): void;
  connectionCount(): number;
  close(): Promise<void>;
}

/** The slice of the library's `SseService` the benchmark calls. */
export interface SseServiceApi {
  sendToUser(userId: string, event: { type: string; data: unknown }): number;
  broadcast(event: { type: string; data: unknown }): number;
  publish(topic: string, event: { type: string; data: unknown }): number;
  connectionCount(): number;
}

/** A listening Nest app with the library, as a publisher: every library-based variant sends the same way. */
export function nestPublisher(
  app: { getHttpServer(): { address(): unknown }; close(): Promise<void> },
  sse: SseServiceApi,
): Publisher {
  return {
    port: (app.getHttpServer().address() as { port: number }).port,
    path: '/api/events',
    broadcast: (type, data) => void sse.broadcast({ type, data }),
    sendToUser: (userId, type, data) => void sse.sendToUser(userId, { type, data }),
    publish: (topic, type, data) => void sse.publish(topic, { type, data }),
    connectionCount: () => sse.connectionCount(),
    close: () => app.close(),
  };
}

/** Options every variant gets, so they run under the same conditions. */
export interface ServerOptions {
  secret: string;
}
