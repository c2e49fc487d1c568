import { type DynamicModule, Module } from '@nestjs/common';

import { OrdersController } from './orders.controller.js';
import { ORDERS_OPTIONS, type OrdersOptions } from './orders.options.js';
import { OrdersService } from './orders.service.js';

/** Needs `EventEmitterModule.forRoot()` in the app: the service announces what happens to orders. */
@Module({})
export class OrdersModule {
  static register(options: OrdersOptions): DynamicModule {
    return {
      module: OrdersModule,
      controllers: [OrdersController],
      providers: [{ provide: ORDERS_OPTIONS, useValue: options }, OrdersService],
      exports: [OrdersService],
    };
  }
}
