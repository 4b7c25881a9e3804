// The model as a person notices it through the panel: events change what is shown, lists are
// paged, the log view asks for the tail only, and nothing outlives the model.

import { Signal } from '@lumino/signaling';

import {
  brokerEvent,
  FakeBroker,
  makeAttachment,
  makeSession
} from './fakeBroker';

/** Sessions s1..sN, live (idle), in the broker. */
function withSessions(broker: FakeBroker, count: number): void {
  for (let n = 1; n <= count; n++) {
    broker.sessions.push(makeSession(n));
  }
}

afterEach(() => {
  jest.useRealTimers();
});

describe('events', () => {
  it("shows a session's new state at once, without asking the server", async () => {
    const broker = new FakeBroker();
    withSessions(broker, 2);
    const model = broker.model();
    await model.refresh();
    broker.requests = [];
    let changes = 0;
    model.changed.connect(() => changes++);

    model.handleEvent(
      brokerEvent('session_state', { session_id: 's1', state: 'busy' })
    );

    expect(model.sessions.find(s => s.id === 's1')?.state).toBe('busy');
    expect(model.sessions.find(s => s.id === 's2')?.state).toBe('idle');
    expect(changes).toBe(1);
    expect(broker.requests).toEqual([]); // the refresh it schedules comes later
    model.dispose();
  });

  it('takes a killed session out of the list at once, and the count follows', async () => {
    const broker = new FakeBroker();
    withSessions(broker, 3);
    const model = broker.model();
    await model.refresh();
    expect(model.liveTotal).toBe(3);

    model.handleEvent(
      brokerEvent('session_action', { action: 'killed', session_id: 's2' })
    );

    expect(model.sessions.map(s => s.id)).toEqual(['s3', 's1']);
    expect(model.liveTotal).toBe(2);
    model.dispose();
  });

  it('lists a session created elsewhere after one refresh, however many events come', async () => {
    jest.useFakeTimers();
    const broker = new FakeBroker();
    withSessions(broker, 1);
    const model = broker.model();
    await model.refresh();
    broker.requests = [];

    broker.sessions.push(makeSession(2, { state: 'starting' }));
    model.handleEvent(
      brokerEvent('session_action', { action: 'created', session_id: 's2' })
    );
    model.handleEvent(
      brokerEvent('session_state', { session_id: 's2', state: 'starting' })
    );
    model.handleEvent(
      brokerEvent('session_action', { action: 'attached', session_id: 's2' })
    );
    await jest.advanceTimersByTimeAsync(200);

    expect(model.sessions.map(s => [s.id, s.state])).toEqual([
      ['s2', 'starting'],
      ['s1', 'idle']
    ]);
    // One refresh: one query for the live sessions, and one for the attachments.
    expect(broker.requestsTo('sessions')).toHaveLength(1);
    expect(broker.requestsTo('attachments')).toHaveLength(1);
    model.dispose();
  });

  it("follows a statement's progress and forgets it when the statement ends", () => {
    const model = new FakeBroker().model();
    model.handleEvent(
      brokerEvent('statement', {
        session_id: 's1',
        statement_id: 3,
        state: 'running',
        progress: 0.4
      })
    );
    expect(model.progress.get('s1')).toEqual({
      statementId: 3,
      state: 'running',
      progress: 0.4
    });
    model.handleEvent(
      brokerEvent('statement', {
        session_id: 's1',
        statement_id: 3,
        state: 'available'
      })
    );
    expect(model.progress.has('s1')).toBe(false);
    model.dispose();
  });

  it("drops a detached notebook from its session's notebooks at once", async () => {
    const broker = new FakeBroker();
    withSessions(broker, 1);
    broker.attachments.push(makeAttachment(1, 's1', 'a.ipynb'));
    broker.attachments.push(makeAttachment(2, 's1', 'b.ipynb'));
    const model = broker.model();
    await model.refresh();
    expect(model.notebooksOf('s1')).toEqual(['a.ipynb', 'b.ipynb']);

    model.handleEvent(
      brokerEvent('session_action', {
        action: 'detached',
        session_id: 's1',
        attachment_id: 'a1'
      })
    );

    expect(model.notebooksOf('s1')).toEqual(['b.ipynb']);
    model.dispose();
  });

  it("ignores other extensions' events", () => {
    const model = new FakeBroker().model();
    let changes = 0;
    model.changed.connect(() => changes++);
    model.handleEvent({
      schema_id:
        'https://events.jupyter.org/jupyter_server/contents_service/v1',
      action: 'save'
    } as any);
    expect(changes).toBe(0);
    model.dispose();
  });
});

