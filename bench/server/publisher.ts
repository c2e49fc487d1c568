/** What each server variant gives its process's command handler (main.ts): the same three calls as the library's API. */
export interface Publisher {
  readonly port: number;
  readonly path: string;
  broadcast(type: string, data: object): void;
  sendToUser(userId: string, type: string, data: object): void;
  connectionCount(): number;
  close(): Promise<void>;
}

/** Options every variant gets, so they run under the same conditions. */
export interface ServerOptions {
  secret: string;
}
