// What the panel and the status item show: the user's sessions, kept live by the broker's events.
//
// The broker emits its events on jupyter_server's bus; JupyterLab's event manager brings them here
// (the server scopes them to their owner). A state or progress event updates in place at once; an
// action (created, attached, killed...) schedules one refresh of the lists over REST. When the event
// socket (re)opens, the server says "subscribed" and the lists are refreshed once.

import { Event, Kernel } from '@jupyterlab/services';
import { ISignal, Signal } from '@lumino/signaling';

import {
  BrokerAPI,
  BrokerError,
  IAttachment,
  IEndpoint,
  IEndpointHealth,
  ISession
} from './api';
import {
  endedStateValues,
  startingStateValues,
  statementEndedStateValues
} from './generated/api-types';
import { runInKernel } from './kernel';

export const EVENTS = 'https://events.jupyter.org/jupyter_spark_broker/';
const SESSION_ACTION = `${EVENTS}session_action/v1`;
const SESSION_STATE = `${EVENTS}session_state/v1`;
const STATEMENT = `${EVENTS}statement/v1`;
const SUBSCRIBED = `${EVENTS}subscribed/v1`;

// Livy's states as the API names them (openapi.yaml's StartingState, EndedState and
// StatementEndedState): an ended session is one nothing will run in again, `lost` included.
export const STARTING: ReadonlySet<string> = new Set<string>(startingStateValues);
export const FINISHED: ReadonlySet<string> = new Set<string>(endedStateValues);
const STATEMENT_DONE: ReadonlySet<string> = new Set<string>(statementEndedStateValues);

export interface IProgress {
  statementId: number;
  state: string;
  progress: number | null;
}

export class SparkModel {
  constructor(
    readonly api: BrokerAPI,
    /** The active notebook's kernel, if it runs. */
    readonly currentKernel: () => Kernel.IKernelConnection | null = () => null
  ) {}

  sessions: ISession[] = [];
  attachments: IAttachment[] = [];
  endpoints: IEndpoint[] = [];
  /** The active notebook's attachment and session, if it has one. */
  current: { attachment: IAttachment; session: ISession } | null = null;
  currentPath: string | null = null;
  user: string | null = null;
  admin = false;
  allUsers = false;
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
  logs = new Map<string, string[]>();
  /** The running statement of each session, from the progress events. */
  progress = new Map<string, IProgress>();

  get changed(): ISignal<SparkModel, void> {
    return this._changed;
  }

  /** Feed one event of the server's bus (every event comes here; others are ignored). */
  handleEvent(event: Event.Emission): void {
    const schema = String(event.schema_id);
    if (!schema.startsWith(EVENTS)) {
      return;
    }
    const data = event as any;
    if (schema === SUBSCRIBED) {
      this.user = data.user;
      this.admin = Boolean(data.admin);
      this.scheduleRefresh(0);
      void this.checkHealth();
      return;
    }
    if (schema === STATEMENT) {
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
      return;
    }
    if (schema === SESSION_STATE) {
      for (const session of this.sessions) {
        if (session.id === data.session_id) {
          session.state = data.state;
        }
      }
      const current = this.current;
      if (current && current.session.id === data.session_id) {
        current.session.state = data.state;
      }
      if (FINISHED.has(data.state) || data.state === 'idle') {
        this.progress.delete(data.session_id);
      }
      this._changed.emit();
    }
    if (schema === SESSION_ACTION || schema === SESSION_STATE) {
      this.scheduleRefresh();
    }
    if (schema === SESSION_ACTION && (data.action === 'created' || data.action === 'killed')) {
      this.scheduleHealthCheck(); // Livy's session counts changed
    }
  }

  /** The first load: who the user is, then the lists. */
  async start(): Promise<void> {
    try {
      const me = await this.api.me();
      this.user = me.user;
      this.admin = me.admin;
    } catch (error) {
      this.loadError = error instanceof BrokerError ? error.message : String(error);
    }
    await this.refresh();
    await this.checkHealth();
  }

