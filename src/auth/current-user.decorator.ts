import { createParamDecorator, type ExecutionContext } from '@nestjs/common';

import type { DemoUser } from './demo-auth.js';

export const CurrentUser = createParamDecorator(
  // The demo auth guard sets user on the request.
  (_: unknown, context: ExecutionContext): DemoUser => context.switchToHttp().getRequest<{ user: DemoUser }>().user,
);
