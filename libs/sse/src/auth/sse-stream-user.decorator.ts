import { createParamDecorator, type ExecutionContext, type PipeTransform, type Type } from '@nestjs/common';

import { SSE_USER_KEY, type SseUser } from './sse-user.js';

/**
 * The stream's user, as `SseAuthGuard` (or a subclass) left it on the request;
 * `@SseStreamUser('userId')` for one property of it.
 *
 * ```ts
 * @Sse('orders/events')
 * @UseGuards(SseAuthGuard)
 * events(@SseStreamUser() user: SseUser) {
 *   return this.sse.stream(user.userId, { expiresAt: user.expiresAt });
 * }
 * ```
 *
 * On a route without the guard there is no user: that is a mistake in the
 * route, answered 500, rather than a stream opened for `undefined`.
 *
 * @publicApi
 */
// Typed here rather than inferred, so the declaration names no Nest type that differs between Nest 11 and 12.
export const SseStreamUser: (
  property?: string,
  ...pipes: Array<PipeTransform | Type<PipeTransform>>
) => ParameterDecorator = createParamDecorator((property: string | undefined, context: ExecutionContext) => {
  const user = context.switchToHttp().getRequest<{ [SSE_USER_KEY]?: SseUser }>()[SSE_USER_KEY];
  if (!user) {
    throw new Error('@SseStreamUser(): no stream user on the request; put SseAuthGuard (or a subclass) on the route');
  }
  return property === undefined ? user : (user as unknown as Record<string, unknown>)[property];
});
