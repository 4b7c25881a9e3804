// "My sessions" / "All sessions": the newest live sessions, a row per session keyed by its id and
// updated in place, and "Show more" while some are not listed. Tools rely on each row's
// data-spark-session-id and data-state, and on its kill button's data-action="kill": keep them.

import { TranslationBundle } from '@jupyterlab/translation';

import type { ISession } from './api';
import {
  button,
  h,
  IRow,
  KeyedList,
  setChildren,
  setData,
  setProperty,
  setText
} from './dom';
import { kindLabel, since } from './format';
import { SparkModel } from './model';
import { StateBadge } from './stateBadge';

export class SessionRow implements IRow<ISession> {
  readonly node = h('li', 'jsb-Session');

  constructor(
    private readonly model: SparkModel,
    private readonly trans: TranslationBundle
  ) {
    this.badge = new StateBadge(trans);
    this.kill = button(
      trans.__('Kill'),
      'kill',
      trans.__('Kill this Spark session in Livy')
    );
    this.kill.classList.add('jsb-Session-kill');
    this.details.append(this.kind, this.profile, this.notebooks, this.age);
    this.node.append(this.top, this.details);
  }

  update(session: ISession): void {
    const { model, trans } = this;
    this._created = session.created;
    setData(this.node, 'sparkSessionId', session.id);
    setData(this.node, 'state', session.state);
    setData(this.kill, 'target', session.id);
    this.badge.update(session.state);
    setText(this.endpoint, session.endpoint);
    setText(this.name, session.name ?? '');
    setData(this.node, 'sessionName', session.name ?? undefined);
    const progress = model.progress.get(session.id)?.progress ?? 0;
    if (progress > 0) {
      setText(this.progress, `${Math.round(progress * 100)}%`);
    }
    setChildren(this.top, [
      this.badge.node,
      ...(session.name ? [this.name] : []),
      this.endpoint,
      ...(progress > 0 ? [this.progress] : []),
      this.kill
    ]);
    setText(this.kind, kindLabel(trans, session));
    setText(this.profile, trans.__('profile %1', session.profile));
    // A headless run's own session (papermill, a scheduler): it ends with the run.
    setData(this.node, 'run', session.run ?? undefined);
    setText(this.run, trans.__('run %1', session.run ?? ''));
    const notebooks = model.notebooksOf(session.id);
    setText(
      this.notebooks,
      notebooks.length ? notebooks.join(', ') : trans.__('no notebook')
    );
    this.tick(Date.now());
    setText(this.owner, trans.__('owner %1', session.owner));
    setChildren(this.details, [
      ...(session.run ? [this.run] : []),
      this.kind,
      this.profile,
      this.notebooks,
      this.age,
      ...(model.allUsers ? [this.owner] : [])
    ]);
  }

  /** The age moves on: only its text is written again. */
  tick(now: number): void {
    setText(
      this.age,
      this.trans.__('age %1', since(this.trans, this._created, now))
    );
  }

  private readonly top = h('div', 'jsb-Session-top');
  private readonly badge: StateBadge;
  private readonly name = h('span', 'jsb-Session-name');
  private readonly endpoint = h('span', 'jsb-Session-endpoint');
  private readonly progress = h('span', 'jsb-Session-progress');
  private readonly kill: HTMLButtonElement;
  private readonly details = h('div', 'jsb-Session-details');
  private readonly kind = h('span');
  private readonly profile = h('span');
  private readonly run = h('span', 'jsb-Session-run');
  private readonly notebooks = h('span');
  private readonly age = h('span');
  private readonly owner = h('span');
  private _created = '';
}

export class SessionList {
  readonly node = h('section', 'jsb-Panel-sessions');

  constructor(
    private readonly model: SparkModel,
    private readonly trans: TranslationBundle
  ) {
    this.allUsers.type = 'checkbox';
    this.allUsers.dataset.action = 'all-users';
    this.allUsersLabel.append(this.allUsers, ' ', trans.__('All users'));
    this.allUsersLabel.title = trans.__(
      "Every user's sessions (you are an admin)"
    );
    this.rows = new KeyedList(
      this.list,
      session => session.id,
      () => new SessionRow(model, trans)
    );
    this.more = button(trans.__('Show more'), 'more');
    this.footer.append(this.shownCount, this.more);
  }

  update(): void {
    const { model, trans } = this;
    setText(
      this.title,
      model.allUsers ? trans.__('All sessions') : trans.__('My sessions')
    );
    setProperty(this.allUsers, 'checked', model.allUsers);
    setChildren(this.header, [
      this.title,
      ...(model.admin ? [this.allUsersLabel] : [])
    ]);
    this.rows.update(model.sessions);
    const shown: Node[] = [this.header];
    if (model.sessions.length) {
      shown.push(this.list);
    } else {
      setText(
        this.empty,
        model.loaded ? trans.__('No live sessions.') : trans.__('Loading…')
      );
      shown.push(this.empty);
    }
    if (model.hasMore) {
      const more = Math.min(
        model.settings.pageSize,
        model.liveTotal - model.sessions.length
      );
      setText(
        this.shownCount,
        trans.__(
          '%1 of %2 live sessions',
          model.sessions.length.toLocaleString(),
          model.liveTotal.toLocaleString()
        )
      );
      setText(this.more, trans.__('Show %1 more', more.toLocaleString()));
      shown.push(this.footer);
    }
    setChildren(this.node, shown);
  }

  tick(now: number): void {
    for (const row of this.rows.rows) {
      row.tick(now);
    }
  }

  private readonly header = h('div', 'jsb-Panel-sectionHeader');
  private readonly title = h('h3');
  private readonly allUsersLabel = h('label', 'jsb-Panel-allUsers');
  private readonly allUsers = h('input');
  private readonly empty = h('p', 'jsb-Panel-empty');
  private readonly list = h('ul', 'jsb-Panel-list');
  private readonly rows: KeyedList<ISession, SessionRow>;
  private readonly footer = h('div', 'jsb-Panel-more');
  private readonly shownCount = h('span');
  private readonly more: HTMLButtonElement;
}
