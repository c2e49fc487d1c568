import { SseEventMapping } from '@nest-sse/server/bridge';

/**
 * An announcement exists only to be pushed, so its class may know about SSE:
 * emitting one pushes an `update` to every open stream, with no handler. The
 * mapping names every field that is sent.
 */
@SseEventMapping<AnnouncementPublishedEvent>({
  type: 'update',
  to: 'all',
  data: (e) => ({ kind: 'announcement', message: e.message, from: e.from, at: e.at }),
})
export class AnnouncementPublishedEvent {
  static readonly eventName = 'announcement.published';

  constructor(
    readonly message: string,
    readonly from: string,
    readonly at: string,
  ) {}
}
