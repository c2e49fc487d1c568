/** A time of day as the dashboard shows it (24 h, the browser's locale). */
export const time = (ms: number): string => new Date(ms).toLocaleTimeString([], { hour12: false });

/** The first 8 characters of an order id: enough to tell orders apart in a table. */
export const shortId = (id: string): string => (id.length > 8 ? id.slice(0, 8) : id);
