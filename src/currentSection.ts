// "This notebook": the active notebook's session, its actions, the driver log's tail, and "use the
// session named ...". Its elements are made once and updated in place, so the name field keeps what
// a person types while the session changes around it.

import { TranslationBundle } from '@jupyterlab/translation';

import type { ISession, ISessionLog } from './api';
import {
  button,
  h,
  link,
  setChildren,
  setData,
  setProperty,
  setText
} from './dom';
import { kindLabel, since } from './format';
import { SparkModel } from './model';
import { StateBadge } from './stateBadge';
import { FINISHED } from './states';

/** One name and value of the facts list; in the list only while it applies. */
class Fact {
  readonly name: HTMLElement;
  readonly value = h('dd');

  constructor(name: string) {
    this.name = h('dt', '', name);
  }

  get nodes(): Node[] {
    return [this.name, this.value];
  }
}

export class CurrentSection {
  readonly node = h('section', 'jsb-Panel-current');

  constructor(
    private readonly model: SparkModel,
    private readonly trans: TranslationBundle
  ) {
    const t = trans;
    this.heading = h('h3', '', t.__('This notebook'));
    this.facts = {
      state: new Fact(t.__('State')),
      name: new Fact(t.__('Name')),
      endpoint: new Fact(t.__('Endpoint')),
      connectEndpoint: new Fact(t.__('Spark Connect endpoint')),
      kind: new Fact(t.__('Kind')),
      profile: new Fact(t.__('Profile')),
      application: new Fact(t.__('Application')),
      links: new Fact(t.__('Links')),
      notebooks: new Fact(t.__('Notebooks')),
      idle: new Fact(t.__('Idle')),
      why: new Fact(t.__('Why'))
    };
    this.badge = new StateBadge(t);
    this.facts.state.value.append(this.badge.node);
    this.sparkUi = link(t.__('Spark UI'));
    this.driverLog = link(t.__('Driver log'));
    this.facts.links.value.append(this.links);

    this.logButton = button(
      t.__('Driver log'),
      'log',
      t.__("Show the driver log's last lines")
    );
    this.detachButton = button(
      t.__('Detach'),
      'detach',
      t.__('Detach this notebook from the session')
    );
    this.restartButton = button(
      t.__('Restart Spark'),
      'restart',
      t.__('Kill this session; the next Spark cell starts a new one')
    );

    this.logRefresh = button(
      t.__('Refresh'),
      'log',
      t.__("Ask again for the driver log's last lines")
    );
    this.logHide = button(t.__('Hide'), 'hide-log', t.__('Hide the log'));
    const logHeader = h('div', 'jsb-Log-header');
    logHeader.append(this.logSummary, this.logRefresh, this.logHide);
    this.log.append(logHeader, this.logLines);

    this.nameInput.className = 'jp-mod-styled';
    this.nameInput.name = 'session-name';
    this.nameInput.placeholder = t.__('Session name');
    this.nameInput.required = true; // the browser says so, rather than a click doing nothing
    const attach = button(
      t.__('Attach'),
      'attach-named',
      t.__('Use the session of this name here')
    );
    attach.type = 'submit';
    this.createBox.type = 'checkbox';
    this.createBox.name = 'create-session';
    const create = h('label', 'jsb-Panel-create');
    create.title = t.__(
      'Start a session of this name when none is live (without: only join a live one)'
    );
    create.append(this.createBox, ' ', t.__('Create'));
    this.attachForm.append(this.nameInput, create, attach);
    this.attachForm.addEventListener('submit', event => {
      event.preventDefault();
      const name = this.nameInput.value.trim();
      if (name) {
        void this.model.attachNamed(name, this.createBox.checked);
      }
    });
  }

  update(): void {
    const { model, trans } = this;
    const shown: Node[] = [this.heading];
    const current = model.current;
    if (!model.currentPath) {
      setText(this.empty, trans.__('No notebook is active.'));
      shown.push(this.empty);
    } else if (!current) {
      setText(
        this.empty,
        trans.__(
          '%1: no Spark session attached; its next Spark cell attaches one.',
          model.currentPath
        )
      );
      shown.push(this.empty, this.attachForm);
    } else {
      this.updateFacts(current.session, current.attachment.path);
      this.updateActions(current.session, current.attachment.id);
      shown.push(this.factList, this.actions, this.attachForm);
      const log = model.logs.get(current.session.id);
      if (log) {
        this.updateLog(current.session.id, log);
        shown.push(this.log);
      }
    }
    setChildren(this.node, shown);
  }

  /** The idle time moves on: only its text is written again. */
  tick(now: number): void {
    const session = this.model.current?.session;
    if (session) {
      setText(this.facts.idle.value, this.idleText(session, now));
    }
  }

