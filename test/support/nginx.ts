import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { freePort, waitForListening } from './cluster-ports.js';

/** Where nginx is: `NGINX_BIN`, else `/usr/sbin/nginx` (not on a plain user's PATH on Debian), else `nginx` on PATH. */
function nginxBinary(): string | undefined {
  const candidates = [process.env.NGINX_BIN, '/usr/sbin/nginx', 'nginx'].filter((c): c is string => !!c);
  return candidates.find((bin) => spawnSync(bin, ['-v'], { stdio: 'ignore' }).status === 0);
}

/** Whether nginx can be run here (the cluster suite skips without it, outside CI). */
export function hasNginx(): boolean {
  return nginxBinary() !== undefined;
}

/**
 * The load balancer's site: round-robin over the instances, HTTP/1.1 with the
 * client's `Connection` header cleared (so upstream connections are not closed
 * after each response) and a read timeout far beyond the heartbeat. Buffering is
 * left on, as nginx ships: the module's `X-Accel-Buffering: no` turns it off for
 * streams. `max_fails=0` keeps every instance in the rotation (a dead one is
 * skipped per request by `proxy_next_upstream`), so the rotation stays strict.
 * This is the configuration docs/deployment.md shows.
 *
 * `upstreamHttp: '1.0'` leaves nginx's default (HTTP/1.0 to the app, one
 * connection per request): there nginx 1.22 buffers a stream's events until its
 * buffer fills unless the response says `X-Accel-Buffering: no`, whereas over
 * HTTP/1.1 it forwards each chunk as it comes. Both must deliver promptly.
 */
export function nginxSite(upstreams: number[], listen: number, upstreamHttp: '1.1' | '1.0' = '1.1'): string {
  const http11 = upstreamHttp === '1.1' ? `\n    proxy_http_version 1.1;\n    proxy_set_header Connection '';` : '';
  return `upstream sse_app {
  ${upstreams.map((port) => `server 127.0.0.1:${port} max_fails=0;`).join('\n  ')}
}

server {
  listen 127.0.0.1:${listen};

  location / {
    proxy_pass http://sse_app;${http11}
    proxy_set_header Host $host;
    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    proxy_read_timeout 1h;
    proxy_connect_timeout 2s;
  }
}
`;
}

export interface NginxProcess {
  port: number;
  /** The process's error log so far (for a failure's message). */
  log(): string;
  stop(): Promise<void>;
}

/**
 * Starts nginx in the foreground as the current user, everything it writes (pid,
 * logs, temp files) in a temp dir of its own, balancing `upstreams` (loopback
 * ports) round-robin on a free port. One worker: the rotation is one sequence.
 */
export async function startNginx({
  upstreams,
  upstreamHttp = '1.1',
}: {
  upstreams: number[];
  upstreamHttp?: '1.1' | '1.0';
}): Promise<NginxProcess> {
  const bin = nginxBinary();
  if (!bin) throw new Error('nginx is not installed (apt-get install nginx-light)');
  const dir = mkdtempSync(join(tmpdir(), 'sse-nginx-'));
  const port = await freePort();
  for (const sub of ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(dir, sub));
  const conf = join(dir, 'nginx.conf');
  writeFileSync(
    conf,
    `${process.getuid?.() === 0 ? 'user root;\n' : ''}worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;

${nginxSite(upstreams, port, upstreamHttp).replace(/^/gm, '  ')}}
`,
  );
  let output = '';
  const child: ChildProcess = spawn(bin, ['-p', dir, '-c', conf, '-e', join(dir, 'error.log'), '-g', 'daemon off;'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const log = () => {
    const file = join(dir, 'error.log');
    return output + (existsSync(file) ? readFileSync(file, 'utf8') : '');
  };
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await Promise.race([
      waitForListening(port, 5000, 'nginx'),
      exited.then(() => Promise.reject(new Error('nginx exited'))),
    ]);
  } catch (err) {
    const text = log();
    await stop();
    throw new Error(`${(err as Error).message}: ${text}`);
  }
  return { port, log, stop };
}
