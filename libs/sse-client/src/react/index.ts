/** React entry point: `react` (>= 18) is a peer dependency of this entry only. */
export { SseClientError } from '../sse-client.errors.js';
export type { SseStatus, SseStatusReason } from '../sse-client.types.js';
export { useSSE, type UseSseOptions, type UseSseResult } from './use-sse.js';
