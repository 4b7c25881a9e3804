// How times and states read: what the panel and the status bar show.

import { since, stateLabel, statusLine } from '../format';
import { makeSession, trans } from './fakeBroker';

const T0 = Date.parse('2030-01-01T00:00:00Z');
const at = (seconds: number) => T0 + seconds * 1000;
const iso = new Date(T0).toISOString();

describe('since', () => {
  it('says seconds, then minutes, then hours', () => {
    expect(since(trans, iso, at(12))).toBe('12 s');
    expect(since(trans, iso, at(89))).toBe('89 s');
    expect(since(trans, iso, at(4 * 60))).toBe('4 min');
    expect(since(trans, iso, at(89 * 60))).toBe('89 min');
    expect(since(trans, iso, at(2 * 3600))).toBe('2 h');
  });

  it('says 0 s for a time a little ahead of this clock', () => {
    expect(since(trans, iso, at(-3))).toBe('0 s');
  });
});

describe('stateLabel', () => {
  it('reads Livy state names as words', () => {
    expect(stateLabel(trans, 'not_started')).toBe('not started');
    expect(stateLabel(trans, 'shutting_down')).toBe('shutting down');
    expect(stateLabel(trans, 'idle')).toBe('idle');
  });

  it('shows a state it does not know as it is', () => {
    expect(stateLabel(trans, 'hibernating')).toBe('hibernating');
  });
});

describe('statusLine', () => {
  const created = new Date(T0).toISOString();

  it('says there is no session yet', () => {
    expect(statusLine(trans, undefined, undefined)).toMatchObject({
      text: 'Spark: –',
      state: 'none',
      ticking: false
    });
  });

  it('counts the seconds of a starting session', () => {
    const session = makeSession(1, { state: 'starting', created });
    const line = statusLine(trans, session, undefined, at(12));
    expect(line.text).toBe('Spark: starting (12 s)');
    expect(line.ticking).toBe(true);
    expect(line.title).toBe('Spark session s1 on live');
  });

  it("shows a running statement's progress, and none for plain code", () => {
    const session = makeSession(1, { state: 'busy' });
    const running = { statementId: 1, state: 'running', progress: 0.4 };
    expect(statusLine(trans, session, running).text).toBe('Spark: busy 40%');
    const plain = { ...running, progress: 0 };
    expect(statusLine(trans, session, plain).text).toBe('Spark: busy');
    const idle = makeSession(1, { state: 'idle' });
    expect(statusLine(trans, idle, running).state).toBe('busy');
  });

  it('says a Connect session is ready, never idle: the broker does not see its queries', () => {
    const session = makeSession(1, { protocol: 'connect', state: 'idle' });
    const line = statusLine(trans, session, undefined);
    expect(line.text).toBe('Spark Connect: ready');
    expect(line.title).toContain('their progress shows in the notebook');
    const starting = makeSession(1, { protocol: 'connect', state: 'starting' });
    expect(statusLine(trans, starting, undefined).text).toMatch(
      /^Spark: starting/
    );
  });

  it('says an ended session ended', () => {
    const line = statusLine(
      trans,
      makeSession(1, { state: 'killed' }),
      undefined
    );
    expect(line.text).toBe('Spark: killed');
    expect(line.ended).toBe(true);
    expect(line.ticking).toBe(false);
  });
});
