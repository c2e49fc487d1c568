/**
 * Event type to the type of its `data`: the events an app sends, declared once
 * as an interface and given to `SseService<TEvents>`, the bridge decorators and
 * the browser client (`SseClient<TEvents>`, `useSSE<TEvents>`), so that an
 * unknown type or a wrong payload fails compilation:
 *
 * ```ts
 * export interface AppEvents {
 *   notification: { orderId: string; item: string };
 *   update: { orderId: string; status: 'shipped' };
 * }
 * constructor(private readonly sse: SseService<AppEvents>) {}
 * ```
 *
 * This default accepts any type name, with data of any type. Data is sent as
 * JSON, so a map should hold JSON-shaped types (a `Date` arrives as a string).
 * Where a map is expected, any object type with string keys is accepted,
 * interfaces included (hence the `Record<string, any>` constraints: an interface
 * has no index signature, so it is not a `Record<string, unknown>`).
 *
 * @publicApi
 */
export type SseEventMap = Record<string, unknown>;

/**
 * The event type names of a map.
 *
 * @publicApi
 */
export type SseEventType<TEvents extends Record<string, any> = SseEventMap> = keyof TEvents & string;

/**
 * What callers publish: `{ type, data, id? }`. With a map, one member per type
 * (`type: K` with `data: TEvents[K]`), so `data` is checked against its own type
 * name; by default any type name with any data. `data` must be JSON-serialisable:
 * it is sent as JSON.
 *
 * @publicApi
 */
export type SseEvent<
  TEvents extends Record<string, any> = SseEventMap,
  K extends SseEventType<TEvents> = SseEventType<TEvents>,
> = {
  [P in K]: {
    /** The SSE event name: `notification`, `update`, or any name the wire rules accept. */
    type: P;
    data: TEvents[P];
    /**
     * Only with `history: false`: a wire-safe id of your own. With history on
     * (the default) the server assigns ordered ids and refuses this field:
     * domain ids (an order id) belong in `data`.
     */
    id?: string;
  };
}[K];
