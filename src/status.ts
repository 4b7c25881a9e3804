// The status bar item: the active notebook's Spark state, starting (with seconds), idle, or busy with
// the running statement's progress.

import { TranslationBundle } from '@jupyterlab/translation';
import { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import { setData, setProperty, setText } from './dom';
import { statusLine } from './format';
import { SparkModel } from './model';

export const STATUS_ID = 'spark-broker-status';

export class SparkStatus extends Widget {
  constructor(
    readonly model: SparkModel,
    private readonly trans: TranslationBundle
  ) {
    super();
    this.id = STATUS_ID;
    this.addClass('jsb-Status');
    this.addClass('jp-StatusBar-TextItem');
    model.changed.connect(this.onModelChanged, this);
    this.update();
  }

  dispose(): void {
    this.stopTicker();
    super.dispose(); // also disconnects it from the model's signal (Signal.clearData)
  }

  protected onUpdateRequest(msg: Message): void {
    const line = this.line();
    setText(this.node, line.text);
    setProperty(this.node, 'title', line.title);
    setData(this.node, 'state', line.state);
    if (this.hasClass('jsb-Status-ended') !== line.ended) {
      this.toggleClass('jsb-Status-ended', line.ended);
    }
    // Count the seconds while starting, without asking the server anything.
    if (line.ticking && this._ticker === null) {
      this._ticker = window.setInterval(() => this.tick(), 1000);
    } else if (!line.ticking) {
      this.stopTicker();
    }
  }

  /** Once a second while starting: only the text, and only when it changed. */
  private tick(): void {
    setText(this.node, this.line().text);
  }

  private line() {
    const session = this.model.current?.session;
    const progress = session ? this.model.progress.get(session.id) : undefined;
    return statusLine(this.trans, session, progress);
  }

  private stopTicker(): void {
    if (this._ticker !== null) {
      window.clearInterval(this._ticker);
      this._ticker = null;
    }
  }

  private onModelChanged(): void {
    this.update();
  }

  private _ticker: number | null = null;
}
