/** Injection tokens of the module's internal providers. */
export const SSE_OPTIONS = Symbol('SSE_OPTIONS');
export const SSE_ROUTE_PATH = Symbol('SSE_ROUTE_PATH');
/** The module's `maxPendingDataLength`, which is also the largest event it publishes. */
export const SSE_MAX_PENDING_DATA_LENGTH = Symbol('SSE_MAX_PENDING_DATA_LENGTH');
export const SSE_JWT_SERVICE = Symbol('SSE_JWT_SERVICE');
export const SSE_HISTORY_STORE = Symbol('SSE_HISTORY_STORE');
export const SSE_TRANSPORT = Symbol('SSE_TRANSPORT');
/** The ticket store chosen in `SseModule` (`tickets.store`, the transport's, or memory). */
export const SSE_TICKET_STORE = Symbol('SSE_TICKET_STORE');
/** What tickets are scoped to: the module's path, whether or not its route is served (`route: false`). */
export const SSE_TICKET_SCOPE = Symbol('SSE_TICKET_SCOPE');
