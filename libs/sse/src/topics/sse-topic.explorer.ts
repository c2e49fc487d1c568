import { Injectable, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';

import { SseTopicAuthorizer } from './sse-topic.authorizer.js';
import type { SseTopicPolicy } from './sse-topic.decorator.js';
import { SseTopicPattern } from './sse-topic.pattern.js';
import { SseTopicMetadataAccessor } from './sse-topic-metadata.accessor.js';

/**
 * Bootstrap half of topics: finds every provider declared with `@SseTopic()`
 * and hands it to `SseTopicAuthorizer`. A declaration that cannot work (not a
 * singleton, no `canSubscribe`, overlapping another) fails the bootstrap, since
 * ignoring it would refuse its topics to everyone without saying why.
 */
@Injectable()
export class SseTopicExplorer implements OnModuleInit {
  constructor(
    private readonly discovery: DiscoveryService,
    private readonly metadata: SseTopicMetadataAccessor,
    private readonly authorizer: SseTopicAuthorizer,
  ) {}

  onModuleInit(): void {
    // The same class provided by several modules is one declaration.
    const seen = new Set<unknown>();
    for (const wrapper of this.discovery.getProviders()) {
      const pattern = this.metadata.getTopicPattern(wrapper.metatype);
      if (pattern === undefined || seen.has(wrapper.metatype)) continue;
      seen.add(wrapper.metatype);
      const name = wrapper.name ? String(wrapper.name) : 'a provider';
      const policy = wrapper.instance as Partial<SseTopicPolicy> | undefined;
      if (!wrapper.isDependencyTreeStatic() || !policy) {
        throw new Error(
          `@SseTopic('${pattern}') on ${name}: the policy must be a singleton provider (not request-scoped or transient)`,
        );
      }
      if (typeof policy.canSubscribe !== 'function') {
        throw new Error(
          `@SseTopic('${pattern}') on ${name}: the class has no canSubscribe(user, params, topic) method`,
        );
      }
      this.authorizer.declare(SseTopicPattern.compile(pattern), policy as SseTopicPolicy, name);
    }
  }
}
