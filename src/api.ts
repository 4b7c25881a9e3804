// The broker's REST API, as the panel uses it (jupyter_spark_broker/openapi.yaml is the contract).

import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import type { components } from './generated/api-types';

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
  readonly settings = ServerConnection.makeSettings();

  /** Who the broker takes this user for, and whether they see every user's sessions. */
  async me(): Promise<ICaller> {
    return this.call<ICaller>('me');
  }

  async sessions(allUsers: boolean): Promise<ISession[]> {
    const query = allUsers ? 'limit=1000' : 'mine=true&limit=1000';
    return (await this.call<Schemas['SessionList']>(`sessions?${query}`)).sessions;
  }

  async session(id: string): Promise<ISessionWithAttachments> {
    return this.call<ISessionWithAttachments>(`sessions/${encodeURIComponent(id)}`);
  }

  async attachments(path?: string): Promise<IAttachment[]> {
    const query = path ? `path=${encodeURIComponent(path)}&limit=1000` : 'limit=1000';
    return (await this.call<Schemas['AttachmentList']>(`attachments?${query}`)).attachments;
  }

  async endpoints(): Promise<IEndpoint[]> {
    return (await this.call<Schemas['EndpointList']>('endpoints')).endpoints;
  }

  async health(): Promise<IEndpointHealth[]> {
    return (await this.call<Schemas['EndpointHealthList']>('endpoints/health')).endpoints;
  }

  async log(id: string, lines: number): Promise<ISessionLog> {
    const size = Math.max(1, lines);
    const reply = await this.call<ISessionLog>(`sessions/${encodeURIComponent(id)}/log?size=-1`);
    return { ...reply, log: reply.log.slice(-size) };
  }

  async kill(id: string): Promise<void> {
    await this.call(`sessions/${encodeURIComponent(id)}`, { method: 'DELETE' });
  }

  async detach(attachmentId: string): Promise<void> {
    await this.call(`attachments/${encodeURIComponent(attachmentId)}`, { method: 'DELETE' });
  }

  private async call<T>(path: string, init: RequestInit = {}): Promise<T> {
    const url = URLExt.join(this.settings.baseUrl, API, path);
    let response: Response;
    try {
      response = await ServerConnection.makeRequest(url, init, this.settings);
    } catch (error) {
      throw new BrokerError(
        'Cannot reach the Jupyter server: check that it is running and your network.',
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
      throw new BrokerError(describeFailure(response.status, body), response.status);
    }
    return body as T;
  }
}

/** The broker's message, with what the status means for the person reading it. */
function describeFailure(status: number, body: any): string {
  const message: string = body?.message ?? `HTTP ${status}`;
  switch (status) {
    case 403:
      return `Not allowed: ${message}`;
    case 502:
      return `Livy failed: ${message}`;
    case 503:
      return `Livy unreachable: ${message}`;
    case 504:
      return `Livy timed out: ${message}`;
    default:
      return message;
  }
}
