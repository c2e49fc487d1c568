import { useCallback, useState } from 'react';

/** Where the last seen event id is kept, so that a page reload resumes the stream (`?lastEventId=`). */
const lastEventIdKey = (userId: string): string => `nest-sse:lastEventId:${userId}`;

/**
 * The user's last seen event id in sessionStorage: `resumeFrom` is read once per mounted
 * session, `remember` stores each new one. Without storage the page simply starts live.
 */
export function useStoredLastEventId(userId: string): {
  resumeFrom: string | undefined;
  remember: (lastEventId: string) => void;
} {
  const [resumeFrom] = useState(() => readStoredId(userId));
  const remember = useCallback(
    (lastEventId: string) => {
      try {
        sessionStorage.setItem(lastEventIdKey(userId), lastEventId);
      } catch {
        /* storage unavailable: a reload then starts live */
      }
    },
    [userId],
  );
  return { resumeFrom, remember };
}

function readStoredId(userId: string): string | undefined {
  try {
    return sessionStorage.getItem(lastEventIdKey(userId)) ?? undefined;
  } catch {
    return undefined;
  }
}