  /** One health check soon, however many sessions come and go meanwhile. */
  scheduleHealthCheck(delay = 1000): void {
    if (this._healthTimer !== null) {
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
      this.loadError = error instanceof BrokerError ? error.message : String(error);
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

  setAllUsers(all: boolean): void {
    this.allUsers = all;
    this.scheduleRefresh(0);
  }

  /** One refresh soon, however many events ask for it meanwhile. */
  scheduleRefresh(delay = 150): void {
    if (this._timer !== null) {
      return;
    }
    this._timer = window.setTimeout(() => {
      this._timer = null;
      void this.refresh();
    }, delay);
  }

  async refresh(): Promise<void> {
    const generation = ++this._generation;
    try {
      const path = this.currentPath;
      const [sessions, attachments, endpoints, mine] = await Promise.all([
        this.api.sessions(this.admin && this.allUsers),
        this.api.attachments(),
        this.loaded ? Promise.resolve(this.endpoints) : this.api.endpoints(),
        path ? this.api.attachments(path) : Promise.resolve([] as IAttachment[])
      ]);
      let current: SparkModel['current'] = null;
      // The notebook's latest attachment is the one its kernel uses.
      const own = mine
        .filter(a => this.user === null || a.owner === this.user)
        .sort((a, b) => Date.parse(b.attached) - Date.parse(a.attached));
      const attachment = own[0];
      if (attachment) {
        const session =
          sessions.find(s => s.id === attachment.session_id) ??
          (await this.api.session(attachment.session_id));
        current = { attachment, session };
      }
      if (generation !== this._generation) {
        return; // a newer refresh is under way
      }
      this.sessions = sessions;
      this.attachments = attachments;
      this.endpoints = endpoints;
      this.current = current;
      this.loadError = null;
      this.loaded = true;
    } catch (error) {
      if (generation !== this._generation) {
        return;
      }
      this.loadError = error instanceof BrokerError ? error.message : String(error);
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

  /** Attach the notebook's kernel to the session of that name (made by POST sessions with a name). */
  async attachNamed(name: string): Promise<void> {
    if (!/^[\w.@:-]+$/.test(name)) {
      this.error = `A session name is letters, digits and . _ - @ : only, not ${JSON.stringify(name)}`;
      this._changed.emit();
      return;
    }
    await this.inKernel(`%spark attach ${name}`);
  }

  /** Kill the session; the kernel forgets it, so its next Spark cell starts a new one. */
  async restart(id: string): Promise<void> {
    await this.kill(id);
    if (!this.error && this.currentKernel()) {
      await this.inKernel('%spark detach');
      if (!this.error) {
        this.notice = "Spark session ended: the notebook's next Spark cell starts a new one.";
        this._changed.emit();
      }
    }
  }

  private async inKernel(code: string): Promise<void> {
    const kernel = this.currentKernel();
    if (!kernel) {
      this.error = 'Start the notebook\'s kernel first: this goes through it.';
      this._changed.emit();
      return;
    }
    try {
      const reply = await runInKernel(kernel, code);
      this.notice = reply.ok ? reply.text : null;
      this.error = reply.ok ? null : reply.text || `${code} failed in the kernel`;
    } catch (error) {
      this.error = `The kernel did not run ${code}: ${error}`;
    }
    this._changed.emit();
    this.scheduleRefresh(0);
  }

  async loadLog(id: string, lines = 40): Promise<void> {
    await this.act(async () => {
      this.logs.set(id, (await this.api.log(id, lines)).log);
    });
  }

  notebooksOf(sessionId: string): string[] {
    return this.attachments.filter(a => a.session_id === sessionId).map(a => a.path);
  }

  private async act(action: () => Promise<void>): Promise<void> {
    this.notice = null; // a new action: the last one's notice is out of date
    try {
      await action();
      this.error = null;
    } catch (error) {
      this.error = error instanceof BrokerError ? error.message : String(error);
      if (error instanceof BrokerError && [502, 503, 504].includes(error.status)) {
        this.scheduleHealthCheck(0); // Livy failed: show which endpoints answer now
      }
    }
    this._changed.emit();
    this.scheduleRefresh(0);
  }

  private _changed = new Signal<SparkModel, void>(this);
  private _timer: number | null = null;
  private _healthTimer: number | null = null;
  private _generation = 0;
}
