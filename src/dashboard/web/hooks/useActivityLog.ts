import { useCallback, useRef, useState } from 'react';

export type ActivityKind = 'connected' | 'lost' | 'recovered' | 'auth-expired' | 'token' | 'reset' | 'order' | 'error';

export interface ActivityEntry {
  seq: number;
  kind: ActivityKind;
  text: string;
  at: number;
}

export type LogActivity = (kind: ActivityKind, text: string) => void;

const MAX_ACTIVITY = 50;

/** The session's "Connection activity" list: newest first, the last 50. `log` is stable. */
export function useActivityLog(): { entries: ActivityEntry[]; log: LogActivity } {
  const [entries, setEntries] = useState<ActivityEntry[]>([]);
  const seq = useRef(0);
  const log = useCallback<LogActivity>((kind, text) => {
    const entry = { seq: ++seq.current, kind, text, at: Date.now() };
    setEntries((list) => [entry, ...list].slice(0, MAX_ACTIVITY));
  }, []);
  return { entries, log };
}
