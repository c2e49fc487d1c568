import { createParamDecorator, type ExecutionContext } from '@nestjs/common';

import type { DemoUser } from './demo-auth.js';

export const CurrentUser = createParamDecorator(
  (_: unknown, context: ExecutionContext): DemoUser => context.switchToHttp().getRequest().user,
);
