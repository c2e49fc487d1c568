import { BadRequestException, Body, Controller, ForbiddenException, HttpCode, Post, UseGuards } from '@nestjs/common';
import { SseService } from '../../libs/sse/src/index.js';
import { BearerAuthGuard } from '../auth/bearer-auth.guard.js';
import { CurrentUser } from '../auth/current-user.decorator.js';
import type { DemoUser } from '../auth/demo-auth.js';

const MAX_MESSAGE_LENGTH = 1000;

@Controller('api/announcements')
@UseGuards(BearerAuthGuard)
export class AnnouncementsController {
  constructor(private readonly sse: SseService) {}

  /** Admins only: every open stream receives an `update`. */
  @Post()
  @HttpCode(202)
  announce(@CurrentUser() user: DemoUser, @Body() body: unknown): { delivered: number } {
    if (!user.roles.includes('admin')) throw new ForbiddenException('Only admins can announce');
    const message = (body as { message?: unknown } | undefined)?.message;
    if (typeof message !== 'string' || message.trim() === '' || message.length > MAX_MESSAGE_LENGTH) {
      throw new BadRequestException(`message must be a non-empty string of at most ${MAX_MESSAGE_LENGTH} characters`);
    }
    const delivered = this.sse.broadcast({
      type: 'update',
      data: { kind: 'announcement', message, from: user.userId, at: new Date().toISOString() },
    });
    return { delivered };
  }
}
