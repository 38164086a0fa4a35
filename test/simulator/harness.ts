/**
 * Starts simulators on loopback port 0 and talks to them over real HTTP. Every test file
 * calls closeSimulators() in afterEach, so nothing outlives its test.
 */
import { createSimulator, type Simulator, type SimulatorOptions } from '../../src/simulator/simulator.js';

export const SCIM_JSON = 'application/scim+json';
export const ERROR_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:Error';
export const PATCH_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
export const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const GROUP_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Group';

const open: Simulator[] = [];

export async function closeSimulators(): Promise<void> {
  await Promise.all(open.splice(0).map((simulator) => simulator.close()));
}

export interface Answer {
  status: number;
  headers: Headers;
  // oxlint-disable-next-line typescript/no-explicit-any -- test bodies are read loosely
  body: any;
}

export interface RequestOptions {
  body?: unknown;
  /** undefined: a fresh read/write token; null: no Authorization header. */
  token?: string | null;
  headers?: Record<string, string>;
}

export interface Harness {
  simulator: Simulator;
  url: string;
  token(form?: Record<string, string>): Promise<string>;
  request(method: string, path: string, options?: RequestOptions): Promise<Answer>;
  /** A request to the admin API (`path` under /incontactapi/services/v31.0) with a JSON body. */
  api(method: string, path: string, options?: RequestOptions): Promise<Answer>;
}

/** An admin-API page's `_links`: self, next and previous (null where there is none, typed loosely). */
// oxlint-disable-next-line typescript/no-explicit-any -- test bodies are read loosely
export function linksOf(body: any): { self: string; next: string; previous: string } {
  return body['_links'];
}

/** The admin API's path as the service will call it by default. */
export const ADMIN_API = '/incontactapi/services/v31.0';

export async function readAnswer(response: Response): Promise<Answer> {
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text === '' ? undefined : JSON.parse(text) };
}

export function basic(clientId: string, clientSecret: string): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64')}`;
}

/**
 * A simulator for one test. SCIM /Groups is on unless the test says otherwise: the tests of
 * the RFC 7644 /Groups path need it whatever SCIM_GROUPS_DEFAULT says (its own tests read
 * the default through createSimulator directly).
 */
export async function startSimulator(options?: SimulatorOptions): Promise<Harness> {
  const simulator = createSimulator({ scimGroups: true, ...options });
  open.push(simulator);
  const url = await simulator.listen();
  let cached: string | undefined;

  async function token(form: Record<string, string> = {}): Promise<string> {
    const response = await fetch(`${url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic('demo-client', 'demo-secret') },
      body: new URLSearchParams({ grant_type: 'client_credentials', ...form }),
    });
    const answer = await readAnswer(response);
    if (answer.status !== 200) throw new Error(`token request failed: ${answer.status} ${JSON.stringify(answer.body)}`);
    return answer.body.access_token as string;
  }

  async function request(method: string, path: string, init: RequestOptions = {}): Promise<Answer> {
    const headers: Record<string, string> = { ...init.headers };
    const bearer = init.token === undefined ? (cached ??= await token()) : init.token;
    if (bearer !== null) headers.authorization = `Bearer ${bearer}`;
    let body: string | undefined;
    if (init.body !== undefined) {
      body = typeof init.body === 'string' ? init.body : JSON.stringify(init.body);
      headers['content-type'] ??= SCIM_JSON;
    }
    return readAnswer(await fetch(`${url}${path}`, { method, headers, body }));
  }

  function api(method: string, path: string, init: RequestOptions = {}): Promise<Answer> {
    return request(method, `${ADMIN_API}${path}`, { ...init, headers: { 'content-type': 'application/json', ...init.headers } });
  }

  return { simulator, url, token, request, api };
}
