// The panel as a person sees it: rows that stay put while others change, "Show more", the log's
// tail, the admin's switch, every label through the translator, and nothing left after disposal.

import { TranslationBundle } from '@jupyterlab/translation';
import { MessageLoop } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import { SparkModel } from '../model';
import { SparkPanel } from '../panel';
import {
  brokerEvent,
  FakeBroker,
  makeAttachment,
  makeSession,
  trans
} from './fakeBroker';
import { Mutations } from './mutations';

const panels: SparkPanel[] = [];

/** The panel of ``model``, shown, with its first render done. */
function showPanel(model: SparkModel, bundle: TranslationBundle = trans) {
  const panel = new SparkPanel(model, bundle);
  panels.push(panel);
  Widget.attach(panel, document.body);
  MessageLoop.flush();
  return panel;
}

function render(): void {
  MessageLoop.flush();
}

function row(panel: SparkPanel, id: string): HTMLElement | null {
  return panel.node.querySelector(`[data-spark-session-id="${id}"]`);
}

function click(panel: SparkPanel, selector: string): void {
  const target = panel.node.querySelector(selector) as HTMLElement;
  expect(target).not.toBeNull();
  target.click();
}

async function withSessions(count: number, broker = new FakeBroker()) {
  for (let n = 1; n <= count; n++) {
    broker.sessions.push(makeSession(n));
  }
  const model = broker.model();
  await model.start();
  return { broker, model };
}

afterEach(() => {
  for (const panel of panels.splice(0)) {
    panel.model.dispose();
    panel.dispose();
  }
  jest.useRealTimers();
});

describe('the session list', () => {
  it("updates a session's row in place and leaves the other rows untouched", async () => {
    const { model } = await withSessions(3);
    const panel = showPanel(model);
    const [first, second] = [row(panel, 's1')!, row(panel, 's2')!];
    const endpointCell = first.querySelector('.jsb-Session-endpoint')!;
    const untouched = new Mutations(second);
    const changed = new Mutations(first);

    model.handleEvent(
      brokerEvent('session_state', { session_id: 's1', state: 'busy' })
    );
    render();

    expect(row(panel, 's1')).toBe(first);
    expect(row(panel, 's2')).toBe(second);
    expect(untouched.take()).toEqual([]);
    expect(first.dataset.state).toBe('busy');
    expect(first.querySelector('.jsb-State')?.textContent).toBe('busy');
    // Only the state's attribute and badge were written, not the endpoint or the details.
    const written = changed.take().map(record => record.target);
    expect(written.length).toBeGreaterThan(0);
    for (const target of written) {
      expect(
        target === first || first.querySelector('.jsb-State')!.contains(target)
      ).toBe(true);
    }
    expect(first.querySelector('.jsb-Session-endpoint')).toBe(endpointCell);
  });

  it("labels a headless run's session as the run, with the notebook it runs", async () => {
    const broker = new FakeBroker();
    broker.sessions.push(makeSession(1), makeSession(2, { run: 'nightly-7' }));
    broker.attachments.push(makeAttachment(1, 's2', 'reports/daily.ipynb'));
    const model = broker.model();
    await model.start();
    const panel = showPanel(model);

    const run = row(panel, 's2')!;
    expect(run.dataset.run).toBe('nightly-7');
    expect(run.querySelector('.jsb-Session-run')?.textContent).toBe(
      'run nightly-7'
    );
    expect(run.textContent).toContain('reports/daily.ipynb');
    expect(row(panel, 's1')!.dataset.run).toBeUndefined();
    expect(row(panel, 's1')!.querySelector('.jsb-Session-run')).toBeNull();
  });

  it("removes a killed session's row and keeps the others' nodes", async () => {
    const { model } = await withSessions(3);
    const panel = showPanel(model);
    const [first, third] = [row(panel, 's1'), row(panel, 's3')];

    model.handleEvent(
      brokerEvent('session_action', { action: 'killed', session_id: 's2' })
    );
    render();

    expect(row(panel, 's2')).toBeNull();
    expect(row(panel, 's1')).toBe(first);
    expect(row(panel, 's3')).toBe(third);
  });

  it('lists a page, then the next on "Show more", keeping the rows already shown', async () => {
    jest.useFakeTimers();
    const broker = new FakeBroker();
    const { model } = await withSessions(120, broker);
    model.configure({ pageSize: 50 });
    await jest.advanceTimersByTimeAsync(0);
    const panel = showPanel(model);
    expect(panel.node.querySelectorAll('.jsb-Session')).toHaveLength(50);
    expect(panel.node.querySelector('.jsb-Panel-more')?.textContent).toContain(
      '50 of 120 live sessions'
    );
    const newest = row(panel, 's120');

    click(panel, '[data-action=more]');
    await jest.advanceTimersByTimeAsync(0);
    render();

    expect(panel.node.querySelectorAll('.jsb-Session')).toHaveLength(100);
    expect(row(panel, 's120')).toBe(newest);
    expect(panel.node.querySelector('[data-action=more]')?.textContent).toBe(
      'Show 20 more'
    );
  });

  it('offers the all-users switch to admins only, and it lists every user', async () => {
    const broker = new FakeBroker();
    broker.sessions.push(makeSession(1), makeSession(2, { owner: 'bob' }));
    const user = broker.model();
    await user.start();
    expect(
      showPanel(user).node.querySelector('[data-action=all-users]')
    ).toBeNull();

    broker.admin = true;
    const admin = broker.model();
    await admin.start();
    const panel = showPanel(admin);
    expect(row(panel, 's2')).toBeNull();
    const box = panel.node.querySelector(
      '[data-action=all-users]'
    ) as HTMLInputElement;
    box.checked = true;
    box.dispatchEvent(new Event('change', { bubbles: true }));
    await admin.refresh();
    render();

    expect(admin.settings.allUsers).toBe(true);
    expect(row(panel, 's2')?.textContent).toContain('owner bob');
    expect(panel.node.querySelector('h3')?.textContent).not.toBe('My sessions');
  });
});

