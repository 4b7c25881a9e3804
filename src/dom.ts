// Small DOM helpers for views that change only what changed: a text, an attribute or a child list
// is written only when it differs, so a person's focus, selection and scroll position stay, and
// tools watching the DOM see only real changes.

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className = '',
  text?: string
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  if (className) {
    element.className = className;
  }
  if (text !== undefined) {
    element.textContent = text;
  }
  return element;
}

/** A small Lab-styled button; the panel's click handler acts on its ``data-action``. */
export function button(
  label: string,
  action: string,
  title?: string
): HTMLButtonElement {
  const element = h(
    'button',
    'jp-Button jp-mod-styled jp-mod-small jsb-Button',
    label
  );
  element.type = 'button';
  element.dataset.action = action;
  if (title) {
    element.title = title;
  }
  return element;
}

export function link(label: string, href = ''): HTMLAnchorElement {
  const anchor = h('a', '', label);
  anchor.href = href;
  anchor.target = '_blank';
  anchor.rel = 'noopener noreferrer';
  return anchor;
}

/** Write ``text`` only when it differs; whether it did. */
export function setText(node: Node, text: string): boolean {
  if (node.textContent === text) {
    return false;
  }
  node.textContent = text;
  return true;
}

/** Set or (with ``undefined``) remove a ``data-`` attribute. */
export function setData(
  element: HTMLElement,
  name: string,
  value: string | undefined
): void {
  if (element.dataset[name] !== value) {
    if (value === undefined) {
      delete element.dataset[name];
    } else {
      element.dataset[name] = value;
    }
  }
}

export function setProperty<E extends object, K extends keyof E>(
  element: E,
  name: K,
  value: E[K]
): void {
  if (element[name] !== value) {
    element[name] = value;
  }
}

/**
 * Make ``parent``'s children exactly ``children``, in this order, moving, adding and removing only
 * the ones out of place. A child that is absent now and back later is the same node again.
 */
export function setChildren(parent: Node, children: readonly Node[]): void {
  let cursor = parent.firstChild;
  for (const child of children) {
    if (child === cursor) {
      cursor = cursor.nextSibling;
    } else {
      parent.insertBefore(child, cursor);
    }
  }
  while (cursor) {
    const next = cursor.nextSibling;
    parent.removeChild(cursor);
    cursor = next;
  }
}

/** One row of a keyed list: made once per key, then updated in place. */
export interface IRow<T> {
  readonly node: HTMLElement;
  update(item: T): void;
}

/** A list whose rows are keyed (a session's id, an endpoint's name): a row lives as long as its key. */
export class KeyedList<T, R extends IRow<T> = IRow<T>> {
  constructor(
    readonly node: HTMLElement,
    private readonly keyOf: (item: T) => string,
    private readonly makeRow: (item: T) => R
  ) {}

  /** The rows, in the items' order. */
  get rows(): R[] {
    return [...this._rows.values()];
  }

  update(items: readonly T[]): void {
    const rows = new Map<string, R>();
    for (const item of items) {
      const key = this.keyOf(item);
      const row = this._rows.get(key) ?? this.makeRow(item);
      row.update(item);
      rows.set(key, row);
    }
    this._rows = rows;
    setChildren(
      this.node,
      [...rows.values()].map(row => row.node)
    );
  }

  private _rows = new Map<string, R>();
}
