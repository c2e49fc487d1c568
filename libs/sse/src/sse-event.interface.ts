/** What callers publish. `data` is any JSON-serialisable value; it is sent as JSON. */
export interface SseEvent<T = unknown> {
  /** The SSE event name: `notification`, `update`, `heartbeat`, or any name the wire rules accept. */
  type: string;
  data: T;
  /**
   * Only with `history: false`: a wire-safe id of your own. With history on
   * (the default) the server assigns ordered ids and refuses this field:
   * domain ids (an order id) belong in `data`.
   */
  id?: string;
}
