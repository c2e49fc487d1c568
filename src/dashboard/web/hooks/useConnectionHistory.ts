import type { SseStatus, SseStatusReason } from '@nest-sse/client/react';
import { useCallback, useRef, useState } from 'react';

import { statusActivity } from '../connection-activity.js';
import type { LogActivity } from './useActivityLog.js';

export interface ConnectionHistory {
  /** How many times the stream came back after `reconnecting`. */
  recoveries: number;
  /** The last event id seen before the latest recovery: where the server resumed. */
  resumedAfter: string | undefined;
  /** For useSSE's `onStatus`: counts recoveries and logs the change. */
  onStatus: (status: SseStatus, previous: SseStatus, reason: SseStatusReason) => void;
  /** For useSSE's `onLastEventId`. */
  onLastEventId: (lastEventId: string) => void;
}

/** The stream's recoveries, for the banner, and its status changes, for the activity log. */
export function useConnectionHistory(resumeFrom: string | undefined, log: LogActivity): ConnectionHistory {
  const [recoveries, setRecoveries] = useState(0);
  const [resumedAfter, setResumedAfter] = useState<string | undefined>(undefined);
  // Read inside the status callback, which runs between renders.
  const lastSeen = useRef(resumeFrom);

  const onLastEventId = useCallback((lastEventId: string) => {
    lastSeen.current = lastEventId;
  }, []);

  const onStatus = useCallback(
    (status: SseStatus, previous: SseStatus, reason: SseStatusReason) => {
      if (status === 'open' && previous === 'reconnecting') {
        setRecoveries((n) => n + 1);
        setResumedAfter(lastSeen.current);
      }
      const entry = statusActivity({ status, previous, reason, lastSeen: lastSeen.current, resumeFrom });
      if (entry) log(entry.kind, entry.text);
    },
    [resumeFrom, log],
  );

  return { recoveries, resumedAfter, onStatus, onLastEventId };
}
