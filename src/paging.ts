// How the panel pages the broker's lists. A list reply says how long the whole list is (`total`);
// the API gives at most 1,000 items a request (`limit`).

import type { BrokerAPI, IPage, IPageOf, ISession } from './api';

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
 * The ``wanted`` newest live sessions, and how many live sessions there are in all. The registry
 * keeps ended sessions for good: ``live`` leaves them to the server, so a page on a busy site is
 * all live sessions, one request a page.
 */
export async function fetchLiveSessions(
  api: BrokerAPI,
  mine: boolean,
  wanted: number
): Promise<IPageOf<ISession>> {
  return fetchFirst(
    page => api.sessions(mine ? { mine, live: true } : { live: true }, page),
    wanted
  );
}
