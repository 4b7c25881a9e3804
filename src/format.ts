// How times, states and the status item's line read, in the user's language.

import { TranslationBundle } from '@jupyterlab/translation';

import type { ISession } from './api';
import type { IProgress } from './model';
import { FINISHED, STARTING } from './states';

/** "12 s", "4 min", "2 h" from ``iso`` to ``now`` (milliseconds since the epoch). */
export function since(
  trans: TranslationBundle,
  iso: string,
  now: number = Date.now()
): string {
  const seconds = Math.max(0, (now - Date.parse(iso)) / 1000);
  if (seconds < 90) {
    return trans.__('%1 s', Math.round(seconds));
  }
  if (seconds < 90 * 60) {
    return trans.__('%1 min', Math.round(seconds / 60));
  }
  return trans.__('%1 h', Math.round(seconds / 3600));
}

/** A session state as a person reads it; unknown states as they are. */
export function stateLabel(trans: TranslationBundle, state: string): string {
  switch (state) {
    case 'not_started':
      return trans.__('not started');
    case 'starting':
      return trans.__('starting');
    case 'recovering':
      return trans.__('recovering');
    case 'idle':
      return trans.__('idle');
    case 'busy':
      return trans.__('busy');
    case 'running':
      return trans.__('running');
    case 'shutting_down':
      return trans.__('shutting down');
    case 'error':
      return trans.__('error');
    case 'dead':
      return trans.__('dead');
    case 'killed':
      return trans.__('killed');
    case 'success':
      return trans.__('success');
    case 'lost':
      return trans.__('lost');
    default:
      return state;
  }
}

export function kindLabel(trans: TranslationBundle, session: ISession): string {
  return session.protocol === 'connect'
    ? trans.__('Spark Connect')
    : session.kind;
}

/** What the status item shows for the active notebook's session. */
export interface IStatusLine {
  text: string;
  title: string;
  /** For tools and styles: the session's state, or `busy` while a statement runs, or `none`. */
  state: string;
  ended: boolean;
  /** The text changes every second (a starting session's seconds). */
  ticking: boolean;
}

export function statusLine(
  trans: TranslationBundle,
  session: ISession | undefined,
  progress: IProgress | undefined,
  now: number = Date.now()
): IStatusLine {
  if (!session) {
    return {
      text: trans.__('Spark: –'),
      title: trans.__('This notebook has no Spark session yet'),
      state: 'none',
      ended: false,
      ticking: false
    };
  }
  const state = session.state;
  const title = trans.__(
    'Spark session %1 on %2',
    session.id,
    session.endpoint
  );
  const line = {
    title,
    state: progress ? 'busy' : state,
    ended: FINISHED.has(state),
    ticking: STARTING.has(state)
  };
  if (STARTING.has(state)) {
    const seconds = Math.max(
      0,
      Math.round((now - Date.parse(session.created)) / 1000)
    );
    return { ...line, text: trans.__('Spark: starting (%1 s)', seconds) };
  }
  if (session.protocol === 'connect' && !FINISHED.has(state)) {
    // Connect clients talk to their server directly: the broker never sees a query run, so the
    // line says the session is there to use, not that it is idle.
    return {
      ...line,
      text: trans.__('Spark Connect: ready'),
      title: trans.__(
        'Spark Connect session %1 on %2: its queries run between the notebook and the Connect server; their progress shows in the notebook and the Spark UI',
        session.id,
        session.endpoint
      )
    };
  }
  if (progress || state === 'busy') {
    // Spark reports task progress; plain code (no Spark job) stays at 0 and shows none.
    const fraction = progress?.progress ?? 0;
    return {
      ...line,
      text:
        fraction > 0
          ? trans.__('Spark: busy %1%', Math.round(fraction * 100))
          : trans.__('Spark: busy')
    };
  }
  return {
    ...line,
    text: trans.__('Spark: %1', stateLabel(trans, state))
  };
}
