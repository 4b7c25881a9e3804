// A broker's REST API in memory, behind the `fetch` of a real BrokerAPI: the tests go through the
// same requests, query strings and replies as the panel in JupyterLab, and read back what was asked.

import { ServerConnection } from '@jupyterlab/services';
import { nullTranslator, TranslationBundle } from '@jupyterlab/translation';

import { BrokerAPI, IAttachment, IEndpoint, ISession } from '../api';
import { EVENTS, SparkModel } from '../model';
import { FINISHED } from '../states';

export const BASE_URL = 'http://broker.test/';
const API = `${BASE_URL}spark-broker/api/`;
const START = Date.parse('2030-01-01T00:00:00Z');

export const trans = nullTranslator.load('jupyter_spark_broker');

/** The nth session (a later n is a newer session). */
export function makeSession(
  n: number,
  overrides: Partial<ISession> = {}
): ISession {
  return {
    id: `s${n}`,
    endpoint: 'live',
    livy_id: n,
    name: null,
    livy_name: `jsb-s${n}`,
    share_key: null,
    kind: 'pyspark',
    state: 'idle',
    app_id: null,
    spark_ui_url: null,
    driver_log_url: `${API}sessions/s${n}/log`,
    owner: 'alice',
    settings: {},
    protocol: 'livy',
    connect: false,
    message: null,
    created: new Date(START + n * 1000).toISOString(),
    last_activity: new Date(START + n * 1000).toISOString(),
    profile: 'default',
    run: null,
    ...overrides
  };
}

export function makeAttachment(
  n: number,
  sessionId: string,
  path: string,
  owner = 'alice'
): IAttachment {
  return {
    id: `a${n}`,
    path,
    kernel_id: null,
    session_id: sessionId,
    owner,
    attached: new Date(START + n * 1000).toISOString(),
    last_seen: new Date(START + n * 1000).toISOString(),
    run: null
  };
}

export class FakeBroker {
  user = 'alice';
  admin = false;
  sessions: ISession[] = [];
  attachments: IAttachment[] = [];
  endpoints: IEndpoint[] = [
    {
      name: 'live',
      url: 'http://livy.test:8998',
      embedded: false,
      auth: 'None',
      username: null,
      header_names: [],
      default: true,
      source: 'config',
      description: '',
      session_defaults: {},
      kinds: []
    } as unknown as IEndpoint
  ];
  /** Livy does not answer: the broker's calls to it fail with 503. */
  livyDown = false;
  /** The driver log of every session. */
  log: string[] = [];
  /** Every request, as URLs (method GET unless noted in `methods`). */
  requests: URL[] = [];
  methods: string[] = [];

  /** Requests to one route, e.g. `sessions` or `sessions/s1/log`. */
  requestsTo(route: string): URL[] {
    return this.requests.filter(
      url => url.pathname === `/spark-broker/api/${route}`
    );
  }

  api(bundle: TranslationBundle = trans): BrokerAPI {
    const fetch = (request: RequestInfo | URL) =>
      this.answer(request as Request);
    return new BrokerAPI(
      bundle,
      ServerConnection.makeSettings({ baseUrl: BASE_URL, fetch })
    );
  }

  model(bundle: TranslationBundle = trans): SparkModel {
    return new SparkModel(this.api(bundle), bundle);
  }

  private async answer(request: Request): Promise<Response> {
    const url = new URL(request.url);
    this.requests.push(url);
    this.methods.push(request.method);
    const route = url.href.slice(API.length).split('?')[0];
    const query = url.searchParams;
    const page = <T>(items: T[]) => {
      const offset = Number(query.get('offset') ?? 0);
      const limit = Number(query.get('limit') ?? 100);
      if (limit > 1000) {
        return reply(400, { message: 'limit: at most 1000' });
      }
      return {
        items: items.slice(offset, offset + limit),
        total: items.length
      };
    };
    const parts = route.split('/');
    if (route === 'me') {
      return reply(200, { user: this.user, admin: this.admin });
    }
    if (route === 'sessions') {
      const mine = query.get('mine') === 'true' || !this.admin;
      const state = query.get('state');
      const live = query.get('live') === 'true';
      const matching = this.sessions
        .filter(s => !mine || s.owner === this.user)
        .filter(s => state === null || s.state === state)
        .filter(s => !live || !FINISHED.has(s.state))
        .sort(
          (a, b) =>
            Date.parse(b.created) - Date.parse(a.created) ||
            a.id.localeCompare(b.id)
        );
      const listed = page(matching);
      if (listed instanceof Response) {
        return listed;
      }
      return reply(200, { sessions: listed.items, total: listed.total });
    }
    if (parts[0] === 'sessions' && parts.length === 2) {
      const session = this.sessions.find(s => s.id === parts[1]);
      if (!session) {
        return reply(404, { message: `no session ${parts[1]}` });
      }
      if (request.method === 'DELETE' && this.livyDown) {
        return reply(503, { message: 'endpoint live: connection refused' });
      }
      if (request.method === 'DELETE') {
        session.state = 'killed';
        return new Response(null, { status: 204 });
      }
      return reply(200, {
        ...session,
        attachments: this.attachments.filter(a => a.session_id === session.id)
      });
    }
    if (parts[0] === 'sessions' && parts[2] === 'log') {
      if (!this.sessions.some(s => s.id === parts[1])) {
        return reply(404, { message: `no session ${parts[1]}` });
      }
      // Livy's rule: size 100 unless given, -1 for all; without `from`, the last `size` lines.
      const size = Number(query.get('size') ?? 100);
      const total = this.log.length;
      const from = query.has('from')
        ? Number(query.get('from'))
        : size < 0
          ? 0
          : Math.max(0, total - size);
      const lines =
        size < 0 ? this.log.slice(from) : this.log.slice(from, from + size);
      return reply(200, { id: parts[1], from, total, log: lines });
    }
    if (route === 'attachments') {
      const path = query.get('path');
      const listed = page(
        this.attachments
          .filter(a => this.admin || a.owner === this.user)
          .filter(a => path === null || a.path === path)
      );
      if (listed instanceof Response) {
        return listed;
      }
      return reply(200, { attachments: listed.items, total: listed.total });
    }
    if (route === 'endpoints') {
      return reply(200, { endpoints: this.endpoints, default: 'live' });
    }
    if (route === 'endpoints/health') {
      return reply(200, { endpoints: [] });
    }
    return reply(404, { message: `no route ${route}` });
  }
}

function reply(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json' }
  });
}

/** An event of the broker's, as JupyterLab's event manager hands it over. */
export function brokerEvent(
  name: 'session_state' | 'session_action' | 'statement' | 'subscribed',
  data: Record<string, unknown>
): any {
  return { schema_id: `${EVENTS}${name}/v1`, ...data };
}