describe('this notebook', () => {
  async function attached(broker = new FakeBroker(), session = makeSession(1)) {
    broker.sessions.push(session);
    broker.attachments.push(makeAttachment(1, 's1', 'work.ipynb'));
    broker.log = Array.from({ length: 10000 }, (_, i) => `line ${i + 1}`);
    const model = broker.model();
    model.setCurrentPath('work.ipynb');
    await model.start();
    return { broker, model };
  }

  it("shows the driver log's tail, says which lines, and hides it", async () => {
    const { broker, model } = await attached();
    const panel = showPanel(model);

    click(panel, '.jsb-Panel-current [data-action=log]');
    await new Promise(resolve => setTimeout(resolve, 0));
    render();

    const [asked] = broker.requestsTo('sessions/s1/log');
    expect(asked.searchParams.has('from')).toBe(false);
    const log = panel.node.querySelector('.jsb-Panel-log')!;
    expect(log.textContent?.split('\n')).toHaveLength(50);
    expect(log.textContent).toMatch(/^line 9951\n[^]*\nline 10000$/);
    expect(panel.node.querySelector('.jsb-Log-summary')?.textContent).toBe(
      'Lines 9951–10000 of 10000'
    );

    click(panel, '[data-action=hide-log]');
    render();
    expect(panel.node.querySelector('.jsb-Panel-log')).toBeNull();
  });

  it('names a shared session in its facts and its row', async () => {
    const { model } = await attached(
      new FakeBroker(),
      makeSession(1, { name: 'team' })
    );
    const panel = showPanel(model);

    const facts = panel.node.querySelector('.jsb-Panel-facts')!;
    expect(facts.textContent).toContain('Nameteam');
    expect(row(panel, 's1')?.dataset.sessionName).toBe('team');
    expect(
      row(panel, 's1')?.querySelector('.jsb-Session-name')?.textContent
    ).toBe('team');
  });

  it('shows a Connect session with its Connect endpoint, without an application id', async () => {
    const { model } = await attached(
      new FakeBroker(),
      makeSession(1, { protocol: 'connect', endpoint: 'connect-local' })
    );
    const panel = showPanel(model);

    const facts = panel.node.querySelector('.jsb-Panel-facts')!;
    expect(facts.textContent).toContain('Spark Connect endpointconnect-local');
    expect(facts.textContent).not.toContain('Application');
    expect(facts.textContent).not.toContain('Name');
  });

  it('keeps the session name a person is typing while the session changes', async () => {
    const { model } = await attached();
    const panel = showPanel(model);
    const input = panel.node.querySelector(
      'input[name=session-name]'
    ) as HTMLInputElement;
    input.focus();
    input.value = 'tea';

    model.handleEvent(
      brokerEvent('session_state', { session_id: 's1', state: 'busy' })
    );
    render();

    expect(panel.node.querySelector('input[name=session-name]')).toBe(input);
    expect(input.value).toBe('tea');
    expect(document.activeElement).toBe(input);
    expect(
      panel.node
        .querySelector('[data-current-session-id]')
        ?.getAttribute('data-current-state')
    ).toBe('busy');
  });
});

