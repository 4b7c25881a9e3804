// The "Spark" panel of the left sidebar: the active notebook's session, the user's sessions (with a
// kill button), the endpoints. Other tools rely on its ids and data attributes: keep them.

import { Dialog, showDialog } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';

import { ISession } from './api';
import { FINISHED, SparkModel } from './model';
import { sparkIcon } from './icon';

export const PANEL_ID = 'spark-broker-panel';

export class SparkPanel extends Widget {
  constructor(readonly model: SparkModel) {
    super();
    this.id = PANEL_ID;
    this.addClass('jsb-Panel');
    this.title.icon = sparkIcon;
    this.title.caption = 'Spark sessions';
    this.node.addEventListener('click', event => this.onClick(event));
    this.node.addEventListener('change', event => this.onChange(event));
    model.changed.connect(() => this.update(), this);
    // Ages and idle times move on; a re-render every few seconds keeps them honest (no requests).
    this._clock = window.setInterval(() => this.isVisible && this.update(), 5000);
  }

  dispose(): void {
    window.clearInterval(this._clock);
    super.dispose();
  }

  protected onAfterShow(): void {
    this.update();
  }

  protected onUpdateRequest(): void {
    const model = this.model;
    const root = document.createElement('div');
    root.className = 'jsb-Panel-content';
    root.append(h('h2', 'jsb-Panel-title', 'Spark'));
    if (model.error) {
      const error = h('div', 'jsb-Panel-error', model.error);
      error.setAttribute('role', 'alert');
      const dismiss = button('×', 'dismiss', '', 'Dismiss');
      dismiss.classList.add('jsb-Panel-dismiss');
      error.append(dismiss);
      root.append(error);
    }
    if (model.loadError) {
      const error = h('div', 'jsb-Panel-error', model.loadError);
      error.setAttribute('role', 'alert');
      root.append(error);
    }
    if (!model.error && model.notice) {
      const notice = h('div', 'jsb-Panel-notice', model.notice);
      notice.setAttribute('role', 'status');
      root.append(notice);
    }
    root.append(this.renderCurrent(), this.renderSessions(), this.renderEndpoints());
    // A re-render must not take the text field from under a person typing in it.
    const typing = document.activeElement as HTMLInputElement | null;
    const focused = typing && this.node.contains(typing) ? typing.name : '';
    const caret = focused ? typing?.selectionStart ?? null : null;
    this.node.replaceChildren(root);
    if (focused) {
      const again = this.node.querySelector(`input[name="${focused}"]`) as HTMLInputElement | null;
      again?.focus();
      if (again && caret !== null) {
        again.setSelectionRange(caret, caret);
      }
    }
  }

  private renderCurrent(): HTMLElement {
    const model = this.model;
    const section = h('section', 'jsb-Panel-current');
    section.append(h('h3', '', 'This notebook'));
    if (!model.currentPath) {
      section.append(h('p', 'jsb-Panel-empty', 'No notebook is active.'));
      return section;
    }
    const current = model.current;
    if (!current) {
      section.append(
        h(
          'p',
          'jsb-Panel-empty',
          `${model.currentPath}: no Spark session attached; its next Spark cell attaches one.`
        ),
        this.renderAttachNamed()
      );
      return section;
    }
    const { session, attachment } = current;
    const facts = h('dl', 'jsb-Panel-facts');
    // Not data-spark-session-id: that names the one element per session in the list below.
    facts.dataset.currentSessionId = session.id;
    facts.dataset.currentState = session.state;
    const fact = (name: string, value: string | HTMLElement) => {
      const dd = document.createElement('dd');
      dd.append(value);
      facts.append(h('dt', '', name), dd);
    };
    fact('State', stateBadge(session.state));
    fact('Endpoint', session.endpoint);
    fact('Kind', session.protocol === 'connect' ? 'Spark Connect' : session.kind);
    fact('Profile', session.profile);
    fact('Application', session.app_id ?? '–');
    if (session.spark_ui_url || session.driver_log_url) {
      const links = h('span', 'jsb-Panel-links');
      if (session.spark_ui_url) {
        links.append(link('Spark UI', session.spark_ui_url));
      }
      if (session.driver_log_url) {
        links.append(link('Driver log', session.driver_log_url));
      }
      fact('Links', links);
    }
    fact('Notebooks', model.notebooksOf(session.id).join(', ') || attachment.path);
    fact('Idle', FINISHED.has(session.state) ? '–' : since(session.last_activity));
    if (session.message && FINISHED.has(session.state)) {
      fact('Why', session.message);
    }
    section.append(facts);

    const actions = h('div', 'jsb-Panel-actions');
    if (session.driver_log_url) {
      // Livy sessions only: a Connect session's driver is its server's, with no log of its own here.
      actions.append(button('Driver log', 'log', session.id));
    }
    actions.append(
      button('Detach', 'detach', attachment.id, 'Detach this notebook from the session'),
      button(
        'Restart Spark',
        'restart',
        session.id,
        'Kill this session; the next Spark cell starts a new one'
      )
    );
    section.append(actions, this.renderAttachNamed());
    const lines = model.logs.get(session.id);
    if (lines) {
      section.append(h('pre', 'jsb-Panel-log', lines.join('\n') || '(the log is empty)'));
    }
    return section;
  }

