// Keyed lists: a row lives as long as its key, in the items' order.

import { h, IRow, KeyedList, setText } from '../dom';
import { Mutations } from './mutations';

class Row implements IRow<IItem> {
  readonly node = h('li');
  update(item: IItem): void {
    setText(this.node, item.label);
  }
}

interface IItem {
  id: string;
  label: string;
}

function list() {
  const node = h('ul');
  const rows = new KeyedList<IItem>(
    node,
    item => item.id,
    () => new Row()
  );
  return { node, rows };
}

describe('KeyedList', () => {
  it('keeps the node of a row whose key stays, and follows the new order', () => {
    const { node, rows } = list();
    rows.update([
      { id: 'a', label: 'A' },
      { id: 'b', label: 'B' },
      { id: 'c', label: 'C' }
    ]);
    const [a, b, c] = Array.from(node.children);

    rows.update([
      { id: 'c', label: 'C' },
      { id: 'a', label: 'A again' }
    ]);

    expect(Array.from(node.children)).toEqual([c, a]);
    expect(a.textContent).toBe('A again');
    expect(b.isConnected).toBe(false);
  });

  it('writes nothing when nothing changed', () => {
    const { node, rows } = list();
    const items = [
      { id: 'a', label: 'A' },
      { id: 'b', label: 'B' }
    ];
    rows.update(items);
    const mutations = new Mutations(node);

    rows.update(items.map(item => ({ ...item })));

    expect(mutations.take()).toEqual([]);
    mutations.stop();
  });
});
