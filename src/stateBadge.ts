// A session's state as a coloured badge (style/base.css colours it by state).

import { TranslationBundle } from '@jupyterlab/translation';

import { h, setProperty, setText } from './dom';
import { stateLabel } from './format';

export class StateBadge {
  readonly node = h('span', 'jsb-State');

  constructor(private readonly trans: TranslationBundle) {}

  update(state: string): void {
    setProperty(this.node, 'className', `jsb-State jsb-State-${state}`);
    setText(this.node, stateLabel(this.trans, state));
  }
}