  /** "Use the session named ..." for this notebook, through its kernel. */
  private renderAttachNamed(): HTMLElement {
    const form = h('form', 'jsb-Panel-attach') as HTMLFormElement;
    const input = document.createElement('input');
    input.className = 'jp-mod-styled';
    input.name = 'session-name';
    input.placeholder = 'Session name';
    input.required = true; // the browser says so, rather than a click doing nothing
    input.value = this._attachName;
    input.addEventListener('input', () => (this._attachName = input.value));
    const attach = button('Attach', 'attach-named', '', 'Use the session of this name here');
    attach.type = 'submit';
    form.append(input, attach);
    form.addEventListener('submit', event => {
      event.preventDefault();
      const name = this._attachName.trim();
      if (name) {
        void this.model.attachNamed(name);
      }
    });
    return form;
  }

  private renderSessions(): HTMLElement {
    const model = this.model;
    const section = h('section', 'jsb-Panel-sessions');
    const header = h('div', 'jsb-Panel-sectionHeader');
    header.append(h('h3', '', model.allUsers ? 'All sessions' : 'My sessions'));
    if (model.admin) {
      const label = h('label', 'jsb-Panel-allUsers');
      const box = document.createElement('input');
      box.type = 'checkbox';
      box.checked = model.allUsers;
      box.dataset.action = 'all-users';
      label.append(box, ' All users');
      header.append(label);
    }
    section.append(header);
    const live = model.sessions.filter(s => !FINISHED.has(s.state));
    if (!live.length) {
      section.append(
        h('p', 'jsb-Panel-empty', model.loaded ? 'No live sessions.' : 'Loading…')
      );
      return section;
    }
    const list = h('ul', 'jsb-Panel-list');
    for (const session of live) {
      list.append(this.renderSession(session));
    }
    section.append(list);
    return section;
  }

  private renderSession(session: ISession): HTMLElement {
    const item = h('li', 'jsb-Session');
    item.dataset.sparkSessionId = session.id;
    item.dataset.state = session.state;
    const top = h('div', 'jsb-Session-top');
    top.append(stateBadge(session.state), h('span', 'jsb-Session-endpoint', session.endpoint));
    const progress = this.model.progress.get(session.id)?.progress ?? 0;
    if (progress > 0) {
      top.append(h('span', 'jsb-Session-progress', `${Math.round(progress * 100)}%`));
    }
    const kill = button('Kill', 'kill', session.id, 'Kill this Spark session in Livy');
    kill.classList.add('jsb-Session-kill');
    top.append(kill);
    item.append(top);
    const notebooks = this.model.notebooksOf(session.id);
    const details = [
      session.protocol === 'connect' ? 'Spark Connect' : session.kind,
      `profile ${session.profile}`,
      notebooks.length ? notebooks.join(', ') : 'no notebook',
      `age ${since(session.created)}`
    ];
    if (this.model.allUsers) {
      details.push(`owner ${session.owner}`);
    }
    item.append(h('div', 'jsb-Session-details', details.join(' · ')));
    if (session.message && session.state === 'error') {
      item.append(h('div', 'jsb-Session-message', session.message));
    }
    return item;
  }

