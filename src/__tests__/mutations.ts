// What a subtree's mutations were: the DOM writes a person's browser would redo.

export class Mutations {
  constructor(node: Node) {
    this._observer.observe(node, {
      subtree: true,
      childList: true,
      characterData: true,
      attributes: true
    });
  }

  /** The mutations since the last call, delivered or not. */
  take(): MutationRecord[] {
    const records = [...this._delivered, ...this._observer.takeRecords()];
    this._delivered = [];
    return records;
  }

  stop(): void {
    this._observer.disconnect();
  }

  private _delivered: MutationRecord[] = [];
  private _observer = new MutationObserver(records =>
    this._delivered.push(...records)
  );
}
