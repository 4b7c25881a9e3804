// How the panel pages the broker's lists. A list reply says how long the whole list is (`total`);
// the API gives at most 1,000 items a request (`limit`).

import type { BrokerAPI, IPage, IPageOf, ISession } from './api';
import { LIVE_STATES } from './states';

/** The API's largest `limit`. */
export const MAX_PAGE = 1000;

/**
 * The list's first ``wanted`` items (all of them by default), a request per page of at most
 * MAX_PAGE, and the list's total.
 */
export async function fetchFirst<T>(
  fetchPage: (page: IPage) => Promise<IPageOf<T>>,
  wanted = Infinity
): Promise<IPageOf<T>> {
  const items: T[] = [];
  let total = Infinity;
  while (items.length < Math.min(wanted, total)) {
    const limit = Math.min(MAX_PAGE, wanted - items.length);
    const page = await fetchPage({ limit, offset: items.length });
    total = page.total;
    items.push(...page.items);
    if (page.items.length === 0) {
      break; // the list shrank while we paged it
    }
  }
  return { items, total };
}

/**
 * The ``wanted`` newest live sessions, and how many live sessions there are in all.
 *
 * The registry keeps ended sessions for good, so a list of every state would be mostly history on
 * a busy site. One query per live state keeps each page to live sessions; the newest ``wanted`` of
 * all are among the newest ``wanted`` of each state.
 */
export async function fetchLiveSessions(
  api: BrokerAPI,
  mine: boolean,
  wanted: number
): Promise<IPageOf<ISession>> {
  const perState = await Promise.all(
    LIVE_STATES.map(state =>
      fetchFirst(
        page => api.sessions(mine ? { mine, state } : { state }, page),
        wanted
      )
    )
  );
  const byId = new Map<string, ISession>();
  for (const { items } of perState) {
    for (const session of items) {
      byId.set(session.id, session); // one that changed state between two queries: once
    }
  }
  const newestFirst = [...byId.values()].sort(
    (a, b) =>
      Date.parse(b.created) - Date.parse(a.created) ||
      (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
  );
  const total = perState.reduce((sum, page) => sum + page.total, 0);
  return { items: newestFirst.slice(0, wanted), total };
}
