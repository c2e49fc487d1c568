import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';

import { Dashboard, readPageOptions } from './Dashboard.js';

const root = document.getElementById('root');
if (!root) throw new Error('dashboard: #root is missing from the page');
createRoot(root).render(
  <StrictMode>
    <Dashboard initial={readPageOptions(window.location.search)} />
  </StrictMode>,
);
