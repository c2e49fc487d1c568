import { BadRequestException, Body, Controller, Get, HttpCode, Post, UseGuards } from '@nestjs/common';

import { BearerAuthGuard } from '../auth/bearer-auth.guard.js';
import { CurrentUser } from '../auth/current-user.decorator.js';
import type { DemoUser } from '../auth/demo-auth.js';
import type { Order, PlaceOrderInput } from './order.js';
import { OrdersService } from './orders.service.js';

const MAX_ITEM_LENGTH = 200;
const MAX_QUANTITY = 1_000_000;

@Controller('api/orders')
@UseGuards(BearerAuthGuard)
export class OrdersController {
  constructor(private readonly orders: OrdersService) {}

  @Post()
  @HttpCode(201)
  place(@CurrentUser() user: DemoUser, @Body() body: unknown): Order {
    return this.orders.place(user.userId, parsePlaceOrder(body));
  }

  @Get()
  list(@CurrentUser() user: DemoUser): Order[] {
    return this.orders.listFor(user.userId);
  }
}

function parsePlaceOrder(body: unknown): PlaceOrderInput {
  const { item, quantity } = (body ?? {}) as Record<string, unknown>;
  const errors: string[] = [];
  if (typeof item !== 'string' || item.trim() === '' || item.length > MAX_ITEM_LENGTH) {
    errors.push(`item must be a non-empty string of at most ${MAX_ITEM_LENGTH} characters`);
  }
  if (typeof quantity !== 'number' || !Number.isInteger(quantity) || quantity < 1 || quantity > MAX_QUANTITY) {
    errors.push(`quantity must be a positive integer of at most ${MAX_QUANTITY}`);
  }
  if (errors.length) throw new BadRequestException(errors);
  return { item: (item as string).trim(), quantity: quantity as number };
}
