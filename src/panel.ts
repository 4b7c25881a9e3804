// The "Spark" panel of the left sidebar: the active notebook's session, the user's sessions (with a
// kill button), the endpoints. Each part updates in place what the model changed; other tools rely
// on its ids and data attributes: keep them.

import { Dialog, showDialog } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import { CurrentSection } from './currentSection';
import { h } from './dom';
import { kindLabel } from './format';
import { EndpointList } from './endpointList';
import { sparkIcon } from './icon';
import { SparkModel } from './model';
import { PanelMessages } from './panelMessages';
import { SessionList } from './sessionList';

export const PANEL_ID = 'spark-broker-panel';

/** Ages and idle times move on: their texts are written again this often (no requests). */
const CLOCK_MS = 5000;

export class SparkPanel extends Widget {
  constructor(
    readonly model: SparkModel,
    private readonly trans: TranslationBundle
  ) {
    super();
    this.id = PANEL_ID;
    this.addClass('jsb-Panel');
    this.title.icon = sparkIcon;
    this.title.caption = trans.__('Spark sessions');
    this.messages = new PanelMessages(model, trans);
    this.current = new CurrentSection(model, trans);
    this.sessions = new SessionList(model, trans);
    this.endpoints = new EndpointList(model, trans);
    const content = h('div', 'jsb-Panel-content');
    content.append(
      h('h2', 'jsb-Panel-title', trans.__('Spark')),
      this.messages.node,
      this.current.node,
      this.sessions.node,
      this.endpoints.node
    );
    this.node.append(content);
    this.node.addEventListener('click', this);
    this.node.addEventListener('change', this);
    model.changed.connect(this.onModelChanged, this);
    this.update();
  }

  /** The DOM events the panel delegates: its buttons' clicks, the all-users switch. */
  handleEvent(event: Event): void {
    if (event.type === 'click') {
      this.onClick(event as MouseEvent);
    } else if (event.type === 'change') {
      this.onChange(event);
    }
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this.setShown(false);
    this.node.removeEventListener('click', this);
    this.node.removeEventListener('change', this);
    super.dispose(); // also disconnects it from the model's signal (Signal.clearData)
  }

  protected onAfterAttach(msg: Message): void {
    this.setShown(this.isVisible);
  }

  protected onBeforeDetach(msg: Message): void {
    this.setShown(false);
  }

  protected onAfterShow(msg: Message): void {
    this.setShown(true);
    this.update();
  }

  protected onAfterHide(msg: Message): void {
    this.setShown(false);
  }

  protected onUpdateRequest(msg: Message): void {
    this.messages.update();
    this.current.update();
    this.sessions.update();
    this.endpoints.update();
  }

  /** While shown: the clock runs and the model's interval reloads the lists. */
  private setShown(shown: boolean): void {
    this.model.setWatched(shown);
    if (shown && this._clock === null) {
      this._clock = window.setInterval(() => this.tick(), CLOCK_MS);
    } else if (!shown && this._clock !== null) {
      window.clearInterval(this._clock);
      this._clock = null;
    }
  }

  private tick(): void {
    const now = Date.now();
    this.current.tick(now);
    this.sessions.tick(now);
  }

  private onModelChanged(): void {
    this.update();
  }

  private onClick(event: MouseEvent): void {
    const target = (event.target as HTMLElement).closest(
      'button[data-action]'
    ) as HTMLButtonElement | null;
    if (!target) {
      return;
    }
    const id = target.dataset.target ?? '';
    switch (target.dataset.action) {
      case 'kill':
        void this.confirmKill(id, false);
        break;
      case 'restart':
        void this.confirmKill(id, true);
        break;
      case 'detach':
        void this.model.detach(id);
        break;
      case 'log':
        void this.model.loadLog(id);
        break;
      case 'hide-log':
        this.model.hideLog(id);
        break;
      case 'dismiss':
        this.model.dismissError();
        break;
      case 'check-endpoints':
        void this.model.checkHealth();
        break;
      case 'more':
        this.model.showMore();
        break;
    }
  }

  private onChange(event: Event): void {
    const target = event.target as HTMLInputElement;
    if (target.dataset.action === 'all-users') {
      this.model.setAllUsers(target.checked);
    }
  }

  private async confirmKill(id: string, restart: boolean): Promise<void> {
    const { model, trans } = this;
    const session =
      model.sessions.find(s => s.id === id) ??
      (model.current?.session.id === id ? model.current.session : undefined);
    const notebooks = await model.notebooksNow(id);
    let what: string;
    if (!session) {
      what = trans.__('Kill session %1?', id);
    } else if (session.name) {
      what = trans.__(
        'Kill the session %1 (%2 on %3)?',
        JSON.stringify(session.name),
        kindLabel(trans, session),
        session.endpoint
      );
    } else {
      what = trans.__(
        'Kill the %1 session on %2?',
        kindLabel(trans, session),
        session.endpoint
      );
    }
    const losing = notebooks.length
      ? trans._n(
          'This notebook loses its Spark session: %2.',
          'These %1 notebooks lose their Spark session: %2.',
          notebooks.length,
          notebooks.join(', ')
        )
      : trans.__('No notebook is attached to it.');
    const lost = restart
      ? trans.__(
          'Its Spark state is lost. The next Spark cell starts a new one.'
        )
      : trans.__('Its Spark state is lost.');
    const result = await showDialog({
      title: restart
        ? trans.__('Restart Spark')
        : trans.__('Kill Spark session'),
      body: `${what} ${losing} ${lost}`,
      buttons: [
        Dialog.cancelButton({ label: trans.__('Cancel') }),
        Dialog.warnButton({
          label: restart ? trans.__('Restart') : trans.__('Kill')
        })
      ]
    });
    if (result.button.accept) {
      await (restart ? model.restart(id) : model.kill(id));
    }
  }

  private readonly messages: PanelMessages;
  private readonly current: CurrentSection;
  private readonly sessions: SessionList;
  private readonly endpoints: EndpointList;
  private _clock: number | null = null;
}
