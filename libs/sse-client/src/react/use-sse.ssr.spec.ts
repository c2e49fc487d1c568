import { beforeEach, describe, expect, it } from '@jest/globals';
import { createElement } from 'react';
import { renderToString } from 'react-dom/server';

import { FakeEventSource } from '../testing/fake-event-source.js';
import { useSSE } from './index.js';

function Status(): ReturnType<typeof createElement> {
  const { status, lastEventId } = useSSE('/api/events', {
    token: 't',
    EventSource: FakeEventSource,
    lastEventId: 'u:1',
    onNotification: () => {},
  });
  return createElement('p', null, `${status} ${lastEventId ?? '-'}`);
}

beforeEach(() => FakeEventSource.reset());

describe('useSSE during server-side rendering', () => {
  it('renders the initial state and creates no EventSource', () => {
    expect(typeof window).toBe('undefined');
    const html = renderToString(createElement(Status));
    expect(html).toBe('<p>connecting u:1</p>');
    expect(FakeEventSource.instances).toHaveLength(0);
  });
});