  private renderEndpoints(): HTMLElement {
    const section = h('section', 'jsb-Panel-endpoints');
    const header = h('div', 'jsb-Panel-sectionHeader');
    const check = button('Check', 'check-endpoints', '', 'Ask each endpoint whether it answers');
    check.disabled = this.model.checkingHealth;
    header.append(h('h3', '', 'Endpoints'), check);
    section.append(header);
    const list = h('ul', 'jsb-Panel-list');
    for (const endpoint of this.model.endpoints) {
      const item = h('li', 'jsb-Endpoint');
      item.dataset.endpoint = endpoint.name;
      const count = this.model.sessions.filter(
        s => s.endpoint === endpoint.name && !FINISHED.has(s.state)
      ).length;
      const where = endpoint.embedded ? 'embedded local Livy' : endpoint.url ?? '';
      item.append(
        h('span', 'jsb-Endpoint-name', endpoint.name + (endpoint.default ? ' (default)' : '')),
        h('span', 'jsb-Endpoint-details', `${where} · ${plural(count, 'live session')} here`)
      );
      const health = this.model.health.get(endpoint.name);
      if (health) {
        item.dataset.reachable = String(health.reachable);
        const facts: string[] = [];
        if (health.reachable) {
          facts.push('reachable');
          facts.push(health.version ? `Livy ${health.version}` : 'Livy (version unknown)');
          if (health.sessions !== null) {
            facts.push(`${plural(health.sessions, 'session')} in Livy`);
          }
        }
        if (facts.length) {
          item.append(h('span', 'jsb-Endpoint-health', facts.join(' · ')));
        }
        if (health.error) {
          const kind = health.reachable === false ? 'jsb-Endpoint-error' : 'jsb-Endpoint-note';
          item.append(h('span', kind, health.error));
        }
      }
      list.append(item);
    }
    section.append(list);
    return section;
  }

  private onClick(event: MouseEvent): void {
    const target = (event.target as HTMLElement).closest('button[data-action]') as
      | HTMLButtonElement
      | null;
    if (!target) {
      return;
    }
    const id = target.dataset.target ?? '';
    switch (target.dataset.action) {
      case 'kill':
        void this.confirmKill(id, 'Kill Spark session', 'Kill');
        break;
      case 'restart':
        void this.confirmKill(id, 'Restart Spark', 'Restart');
        break;
      case 'attach-named':
        return; // the form's submit does it
      case 'detach':
        void this.model.detach(id);
        break;
      case 'log':
        void this.model.loadLog(id);
        break;
      case 'dismiss':
        this.model.dismissError();
        break;
      case 'check-endpoints':
        void this.model.checkHealth();
        break;
    }
  }

  private onChange(event: globalThis.Event): void {
    const target = event.target as HTMLInputElement;
    if (target.dataset.action === 'all-users') {
      this.model.setAllUsers(target.checked);
    }
  }

  private async confirmKill(id: string, title: string, label: string): Promise<void> {
    const session = this.model.sessions.find(s => s.id === id);
    const notebooks = this.model.notebooksOf(id);
    const what = session
      ? `the ${session.kind} session on ${session.endpoint}` +
        (notebooks.length ? ` (${notebooks.join(', ')})` : '')
      : `session ${id}`;
    const restart = label === 'Restart' ? ' The next Spark cell starts a new one.' : '';
    const result = await showDialog({
      title,
      body: `Kill ${what}? Its Spark state is lost.${restart}`,
      buttons: [Dialog.cancelButton(), Dialog.warnButton({ label })]
    });
    if (result.button.accept) {
      await (label === 'Restart' ? this.model.restart(id) : this.model.kill(id));
    }
  }

  private _clock: number;
  private _attachName = '';
}

function h(tag: string, className: string, text?: string): HTMLElement {
  const element = document.createElement(tag);
  if (className) {
    element.className = className;
  }
  if (text !== undefined) {
    element.textContent = text;
  }
  return element;
}

function button(label: string, action: string, target: string, title?: string): HTMLButtonElement {
  const element = document.createElement('button');
  element.className = 'jp-Button jp-mod-styled jp-mod-small jsb-Button';
  element.textContent = label;
  element.dataset.action = action;
  element.dataset.target = target;
  if (title) {
    element.title = title;
  }
  return element;
}

function link(label: string, href: string): HTMLAnchorElement {
  const anchor = document.createElement('a');
  anchor.href = href;
  anchor.target = '_blank';
  anchor.rel = 'noopener noreferrer';
  anchor.textContent = label;
  return anchor;
}

function stateBadge(state: string): HTMLElement {
  return h('span', `jsb-State jsb-State-${state}`, state);
}

/** "12 s", "4 min", "2 h" since an ISO time. */
export function since(iso: string): string {
  const seconds = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
  if (seconds < 90) {
    return `${Math.round(seconds)} s`;
  }
  if (seconds < 90 * 60) {
    return `${Math.round(seconds / 60)} min`;
  }
  return `${Math.round(seconds / 3600)} h`;
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}
