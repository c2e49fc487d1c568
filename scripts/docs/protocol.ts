/**
 * `@nest-sse/protocol`: the wire contract both packages depend on (event types, reset and 401 reasons, limits, name rules, event ids, resuming, shared streams). No dependency.
 * @module @nest-sse/protocol
 */
export * from '../../libs/protocol/src/index.js';
