import { time } from '../format.js';
import type { ActivityEntry } from '../hooks/useActivityLog.js';

export function ActivityLog({ entries }: { entries: ActivityEntry[] }) {
  return (
    <section className="panel">
      <h2>Connection activity</h2>
      <ul className="activity" data-testid="activity">
        {entries.map((entry) => (
          <li key={entry.seq} data-kind={entry.kind} className={`activity-${entry.kind}`}>
            <span className="at">{time(entry.at)}</span> {entry.text}
          </li>
        ))}
      </ul>
    </section>
  );
}
