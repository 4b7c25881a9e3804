// The top of the panel: the last action's error (until dismissed), why the lists did not load, and
// what the last action through the kernel said. Each is in the DOM only while it has something to
// say, so tools find an alert only when there is one.

import { TranslationBundle } from '@jupyterlab/translation';

import { button, h, setChildren, setText } from './dom';
import { SparkModel } from './model';

export class PanelMessages {
  readonly node = h('div', 'jsb-Panel-messages');

  constructor(
    private readonly model: SparkModel,
    trans: TranslationBundle
  ) {
    this.error.setAttribute('role', 'alert');
    const dismiss = button('×', 'dismiss', trans.__('Dismiss'));
    dismiss.classList.add('jsb-Panel-dismiss');
    dismiss.setAttribute('aria-label', trans.__('Dismiss'));
    this.error.append(this.errorText, dismiss);
    this.loadError.setAttribute('role', 'alert');
    this.notice.setAttribute('role', 'status');
  }

  update(): void {
    const { error, loadError, notice } = this.model;
    const shown: Node[] = [];
    if (error) {
      setText(this.errorText, error);
      shown.push(this.error);
    }
    if (loadError) {
      setText(this.loadError, loadError);
      shown.push(this.loadError);
    }
    if (!error && notice) {
      setText(this.notice, notice);
      shown.push(this.notice);
    }
    setChildren(this.node, shown);
  }

  private readonly error = h('div', 'jsb-Panel-error');
  private readonly errorText = h('span');
  private readonly loadError = h('div', 'jsb-Panel-error');
  private readonly notice = h('div', 'jsb-Panel-notice');
}
