import { useState } from 'react';

import type { DemoApi } from '../api.js';
import { time } from '../format.js';
import { useAdminStats } from '../hooks/useAdminStats.js';

/**
 * The admin view: open streams, connected users, events per second and drops,
 * live from the `admin/stats` topic. Its stream is opened by Watch and closed by
 * Stop (or by leaving the session): the server publishes only while someone watches.
 */
export function AdminPanel({ api }: { api: DemoApi }) {
  const [watching, setWatching] = useState(false);
  return (
    <section className="panel" data-testid="admin-panel">
      <h2>
        Admin: live figures
        <button type="button" className="secondary" data-testid="admin-watch" onClick={() => setWatching((w) => !w)}>
          {watching ? 'Stop' : 'Watch'}
        </button>
      </h2>
      {watching ? (
        <AdminStats api={api} />
      ) : (
        <p className="hint">
          Watch opens a stream subscribed to <code>admin/stats</code> (admins only).
        </p>
      )}
    </section>
  );
}

/** Mounted while watched: its own stream, counted in the figures it shows. */
function AdminStats({ api }: { api: DemoApi }) {
  const feed = useAdminStats(api);
  return (
    <>
      <p className="hint">
        From <code>GET /api/events?topic=admin/stats</code>, published every second while an admin watches{' '}
        <span className={`badge status-${feed.status}`} data-testid="admin-status">
          {feed.status}
        </span>
        . Drops: streams ended for not reading (slow clients) since startup.
      </p>
      {feed.rows.length === 0 ? <p className="empty">Waiting for the first figures…</p> : null}
      <table data-testid="admin-stats" data-updates={feed.updates}>
        <thead>
          <tr>
            <th>Instance</th>
            <th>Open streams</th>
            <th>Users</th>
            <th>Events/s</th>
            <th>Drops</th>
            <th>At</th>
          </tr>
        </thead>
        <tbody>
          {feed.rows.map((row) => (
            <tr key={row.instance} data-testid="admin-stats-row" data-instance={row.instance}>
              <td>
                <code>{row.instance}</code>
              </td>
              <td data-testid="admin-open-streams">{row.openStreams}</td>
              <td data-testid="admin-connected-users">{row.connectedUsers}</td>
              <td data-testid="admin-events-per-second">{row.eventsPerSecond}</td>
              <td data-testid="admin-drops">{row.drops}</td>
              <td>{time(Date.parse(row.at))}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}
