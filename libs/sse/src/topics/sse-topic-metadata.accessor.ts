import { Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';

import { SSE_TOPIC_METADATA } from './sse-topic.decorator.js';

/** Reads what `@SseTopic()` recorded on a class. */
@Injectable()
export class SseTopicMetadataAccessor {
  constructor(private readonly reflector: Reflector) {}

  /** The pattern a provider class declares, or `undefined`. */
  getTopicPattern(target: unknown): string | undefined {
    if (typeof target !== 'function') return undefined;
    return this.reflector.get<string | undefined>(SSE_TOPIC_METADATA, target);
  }
}
