import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

import { Controller, Get, Header, Logger, Res } from '@nestjs/common';
import type { Response } from 'express';

const publicFile = (name: string): string => fileURLToPath(new URL(`../public/${name}`, import.meta.url));

/** The page shell is read once at startup: it is static and part of the sources. */
const PAGE = readFileSync(publicFile('index.html'), 'utf8');

/**
 * The React bundle, built by `scripts/build-dashboard.mjs` (part of `npm run build`).
 * Read on each request (it is small, and rebuilding it needs no restart).
 */
export const DASHBOARD_BUNDLE = publicFile('dashboard.js');

@Controller()
export class DashboardController {
  private readonly logger = new Logger('Dashboard');

  @Get()
  @Header('Content-Type', 'text/html; charset=utf-8')
  @Header('Cache-Control', 'no-cache')
  page(): string {
    return PAGE;
  }

  @Get('dashboard.js')
  async bundle(@Res() res: Response): Promise<void> {
    let code: Buffer;
    try {
      code = await readFile(DASHBOARD_BUNDLE);
    } catch (err) {
      const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
      res
        .status(missing ? 404 : 500)
        .type('text/plain')
        .send(
          missing
            ? `The dashboard bundle is missing (${DASHBOARD_BUNDLE}): run \`npm run build\` (or \`node scripts/build-dashboard.mjs\`).\n`
            : `The dashboard bundle could not be read: ${(err as Error).message}\n`,
        );
      // A script tag shows nothing of this answer: say it where someone looks.
      this.logger.error(missing ? `${DASHBOARD_BUNDLE} is missing: run \`npm run build\`` : (err as Error).message);
      return;
    }
    res.status(200).set({ 'Content-Type': 'text/javascript; charset=utf-8', 'Cache-Control': 'no-cache' }).send(code);
  }
}