  private updateFacts(session: ISession, attachedPath: string): void {
    const { facts, trans } = this;
    setData(this.factList, 'currentSessionId', session.id);
    setData(this.factList, 'currentState', session.state);
    this.badge.update(session.state);
    setText(facts.name.value, session.name ?? '');
    setText(facts.endpoint.value, session.endpoint);
    setText(facts.connectEndpoint.value, session.endpoint);
    setText(facts.kind.value, kindLabel(trans, session));
    setText(facts.profile.value, session.profile);
    setText(facts.application.value, session.app_id ?? '–');
    const links: Node[] = [];
    if (session.spark_ui_url) {
      setProperty(this.sparkUi, 'href', session.spark_ui_url);
      links.push(this.sparkUi);
    }
    if (session.driver_log_url) {
      setProperty(this.driverLog, 'href', session.driver_log_url);
      links.push(this.driverLog);
    }
    setChildren(this.links, links);
    const notebooks = this.model.notebooksOf(session.id);
    setText(
      facts.notebooks.value,
      notebooks.length ? notebooks.join(', ') : attachedPath
    );
    setText(facts.idle.value, this.idleText(session, Date.now()));
    const why = session.message && FINISHED.has(session.state);
    if (why) {
      setText(facts.why.value, session.message ?? '');
    }
    // A Connect session runs on its server's Spark application: it has no application id of its own.
    const connect = session.protocol === 'connect';
    const shown = [
      facts.state,
      ...(session.name ? [facts.name] : []),
      connect ? facts.connectEndpoint : facts.endpoint,
      facts.kind,
      facts.profile,
      ...(connect && !session.app_id ? [] : [facts.application]),
      ...(links.length ? [facts.links] : []),
      facts.notebooks,
      facts.idle,
      ...(why ? [facts.why] : [])
    ];
    setChildren(
      this.factList,
      shown.reduce<Node[]>((nodes, fact) => nodes.concat(fact.nodes), [])
    );
  }

  private updateActions(session: ISession, attachmentId: string): void {
    setData(this.logButton, 'target', session.id);
    setData(this.detachButton, 'target', attachmentId);
    setData(this.restartButton, 'target', session.id);
    // Livy sessions only: a Connect session's driver is its server's, with no log of its own here.
    setChildren(this.actions, [
      ...(session.driver_log_url ? [this.logButton] : []),
      this.detachButton,
      this.restartButton
    ]);
  }

  private updateLog(sessionId: string, log: ISessionLog): void {
    setData(this.logRefresh, 'target', sessionId);
    setData(this.logHide, 'target', sessionId);
    setText(
      this.logSummary,
      log.log.length
        ? this.trans.__(
            'Lines %1–%2 of %3',
            log.from + 1,
            log.from + log.log.length,
            log.total
          )
        : this.trans.__('The log is empty.')
    );
    if (setText(this.logLines, log.log.join('\n'))) {
      // A tail is read from its end: show the newest line, as a terminal would.
      this.logLines.scrollTop = this.logLines.scrollHeight;
    }
    setProperty(this.logLines, 'hidden', !log.log.length);
  }

  private idleText(session: ISession, now: number): string {
    return FINISHED.has(session.state)
      ? '–'
      : since(this.trans, session.last_activity, now);
  }

  private readonly heading: HTMLElement;
  private readonly empty = h('p', 'jsb-Panel-empty');
  /** Not data-spark-session-id: that names the one element per session in the list below. */
  private readonly factList = h('dl', 'jsb-Panel-facts');
  private readonly facts: Record<
    | 'state'
    | 'name'
    | 'endpoint'
    | 'connectEndpoint'
    | 'kind'
    | 'profile'
    | 'application'
    | 'links'
    | 'notebooks'
    | 'idle'
    | 'why',
    Fact
  >;
  private readonly badge: StateBadge;
  private readonly links = h('span', 'jsb-Panel-links');
  private readonly sparkUi: HTMLAnchorElement;
  private readonly driverLog: HTMLAnchorElement;
  private readonly actions = h('div', 'jsb-Panel-actions');
  private readonly logButton: HTMLButtonElement;
  private readonly detachButton: HTMLButtonElement;
  private readonly restartButton: HTMLButtonElement;
  private readonly log = h('div', 'jsb-Log');
  private readonly logSummary = h('span', 'jsb-Log-summary');
  private readonly logRefresh: HTMLButtonElement;
  private readonly logHide: HTMLButtonElement;
  private readonly logLines = h('pre', 'jsb-Panel-log');
  private readonly attachForm = h('form', 'jsb-Panel-attach');
  private readonly nameInput = h('input');
  private readonly createBox = h('input');
}