describe('paged lists', () => {
  it('lists only live sessions, asking the server for live ones only', async () => {
    const broker = new FakeBroker();
    withSessions(broker, 2);
    for (let n = 3; n <= 400; n++) {
      broker.sessions.push(makeSession(n, { state: 'killed' }));
    }
    const model = broker.model();
    await model.refresh();

    expect(model.sessions.map(s => s.id)).toEqual(['s2', 's1']);
    expect(model.liveTotal).toBe(2);
    const asked = broker.requestsTo('sessions');
    expect(asked).toHaveLength(1);
    expect(asked[0].searchParams.get('live')).toBe('true');
    model.dispose();
  });

  it('shows a page, then one more page per "Show more", newest first, with how many are left', async () => {
    jest.useFakeTimers();
    const broker = new FakeBroker();
    for (let n = 1; n <= 120; n++) {
      broker.sessions.push(makeSession(n, { state: n % 3 ? 'idle' : 'busy' }));
    }
    const model = broker.model();
    model.configure({ pageSize: 50 });
    await model.refresh();

    expect(model.sessions).toHaveLength(50);
    expect(model.sessions[0].id).toBe('s120');
    expect(model.sessions[49].id).toBe('s71');
    expect(model.liveTotal).toBe(120);
    expect(model.hasMore).toBe(true);

    model.showMore();
    await jest.advanceTimersByTimeAsync(0);
    expect(model.sessions).toHaveLength(100);
    expect(model.sessions[99].id).toBe('s21');

    model.showMore();
    await jest.advanceTimersByTimeAsync(0);
    expect(model.sessions).toHaveLength(120);
    expect(model.hasMore).toBe(false);
    model.dispose();
  });

  it('asks in pages the API allows and reads the attachments to their end', async () => {
    const broker = new FakeBroker();
    withSessions(broker, 1);
    for (let n = 1; n <= 2500; n++) {
      broker.attachments.push(makeAttachment(n, 's1', `n${n}.ipynb`));
    }
    const model = broker.model();
    await model.refresh();

    expect(model.attachments).toHaveLength(2500);
    const pages = broker
      .requestsTo('attachments')
      .map(url => [
        url.searchParams.get('offset'),
        url.searchParams.get('limit')
      ]);
    expect(pages).toEqual([
      ['0', '1000'],
      ['1000', '1000'],
      ['2000', '1000']
    ]);
    expect(model.loadError).toBeNull();
    model.dispose();
  });

  it("lists every user's sessions for an admin who asks, and never for others", async () => {
    const broker = new FakeBroker();
    broker.sessions.push(makeSession(1, { owner: 'alice' }));
    broker.sessions.push(makeSession(2, { owner: 'bob' }));
    const model = broker.model();
    await model.start();
    model.configure({ allUsers: true });
    await model.refresh();
    expect(model.allUsers).toBe(false);
    expect(model.sessions.map(s => s.owner)).toEqual(['alice']);
    expect(
      broker
        .requestsTo('sessions')
        .every(url => url.searchParams.get('mine') === 'true')
    ).toBe(true);
    model.dispose();

    broker.admin = true;
    broker.requests = [];
    const admin = broker.model();
    await admin.start();
    expect(admin.sessions.map(s => s.owner)).toEqual(['alice']); // their own, until asked
    admin.setAllUsers(true);
    await admin.refresh();
    expect(admin.allUsers).toBe(true);
    expect(admin.sessions.map(s => s.owner)).toEqual(['bob', 'alice']);
    admin.dispose();
  });
});

