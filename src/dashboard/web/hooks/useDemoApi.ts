import { useEffect, useState } from 'react';

import { DemoApi, type DemoSession } from '../api.js';
import type { LogActivity } from './useActivityLog.js';

/**
 * The session's API client and token holder (one per mounted session: Dashboard gives
 * each Connect a new key), and how many dev tokens it has had issued; renewals are logged.
 */
export function useDemoApi(session: DemoSession, log: LogActivity): { api: DemoApi; tokensIssued: number } {
  const [tokensIssued, setTokensIssued] = useState(0);
  const [api] = useState(() => new DemoApi(session, setTokensIssued));

  useEffect(() => {
    if (tokensIssued > 1) log('token', `New token #${tokensIssued} (api.freshToken()).`);
  }, [tokensIssued, log]);

  return { api, tokensIssued };
}
