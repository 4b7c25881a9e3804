// The broker's REST API, as the panel uses it (jupyter_spark_broker/openapi.yaml is the contract).

import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';
import { TranslationBundle } from '@jupyterlab/translation';

import type { components, operations } from './generated/api-types';

// The types come from the contract: src/generated/api-types.ts is made from openapi.yaml by
// `npm run build:types` (every build runs it), so a reply's shape is the server's models'.
type Schemas = components['schemas'];
export type ISession = Schemas['Session'];
export type ISessionWithAttachments = Schemas['SessionWithAttachments'];
export type IAttachment = Schemas['Attachment'];
export type IEndpoint = Schemas['Endpoint'];
export type IEndpointHealth = Schemas['EndpointHealth'];
export type ISessionLog = Schemas['SessionLogReply'];
export type ICaller = Schemas['Caller'];
export type SessionState = Schemas['SessionState'];
export type ISessionQuery = Omit<
  NonNullable<operations['listSessions']['parameters']['query']>,
  'limit' | 'offset'
>;

/** Which part of a list to ask for. */
export interface IPage {
  limit: number;
  offset: number;
}

/** One page of a list, and how long the whole list is. */
export interface IPageOf<T> {
  items: T[];
  total: number;
}

/** A failed call, with the broker's message for a person to act on. */
export class BrokerError extends Error {
  constructor(
    message: string,
    readonly status: number
  ) {
    super(message);
  }
}

const API = 'spark-broker/api';

export class BrokerAPI {
  constructor(
    readonly trans: TranslationBundle,
    readonly settings: ServerConnection.ISettings = ServerConnection.makeSettings()
  ) {}

  /** Who the broker takes this user for, and whether they see every user's sessions. */
  async me(): Promise<ICaller> {
    return this.call<ICaller>('me');
  }

  async sessions(
    query: ISessionQuery,
    page: IPage
  ): Promise<IPageOf<ISession>> {
    const reply = await this.call<Schemas['SessionList']>(
      'sessions' + queryString({ ...query, ...page })
    );
    return { items: reply.sessions, total: reply.total };
  }

  async session(id: string): Promise<ISessionWithAttachments> {
    return this.call<ISessionWithAttachments>(
      `sessions/${encodeURIComponent(id)}`
    );
  }

  /** Attachments the caller may see, or only a notebook's. */
  async attachments(
    path: string | null,
    page: IPage
  ): Promise<IPageOf<IAttachment>> {
    const reply = await this.call<Schemas['AttachmentList']>(
      'attachments' + queryString({ path: path ?? undefined, ...page })
    );
    return { items: reply.attachments, total: reply.total };
  }

  async endpoints(): Promise<IEndpoint[]> {
    return (await this.call<Schemas['EndpointList']>('endpoints')).endpoints;
  }

  async health(): Promise<IEndpointHealth[]> {
    return (await this.call<Schemas['EndpointHealthList']>('endpoints/health'))
      .endpoints;
  }

  /**
   * The driver log's last ``lines`` lines, and how many it has in all. Without ``from``, Livy starts
   * at ``total - size`` (Apache Livy's and the local Livy's rule, which the broker passes on), so
   * one request brings the tail and never the whole log.
   */
  async logTail(id: string, lines: number): Promise<ISessionLog> {
    const size = Math.max(1, Math.floor(lines));
    return this.call<ISessionLog>(
      `sessions/${encodeURIComponent(id)}/log` + queryString({ size })
    );
  }

  async kill(id: string): Promise<void> {
    await this.call(`sessions/${encodeURIComponent(id)}`, { method: 'DELETE' });
  }

  async detach(attachmentId: string): Promise<void> {
    await this.call(`attachments/${encodeURIComponent(attachmentId)}`, {
      method: 'DELETE'
    });
  }

  private async call<T>(path: string, init: RequestInit = {}): Promise<T> {
    const url = URLExt.join(this.settings.baseUrl, API, path);
    let response: Response;
    try {
      response = await ServerConnection.makeRequest(url, init, this.settings);
    } catch {
      throw new BrokerError(
        this.trans.__(
          'Cannot reach the Jupyter server: check that it is running and your network.'
        ),
        0
      );
    }
    if (response.status === 204) {
      return undefined as T;
    }
    const text = await response.text();
    let body: any = null;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      body = null;
    }
    if (!response.ok) {
      throw new BrokerError(
        describeFailure(this.trans, response.status, body),
        response.status
      );
    }
    return body as T;
  }
}

function queryString(
  query: Record<string, string | number | boolean | undefined>
): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value !== undefined) {
      params.set(name, String(value));
    }
  }
  const text = params.toString();
  return text ? `?${text}` : '';
}

/** The broker's message, with what the status means for the person reading it. */
function describeFailure(
  trans: TranslationBundle,
  status: number,
  body: any
): string {
  const message: string = body?.message ?? `HTTP ${status}`;
  switch (status) {
    case 403:
      return trans.__('Not allowed: %1', message);
    case 502:
      return trans.__('Livy failed: %1', message);
    case 503:
      return trans.__('Livy unreachable: %1', message);
    case 504:
      return trans.__('Livy timed out: %1', message);
    default:
      return message;
  }
}
