/**
 * `@nest-sse/client/react`: the `useSSE` hook (React >= 18 as a peer dependency of this entry only).
 * @module @nest-sse/client/react
 */
export * from '../../libs/sse-client/src/react/index.js';
