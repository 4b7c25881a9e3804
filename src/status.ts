// The status bar item: the active notebook's Spark state, starting (with seconds), idle, or busy with
// the running statement's progress.

import { Widget } from '@lumino/widgets';

import { FINISHED, STARTING, SparkModel } from './model';

export const STATUS_ID = 'spark-broker-status';

export class SparkStatus extends Widget {
  constructor(readonly model: SparkModel) {
    super();
    this.id = STATUS_ID;
    this.addClass('jsb-Status');
    this.addClass('jp-StatusBar-TextItem');
    model.changed.connect(() => this.update(), this);
    this.update();
  }

  dispose(): void {
    window.clearInterval(this._ticker);
    super.dispose();
  }

  protected onUpdateRequest(): void {
    const session = this.model.current?.session;
    const state = session?.state ?? 'none';
    let text = 'Spark: –';
    let title = 'This notebook has no Spark session yet';
    if (session) {
      title = `Spark session ${session.id} on ${session.endpoint}`;
      const progress = this.model.progress.get(session.id);
      if (STARTING.has(state)) {
        const seconds = Math.max(0, Math.round((Date.now() - Date.parse(session.created)) / 1000));
        text = `Spark: starting (${seconds} s)`;
      } else if (progress || state === 'busy') {
        // Spark reports task progress; plain code (no Spark job) stays at 0 and shows none.
        const fraction = progress?.progress ?? 0;
        const percent = fraction > 0 ? ` ${Math.round(fraction * 100)}%` : '';
        text = `Spark: busy${percent}`;
      } else {
        text = `Spark: ${state}`;
      }
    }
    this.node.textContent = text;
    this.node.title = title;
    this.node.dataset.state = progress(this.model, session?.id) ? 'busy' : state;
    // Count the seconds while starting, without asking the server anything.
    const ticking = STARTING.has(state);
    if (ticking && !this._ticker) {
      this._ticker = window.setInterval(() => this.update(), 1000);
    } else if (!ticking && this._ticker) {
      window.clearInterval(this._ticker);
      this._ticker = 0;
    }
    this.toggleClass('jsb-Status-ended', FINISHED.has(state));
  }

  private _ticker = 0;
}

function progress(model: SparkModel, id: string | undefined): boolean {
  return id !== undefined && model.progress.has(id);
}
