// What the panel and the status item show: the user's sessions, kept live by the broker's events.
//
// The broker emits its events on jupyter_server's bus; JupyterLab's event manager brings them here
// (the server scopes them to their owner). A state or progress event updates in place at once; an
// action (created, attached, killed...) schedules one refresh of the lists over REST. When the event
// socket (re)opens, the server says "subscribed" and the lists are refreshed once. The settings'
// refresh interval adds a reload while the panel is shown, for what no event reports (sessions
// another Jupyter server on the same registry started).

import { Event, Kernel } from '@jupyterlab/services';
import { TranslationBundle } from '@jupyterlab/translation';
import { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';

import {
  BrokerAPI,
  BrokerError,
  IAttachment,
  IEndpoint,
  IEndpointHealth,
  ISession,
  ISessionLog
} from './api';
import { runInKernel } from './kernel';
import { fetchFirst, fetchLiveSessions } from './paging';
import { FINISHED, STATEMENT_DONE } from './states';

export const EVENTS = 'https://events.jupyter.org/jupyter_spark_broker/';
const SESSION_ACTION = `${EVENTS}session_action/v1`;
const SESSION_STATE = `${EVENTS}session_state/v1`;
const STATEMENT = `${EVENTS}statement/v1`;
const SUBSCRIBED = `${EVENTS}subscribed/v1`;

export interface IProgress {
  statementId: number;
  state: string;
  progress: number | null;
}

/** The user's settings (schema/plugin.json). */
export interface IPanelSettings {
  /** Seconds between reloads of the lists while the panel is shown; 0: on events only. */
  refreshInterval: number;
  /** For admins: every user's sessions, not only their own. */
  allUsers: boolean;
  /** Sessions listed at first, and added by each "more". */
  pageSize: number;
  /** The driver log's last lines shown. */
  logLines: number;
}

export const DEFAULT_SETTINGS: Readonly<IPanelSettings> = {
  refreshInterval: 30,
  allUsers: false,
  pageSize: 50,
  logLines: 50
};

export class SparkModel implements IDisposable {
  constructor(
    readonly api: BrokerAPI,
    readonly trans: TranslationBundle,
    /** The active notebook's kernel, if it runs. */
    readonly currentKernel: () => Kernel.IKernelConnection | null = () => null
  ) {
    this._wanted = this._settings.pageSize;
  }

  /** The newest live sessions (of the user, or of every user), up to the pages asked for. */
  sessions: ISession[] = [];
  /** How many live sessions there are in all, listed or not. */
  liveTotal = 0;
  attachments: IAttachment[] = [];
  endpoints: IEndpoint[] = [];
  /** The active notebook's attachment and session, if it has one. */
  current: { attachment: IAttachment; session: ISession } | null = null;
  currentPath: string | null = null;
  user: string | null = null;
  admin = false;
  /** The last action's failure (kill, detach...): stays until dismissed or the next action. */
  error: string | null = null;
  /** Why the lists could not be loaded; cleared by the next refresh that works. */
  loadError: string | null = null;
  /** What the last action through the kernel said. */
  notice: string | null = null;
  loaded = false;
  /** Each endpoint's health, checked on start, on reconnection and on demand. */
  health = new Map<string, IEndpointHealth>();
  checkingHealth = false;
  /** The driver log's last lines, per session, once asked for. */
  logs = new Map<string, ISessionLog>();
  /** The running statement of each session, from the progress events. */
  progress = new Map<string, IProgress>();

  get settings(): Readonly<IPanelSettings> {
    return this._settings;
  }

  /** Every user's sessions are listed (an admin who asked for them). */
  get allUsers(): boolean {
    return this.admin && this._settings.allUsers;
  }

  /** Some live sessions are not listed yet. */
  get hasMore(): boolean {
    return this.sessions.length < this.liveTotal;
  }

  get changed(): ISignal<SparkModel, void> {
    return this._changed;
  }

  /** The settings changed (from the settings editor, or the panel's own switch). */
  get settingsChanged(): ISignal<SparkModel, Readonly<IPanelSettings>> {
    return this._settingsChanged;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /** Follow the server's events (JupyterLab's event stream) until this model is disposed. */
  subscribe(stream: ISignal<unknown, Event.Emission>): void {
    stream.connect(this._onEvent, this);
  }

  /** Stop: no timer, no subscription, no listener is left behind. */
  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    window.clearTimeout(this._timer ?? undefined);
    window.clearTimeout(this._healthTimer ?? undefined);
    window.clearInterval(this._poller ?? undefined);
    this._timer = this._healthTimer = this._poller = null;
    Signal.clearData(this); // our listeners, and our connection to the event stream
  }

  /** Apply settings; the lists reload when what they show changed. */
  configure(settings: Partial<IPanelSettings>): void {
    const before = this._settings;
    const after = { ...before, ...settings };
    const changed = (Object.keys(after) as (keyof IPanelSettings)[]).filter(
      key => after[key] !== before[key]
    );
    if (!changed.length) {
      return;
    }
    this._settings = after;
    if (changed.includes('refreshInterval')) {
      this.startPolling();
    }
    if (changed.includes('allUsers') || changed.includes('pageSize')) {
      this._wanted = after.pageSize; // a new list starts at its first page
      this.scheduleRefresh(0);
    }
    this._settingsChanged.emit(after);
    this._changed.emit();
  }

  setAllUsers(all: boolean): void {
    this.configure({ allUsers: all });
  }

  /** List one more page of sessions. */
  showMore(): void {
    this._wanted = this.sessions.length + this._settings.pageSize;
    this.scheduleRefresh(0);
  }

  /** Whether someone looks at the lists (the panel is shown): only then does the interval reload them. */
  setWatched(watched: boolean): void {
    this._watched = watched;
    const interval = this._settings.refreshInterval * 1000;
    if (watched && interval > 0 && Date.now() - this._lastRefresh >= interval) {
      this.scheduleRefresh(0);
    }
  }

  /** Feed one event of the server's bus (every event comes here; others are ignored). */
  handleEvent(event: Event.Emission): void {
    const schema = String(event.schema_id);
    if (this._isDisposed || !schema.startsWith(EVENTS)) {
      return;
    }
    const data = event as any;
    switch (schema) {
      case SUBSCRIBED:
        this.user = data.user;
        this.admin = Boolean(data.admin);
        this.scheduleRefresh(0);
        void this.checkHealth();
        return;
      case STATEMENT:
        this.onStatement(data);
        return;
      case SESSION_STATE:
        this.onSessionState(data.session_id, data.state);
        this.scheduleRefresh();
        return;
      case SESSION_ACTION:
        this.onSessionAction(data);
        this.scheduleRefresh();
        return;
    }
  }

  private onStatement(data: any): void {
    if (STATEMENT_DONE.has(data.state)) {
      this.progress.delete(data.session_id);
    } else {
      this.progress.set(data.session_id, {
        statementId: data.statement_id,
        state: data.state,
        progress: typeof data.progress === 'number' ? data.progress : null
      });
    }
    this._changed.emit();
  }

  /** A new state shows at once; an ended session leaves the list of live ones. */
  private onSessionState(id: string, state: ISession['state']): void {
    if (FINISHED.has(state)) {
      this.dropSession(id);
    } else {
      this.sessions = this.sessions.map(session =>
        session.id === id ? { ...session, state } : session
      );
    }
    const current = this.current;
    if (current && current.session.id === id) {
      this.current = { ...current, session: { ...current.session, state } };
    }
    if (FINISHED.has(state) || state === 'idle') {
      this.progress.delete(id);
    }
    this._changed.emit();
  }

  private onSessionAction(data: any): void {
    switch (data.action) {
      case 'killed':
        this.onSessionState(data.session_id, 'killed');
        this.scheduleHealthCheck(); // Livy's session counts changed
        break;
      case 'created':
        this.scheduleHealthCheck();
        break;
      case 'detached':
        if (data.attachment_id) {
          this.attachments = this.attachments.filter(
            a => a.id !== data.attachment_id
          );
          this._changed.emit();
        }
        break;
    }
  }

  private dropSession(id: string): void {
    const kept = this.sessions.filter(session => session.id !== id);
    if (kept.length !== this.sessions.length) {
      this.sessions = kept;
      this.liveTotal = Math.max(kept.length, this.liveTotal - 1);
    }
  }

  /** The first load: who the user is, then the lists. */
  async start(): Promise<void> {
    try {
      const me = await this.api.me();
      this.user = me.user;
      this.admin = me.admin;
    } catch (error) {
      this.loadError = messageOf(error);
    }
    this.startPolling();
    await this.refresh();
    await this.checkHealth();
  }

  /** One health check soon, however many sessions come and go meanwhile. */
  scheduleHealthCheck(delay = 1000): void {
    if (this._healthTimer !== null || this._isDisposed) {
      return;
    }
    this._healthTimer = window.setTimeout(() => {
      this._healthTimer = null;
      void this.checkHealth();
    }, delay);
  }

  async checkHealth(): Promise<void> {
    this.checkingHealth = true;
    this._changed.emit();
    try {
      const health = await this.api.health();
      this.health = new Map(health.map(h => [h.name, h]));
    } catch (error) {
      this.loadError = messageOf(error);
    }
    this.checkingHealth = false;
    this._changed.emit();
  }

  setCurrentPath(path: string | null): void {
    if (path !== this.currentPath) {
      this.currentPath = path;
      this.current = null;
      this.notice = null; // it was about the notebook left
      this._changed.emit();
      this.scheduleRefresh(0);
    }
  }

  dismissError(): void {
    this.error = null;
    this._changed.emit();
  }

  /** One refresh soon, however many events ask for it meanwhile. */
  scheduleRefresh(delay = 150): void {
    if (this._timer !== null || this._isDisposed) {
      return;
    }
    this._timer = window.setTimeout(() => {
      this._timer = null;
      void this.refresh();
    }, delay);
  }

  async refresh(): Promise<void> {
    const generation = ++this._generation;
    this._lastRefresh = Date.now();
    try {
      const path = this.currentPath;
      const [live, attachments, endpoints, mine] = await Promise.all([
        fetchLiveSessions(this.api, !this.allUsers, this._wanted),
        fetchFirst(page => this.api.attachments(null, page)),
        this.loaded ? Promise.resolve(this.endpoints) : this.api.endpoints(),
        path
          ? fetchFirst(page => this.api.attachments(path, page))
          : Promise.resolve({ items: [] as IAttachment[], total: 0 })
      ]);
      let current: SparkModel['current'] = null;
      // The notebook's latest attachment is the one its kernel uses.
      const own = mine.items
        .filter(a => this.user === null || a.owner === this.user)
        .sort((a, b) => Date.parse(b.attached) - Date.parse(a.attached));
      const attachment = own[0];
      if (attachment) {
        const session =
          live.items.find(s => s.id === attachment.session_id) ??
          (await this.api.session(attachment.session_id));
        current = { attachment, session };
      }
      if (generation !== this._generation || this._isDisposed) {
        return; // a newer refresh is under way
      }
      this.sessions = live.items;
      this.liveTotal = live.total;
      this.attachments = attachments.items;
      this.endpoints = endpoints;
      this.current = current;
      this.loadError = null;
      this.loaded = true;
    } catch (error) {
      if (generation !== this._generation || this._isDisposed) {
        return;
      }
      this.loadError = messageOf(error);
    }
    this._changed.emit();
  }

  async kill(id: string): Promise<void> {
    await this.act(() => this.api.kill(id));
  }

  /** Detach the notebook: through its kernel when it runs (so the kernel follows), else over REST. */
  async detach(attachmentId: string): Promise<void> {
    if (this.currentKernel()) {
      await this.inKernel('%spark detach');
    } else {
      await this.act(() => this.api.detach(attachmentId));
    }
  }

  /**
   * Attach the notebook's kernel to the live session of that name; with ``create``, start one of
   * that name when there is none (without, an unknown name is an error: a typo starts nothing).
   */
  async attachNamed(name: string, create = false): Promise<void> {
    if (!/^[\w.@:-]+$/.test(name)) {
      this.error = this.trans.__(
        'A session name is letters, digits and . _ - @ : only, not %1',
        JSON.stringify(name)
      );
      this._changed.emit();
      return;
    }
    await this.inKernel(`%spark attach ${create ? '--create ' : ''}${name}`);
  }

  /** Kill the session; the kernel forgets it, so its next Spark cell starts a new one. */
  async restart(id: string): Promise<void> {
    await this.kill(id);
    if (!this.error && this.currentKernel()) {
      await this.inKernel('%spark detach');
      if (!this.error) {
        this.notice = this.trans.__(
          "Spark session ended: the notebook's next Spark cell starts a new one."
        );
        this._changed.emit();
      }
    }
  }

  private async inKernel(code: string): Promise<void> {
    const kernel = this.currentKernel();
    if (!kernel) {
      this.error = this.trans.__(
        "Start the notebook's kernel first: this goes through it."
      );
      this._changed.emit();
      return;
    }
    try {
      const reply = await runInKernel(kernel, code);
      this.notice = reply.ok ? reply.text : null;
      this.error = reply.ok
        ? null
        : reply.text || this.trans.__('%1 failed in the kernel', code);
    } catch (error) {
      this.error = this.trans.__('The kernel did not run %1: %2', code, error);
    }
    this._changed.emit();
    this.scheduleRefresh(0);
  }

  /** The driver log's last lines (the settings say how many): the tail only, never the whole log. */
  async loadLog(id: string): Promise<void> {
    await this.act(async () => {
      this.logs.set(id, await this.api.logTail(id, this._settings.logLines));
    });
  }

  hideLog(id: string): void {
    if (this.logs.delete(id)) {
      this._changed.emit();
    }
  }

  /** The notebooks attached to a session now, asked of the broker (the lists may be a page behind). */
  async notebooksNow(sessionId: string): Promise<string[]> {
    try {
      const session = await this.api.session(sessionId);
      return session.attachments.map(a => a.path);
    } catch {
      return this.notebooksOf(sessionId);
    }
  }

  notebooksOf(sessionId: string): string[] {
    return this.attachments
      .filter(a => a.session_id === sessionId)
      .map(a => a.path);
  }

  /** The interval's reloads, while someone looks; started again when the interval changes. */
  private startPolling(): void {
    window.clearInterval(this._poller ?? undefined);
    this._poller = null;
    const seconds = this._settings.refreshInterval;
    if (seconds > 0 && !this._isDisposed) {
      this._poller = window.setInterval(() => {
        if (this._watched) {
          this.scheduleRefresh(0);
        }
      }, seconds * 1000);
    }
  }

  private async act(action: () => Promise<void>): Promise<void> {
    this.notice = null; // a new action: the last one's notice is out of date
    try {
      await action();
      this.error = null;
    } catch (error) {
      this.error = messageOf(error);
      if (
        error instanceof BrokerError &&
        [502, 503, 504].includes(error.status)
      ) {
        this.scheduleHealthCheck(0); // Livy failed: show which endpoints answer now
      }
    }
    this._changed.emit();
    this.scheduleRefresh(0);
  }

  private _onEvent(_: unknown, event: Event.Emission): void {
    this.handleEvent(event);
  }

  private _changed = new Signal<SparkModel, void>(this);
  private _settingsChanged = new Signal<SparkModel, Readonly<IPanelSettings>>(
    this
  );
  private _settings: Readonly<IPanelSettings> = DEFAULT_SETTINGS;
  /** How many live sessions the list asks for: a page, and one more for each "more". */
  private _wanted: number;
  private _watched = false;
  private _lastRefresh = 0;
  private _timer: number | null = null;
  private _healthTimer: number | null = null;
  private _poller: number | null = null;
  private _generation = 0;
  private _isDisposed = false;
}

function messageOf(error: unknown): string {
  return error instanceof BrokerError ? error.message : String(error);
}
