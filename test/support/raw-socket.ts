import net from 'node:net';

/** What came back for bytes sent on a raw socket. */
export interface RawExchange {
  /** The status code of the first response, if a status line arrived. */
  status?: number;
  /** Up to the first 2 KiB the server sent, for failure messages. */
  head: string;
  /** Who ended it: the server closed or reset, the client left (as asked), or nothing came within the timeout. */
  end: 'server' | 'client' | 'timeout';
}

export interface RawExchangeOptions {
  /** After a status line arrives, keep reading this long, then close (a stream never ends by itself). */
  holdMs?: number;
  /** Leave this many ms after sending, whatever arrived (a client that gives up early). */
  leaveAfterMs?: number;
  /** Give up when no status line arrived in this time. */
  answerTimeoutMs?: number;
}

/**
 * Sends arbitrary bytes (headers Node's own client would refuse) on a fresh
 * loopback socket and reads the status line of the answer.
 */
export function exchangeRaw(
  port: number,
  request: Buffer | string,
  { holdMs = 0, leaveAfterMs, answerTimeoutMs = 3000 }: RawExchangeOptions = {},
): Promise<RawExchange> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let received = '';
    let status: number | undefined;
    let settled = false;
    const timers: NodeJS.Timeout[] = [];
    let answerTimer: NodeJS.Timeout | undefined;
    const finish = (end: RawExchange['end']) => {
      if (settled) return;
      settled = true;
      timers.forEach(clearTimeout);
      clearTimeout(answerTimer);
      socket.destroy();
      resolve({ status, head: received.slice(0, 2048), end });
    };
    socket.setNoDelay(true);
    socket.on('connect', () => {
      socket.write(request);
      if (leaveAfterMs !== undefined) timers.push(setTimeout(() => finish('client'), leaveAfterMs));
      answerTimer = setTimeout(() => finish('timeout'), answerTimeoutMs);
    });
    socket.on('data', (chunk: Buffer) => {
      if (received.length < 2048) received += chunk.toString('latin1');
      if (status !== undefined) return;
      const match = /^HTTP\/\d\.\d (\d{3})/.exec(received);
      if (!match) return;
      status = Number(match[1]);
      clearTimeout(answerTimer);
      timers.push(setTimeout(() => finish('client'), holdMs));
    });
    socket.on('close', () => finish('server'));
    socket.on('error', () => finish('server'));
  });
}