describe('translations', () => {
  /** A bundle that marks what it translated, to find any string that went around it. */
  const plain = trans;
  const mark = (text: string) => `⟦${text}⟧`;
  const marking = {
    __: (id: string, ...args: any[]) => mark(plain.__(id, ...args)),
    _n: (one: string, many: string, n: number, ...args: any[]) =>
      mark(plain._n(one, many, n, ...args)),
    _p: (context: string, id: string, ...args: any[]) =>
      mark(plain._p(context, id, ...args)),
    _np: (
      context: string,
      one: string,
      many: string,
      n: number,
      ...args: any[]
    ) => mark(plain._np(context, one, many, n, ...args))
  } as unknown as TranslationBundle;

  it('shows every label, title and message through the translator', async () => {
    const broker = new FakeBroker();
    broker.admin = true;
    broker.sessions.push(makeSession(1), makeSession(2));
    broker.attachments.push(makeAttachment(1, 's1', 'work.ipynb'));
    const model = broker.model(marking);
    model.setCurrentPath('work.ipynb');
    model.configure({ pageSize: 1 });
    await model.start();
    broker.livyDown = true;
    await model.kill('s2'); // an error to show
    const panel = showPanel(model, marking);

    const labelled = panel.node.querySelectorAll(
      'h2, h3, dt, button, label, .jsb-State, .jsb-Panel-more span, [role=alert]'
    );
    expect(labelled.length).toBeGreaterThan(15);
    // The dismiss button shows a sign, not a word: its title (below) says what it does.
    const dismiss = /×$/;
    for (const element of Array.from(labelled)) {
      if (element.matches('[data-action=dismiss]')) {
        continue;
      }
      const text = (element.textContent ?? '').replace(dismiss, '').trim();
      expect(text).toMatch(/^⟦[^]*⟧$/);
    }
    const titled = panel.node.querySelectorAll('[title], [placeholder]');
    for (const element of Array.from(titled)) {
      const title =
        element.getAttribute('title') ?? element.getAttribute('placeholder');
      expect(title).toMatch(/^⟦[^]*⟧$/);
    }
    expect(panel.title.caption).toMatch(/^⟦[^]*⟧$/);
    expect(panel.node.querySelector('[role=alert]')?.textContent).toContain(
      'Livy unreachable: endpoint live: connection refused'
    );
  });
});

describe('disposal', () => {
  it('stops following the model and stops its clock', async () => {
    jest.useFakeTimers();
    const { model } = await withSessions(1);
    model.configure({ refreshInterval: 0 }); // the model's own timer aside
    await jest.advanceTimersByTimeAsync(1000);
    const timers = jest.getTimerCount();
    const panel = showPanel(model); // shown: its clock runs
    expect(jest.getTimerCount()).toBe(timers + 1);
    const seen = row(panel, 's1')!;

    panel.dispose();
    model.handleEvent(
      brokerEvent('session_state', { session_id: 's1', state: 'busy' })
    );
    render();

    expect(jest.getTimerCount()).toBeLessThanOrEqual(timers + 1); // the refresh the event asked for
    expect(seen.dataset.state).toBe('idle');
    expect(panel.node.isConnected).toBe(false);
  });
});
