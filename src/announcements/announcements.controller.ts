import { BadRequestException, Body, Controller, ForbiddenException, HttpCode, Post, UseGuards } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';

import { BearerAuthGuard } from '../auth/bearer-auth.guard.js';
import { CurrentUser } from '../auth/current-user.decorator.js';
import type { DemoUser } from '../auth/demo-auth.js';
import { AnnouncementPublishedEvent } from './announcement-published.event.js';

const MAX_MESSAGE_LENGTH = 1000;

@Controller('api/announcements')
@UseGuards(BearerAuthGuard)
export class AnnouncementsController {
  constructor(private readonly events: EventEmitter2) {}

  /** Admins only: the event's `@SseEventMapping()` pushes an `update` to every open stream. */
  @Post()
  @HttpCode(202)
  announce(@CurrentUser() user: DemoUser, @Body() body: unknown): { accepted: true } {
    if (!user.roles.includes('admin')) throw new ForbiddenException('Only admins can announce');
    const message = (body as { message?: unknown } | undefined)?.message;
    if (typeof message !== 'string' || message.trim() === '' || message.length > MAX_MESSAGE_LENGTH) {
      throw new BadRequestException(`message must be a non-empty string of at most ${MAX_MESSAGE_LENGTH} characters`);
    }
    this.events.emit(
      AnnouncementPublishedEvent.eventName,
      new AnnouncementPublishedEvent(message, user.userId, new Date().toISOString()),
    );
    return { accepted: true };
  }
}
