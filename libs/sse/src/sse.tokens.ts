/** Injection tokens of the module's internal providers. */
export const SSE_OPTIONS = Symbol('SSE_OPTIONS');
export const SSE_ROUTE_PATH = Symbol('SSE_ROUTE_PATH');
export const SSE_JWT_SERVICE = Symbol('SSE_JWT_SERVICE');
export const SSE_HISTORY_STORE = Symbol('SSE_HISTORY_STORE');
