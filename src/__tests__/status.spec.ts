// The status bar item: its one-second ticker rewrites only the seconds' text, and stops.

import { MessageLoop } from '@lumino/messaging';

import { SparkStatus } from '../status';
import {
  brokerEvent,
  FakeBroker,
  makeAttachment,
  makeSession,
  trans
} from './fakeBroker';
import { Mutations } from './mutations';

const T0 = Date.parse('2030-01-01T00:00:00Z');

async function startingNotebook() {
  const broker = new FakeBroker();
  const session = makeSession(1, {
    state: 'starting',
    created: new Date(T0).toISOString()
  });
  broker.sessions.push(session);
  broker.attachments.push(makeAttachment(1, 's1', 'work.ipynb'));
  const model = broker.model();
  model.configure({ refreshInterval: 0 });
  model.setCurrentPath('work.ipynb');
  await model.refresh();
  return { broker, model, session };
}

beforeEach(() => {
  jest.useFakeTimers({ now: T0 + 5000 });
});

afterEach(() => {
  jest.useRealTimers();
});

describe('the status item', () => {
  it('counts the seconds of a starting session, writing only the text', async () => {
    const { model } = await startingNotebook();
    const status = new SparkStatus(model, trans);
    MessageLoop.flush();
    expect(status.node.textContent).toBe('Spark: starting (5 s)');
    const mutations = new Mutations(status.node);

    await jest.advanceTimersByTimeAsync(1000);
    expect(status.node.textContent).toBe('Spark: starting (6 s)');
    await jest.advanceTimersByTimeAsync(3000);
    expect(status.node.textContent).toBe('Spark: starting (9 s)');

    const records = mutations.take();
    expect(records.length).toBeGreaterThan(0);
    expect(records.filter(record => record.type === 'attributes')).toEqual([]);
    status.dispose();
    model.dispose();
  });

  it('stops ticking once the session is ready, and says so', async () => {
    const { broker, model, session } = await startingNotebook();
    const status = new SparkStatus(model, trans);
    MessageLoop.flush();

    session.state = 'idle';
    model.handleEvent(
      brokerEvent('session_state', {
        session_id: broker.sessions[0].id,
        state: 'idle'
      })
    );
    await jest.advanceTimersByTimeAsync(1000); // the refresh the event asks for
    MessageLoop.flush();
    expect(status.node.textContent).toBe('Spark: idle');
    expect(status.node.dataset.state).toBe('idle');
    expect(jest.getTimerCount()).toBe(0);

    status.dispose();
    model.dispose();
  });

  it('stops its ticker and its updates when disposed', async () => {
    const { model } = await startingNotebook();
    const status = new SparkStatus(model, trans);
    const before = jest.getTimerCount();
    MessageLoop.flush(); // its first render starts the ticker
    expect(jest.getTimerCount()).toBe(before + 1);

    status.dispose();
    expect(jest.getTimerCount()).toBe(before);
    model.handleEvent(
      brokerEvent('session_state', { session_id: 's1', state: 'idle' })
    );
    MessageLoop.flush();
    expect(status.node.textContent).toBe('Spark: starting (5 s)');
    model.dispose();
  });
});