describe('the driver log', () => {
  it('asks for the last lines only, never the whole log', async () => {
    const broker = new FakeBroker();
    withSessions(broker, 1);
    broker.log = Array.from({ length: 10000 }, (_, i) => `line ${i + 1}`);
    const model = broker.model();
    model.configure({ logLines: 40 });

    await model.loadLog('s1');

    const [asked] = broker.requestsTo('sessions/s1/log');
    expect(asked.searchParams.get('size')).toBe('40');
    expect(asked.searchParams.has('from')).toBe(false);
    const log = model.logs.get('s1');
    expect(log?.log).toHaveLength(40);
    expect(log?.log[0]).toBe('line 9961');
    expect(log?.log[39]).toBe('line 10000');
    expect(log?.total).toBe(10000);
    expect(log?.from).toBe(9960);
    model.dispose();
  });

  it('says why when the session has no log to give', async () => {
    const model = new FakeBroker().model();
    await model.loadLog('gone');
    expect(model.error).toBe('no session gone');
    expect(model.logs.has('gone')).toBe(false);
    model.dispose();
  });
});

describe('settings and timers', () => {
  it('reloads on the interval only while the panel is shown; 0 means on events only', async () => {
    jest.useFakeTimers();
    const broker = new FakeBroker();
    const model = broker.model();
    model.configure({ refreshInterval: 10 });
    await model.start();
    const reloads = () => broker.requestsTo('attachments').length;
    const atStart = reloads();

    await jest.advanceTimersByTimeAsync(35_000);
    expect(reloads()).toBe(atStart); // nobody looks

    model.setWatched(true); // stale by now: reloads at once
    await jest.advanceTimersByTimeAsync(0);
    expect(reloads()).toBe(atStart + 1);
    await jest.advanceTimersByTimeAsync(20_000);
    expect(reloads()).toBe(atStart + 3);

    model.configure({ refreshInterval: 0 });
    await jest.advanceTimersByTimeAsync(120_000);
    expect(reloads()).toBe(atStart + 3);
    model.dispose();
  });

  it('lists the first page again when the view changes', async () => {
    const broker = new FakeBroker();
    broker.admin = true;
    withSessions(broker, 30);
    const model = broker.model();
    model.configure({ pageSize: 10 });
    await model.start();
    model.showMore();
    await model.refresh();
    expect(model.sessions).toHaveLength(20);

    model.setAllUsers(true);
    await model.refresh();
    expect(model.sessions).toHaveLength(10);
    model.dispose();
  });
});

describe('disposal', () => {
  it('ends the event subscription with the model', async () => {
    const broker = new FakeBroker();
    withSessions(broker, 1);
    const model = broker.model();
    await model.refresh();
    const stream = new Signal<object, any>({});
    model.subscribe(stream);

    stream.emit(
      brokerEvent('session_state', { session_id: 's1', state: 'busy' })
    );
    expect(model.sessions[0].state).toBe('busy');

    model.dispose();
    stream.emit(
      brokerEvent('session_state', { session_id: 's1', state: 'dead' })
    );
    expect(model.sessions[0].state).toBe('busy');
    expect(model.isDisposed).toBe(true);
  });

  it('leaves no timer behind', async () => {
    jest.useFakeTimers();
    const broker = new FakeBroker();
    const model = broker.model();
    await model.start(); // the interval's timer
    model.scheduleRefresh();
    model.scheduleHealthCheck();
    expect(jest.getTimerCount()).toBeGreaterThan(0);

    model.dispose();

    expect(jest.getTimerCount()).toBe(0);
    model.scheduleRefresh(); // late events do nothing
    expect(jest.getTimerCount()).toBe(0);
  });

  it('stops telling its listeners about changes', () => {
    const model = new FakeBroker().model();
    let changes = 0;
    model.changed.connect(() => changes++);
    model.dispose();
    model.dismissError();
    expect(changes).toBe(0);
  });
});
