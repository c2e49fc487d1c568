import { createParamDecorator, type ExecutionContext } from '@nestjs/common';

import type { DemoUser } from './demo-auth.js';

export const CurrentUser = createParamDecorator(
  // eslint-disable-next-line @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-return -- the value is untyped by its source (Nest / JSON.parse); checked at run time; Nest types the request as any; the demo auth guard sets user
  (_: unknown, context: ExecutionContext): DemoUser => context.switchToHttp().getRequest().user,
);
