// "Endpoints": each Livy endpoint with its health, a row per endpoint keyed by its name.

import { TranslationBundle } from '@jupyterlab/translation';

import type { IEndpoint } from './api';
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
import { SparkModel } from './model';

class EndpointRow implements IRow<IEndpoint> {
  readonly node = h('li', 'jsb-Endpoint');

  constructor(
    private readonly model: SparkModel,
    private readonly trans: TranslationBundle
  ) {}

  update(endpoint: IEndpoint): void {
    const { model, trans } = this;
    setData(this.node, 'endpoint', endpoint.name);
    setText(
      this.name,
      endpoint.default ? trans.__('%1 (default)', endpoint.name) : endpoint.name
    );
    const where = endpoint.embedded
      ? trans.__('embedded local Livy')
      : (endpoint.url ?? '');
    const count = model.sessions.filter(
      s => s.endpoint === endpoint.name
    ).length;
    // With more live sessions than listed, the count is of the listed ones: at least that many.
    const here = model.hasMore
      ? trans._n(
          'at least %1 live session here',
          'at least %1 live sessions here',
          count
        )
      : trans._n('%1 live session here', '%1 live sessions here', count);
    setText(this.details, `${where} · ${here}`);
    const shown: Node[] = [this.name, this.details];
    const health = model.health.get(endpoint.name);
    setData(
      this.node,
      'reachable',
      health ? String(health.reachable) : undefined
    );
    if (health) {
      const facts: string[] = [];
      if (health.reachable) {
        facts.push(trans.__('reachable'));
        facts.push(
          health.version
            ? trans.__('Livy %1', health.version)
            : trans.__('Livy (version unknown)')
        );
        if (health.sessions !== null) {
          facts.push(
            trans._n(
              '%1 session in Livy',
              '%1 sessions in Livy',
              health.sessions
            )
          );
        }
      }
      if (facts.length) {
        setText(this.health, facts.join(' · '));
        shown.push(this.health);
      }
      if (health.error) {
        // Unreachable is an error; anything else (the embedded Livy not started yet) a note.
        setProperty(
          this.problem,
          'className',
          health.reachable === false
            ? 'jsb-Endpoint-error'
            : 'jsb-Endpoint-note'
        );
        setText(this.problem, health.error);
        shown.push(this.problem);
      }
    }
    setChildren(this.node, shown);
  }

  private readonly name = h('span', 'jsb-Endpoint-name');
  private readonly details = h('span', 'jsb-Endpoint-details');
  private readonly health = h('span', 'jsb-Endpoint-health');
  private readonly problem = h('span', 'jsb-Endpoint-note');
}

export class EndpointList {
  readonly node = h('section', 'jsb-Panel-endpoints');

  constructor(
    private readonly model: SparkModel,
    trans: TranslationBundle
  ) {
    this.check = button(
      trans.__('Check'),
      'check-endpoints',
      trans.__('Ask each endpoint whether it answers')
    );
    const header = h('div', 'jsb-Panel-sectionHeader');
    header.append(h('h3', '', trans.__('Endpoints')), this.check);
    this.node.append(header, this.list);
    this.rows = new KeyedList(
      this.list,
      endpoint => endpoint.name,
      () => new EndpointRow(model, trans)
    );
  }

  update(): void {
    setProperty(this.check, 'disabled', this.model.checkingHealth);
    this.rows.update(this.model.endpoints);
  }

  private readonly check: HTMLButtonElement;
  private readonly list = h('ul', 'jsb-Panel-list');
  private readonly rows: KeyedList<IEndpoint, EndpointRow>;
}
