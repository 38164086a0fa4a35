/**
 * A loopback stand-in for CXone's sign-in, for the adapter tests: the issuer's discovery
 * documents (openid-configuration, cxone-configuration), the password grant's token
 * endpoint and the access-key token endpoint, shaped as ../shared/CXONE.md describes them.
 * Every answer can be replaced (`answer`), and every request is recorded.
 */
import type { ServerResponse } from 'node:http';
import { Agent, type Dispatcher } from 'undici';
import { sendJson, startLoopback, type Loopback, type RecordedRequest } from '../scim/loopback.js';

export const CLIENT = { id: 'sync-app', secret: 'app-Secret/with+odd&chars=1' } as const;
export const ACCESS_KEY = { id: 'AKID-0001-ABCD', secret: 'ak-Secret+very/secret=value-42' } as const;
export const TENANT = '11eb2a5c-9f0e-4d2b-8c3a-5e6f7a8b9c0d';

export function jwt(claims: Record<string, unknown>): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'RS256', typ: 'JWT' })}.${part(claims)}.${Buffer.from('signature-not-checked').toString('base64url')}`;
}

export type Route = 'openid' | 'cxone' | 'password' | 'access-key';
type Answer = (req: RecordedRequest, res: ServerResponse) => void;

export interface FakeCxoneAuth extends Loopback {
  /** The issuer URL (the loopback origin). */
  readonly issuer: string;
  /** What cxone-configuration names as api_endpoint (default: the fake's own origin followed by /api-origin). */
  apiEndpoint: string;
  /** Claims of the id_token the password grant issues (null: no id_token). */
  idTokenClaims: Record<string, unknown> | null;
  /** Extra fields of the access-key answer. */
  accessKeyExtra: Record<string, unknown>;
  /** Access tokens are `at-1`, `at-2`, … unless this makes one. */
  accessToken: (n: number) => string;
  expiresIn: number;
  /** Answers every request below the API origin (`/api-origin/…`); default 200 with an empty object. */
  api: Answer;
  /** Answers a route differently, for the next `times` requests (default: always). */
  answer(route: Route, answer: Answer, times?: number): void;
  requestsTo(route: Route): RecordedRequest[];
}

/** The path the default api_endpoint ends with: the fake serves its API below it. */
export const API_PREFIX = '/api-origin';

const PATHS: Record<Route, string> = {
  openid: '/.well-known/openid-configuration',
  cxone: '/.well-known/cxone-configuration',
  password: '/auth/token',
  'access-key': '/authentication/v1/token/access-key',
};

export async function startFakeCxoneAuth(): Promise<FakeCxoneAuth> {
  const overrides = new Map<Route, { answer: Answer; times: number }>();
  let issued = 0;
  const server = await startLoopback((req, res) => {
    if (req.path.startsWith(`${API_PREFIX}/`)) return fake.api(req, res);
    const route = (Object.keys(PATHS) as Route[]).find((name) => PATHS[name] === req.path);
    if (route === undefined) return sendJson(res, 404, { error: 'not_found' });
    const override = overrides.get(route);
    if (override) {
      override.times -= 1;
      if (override.times <= 0) overrides.delete(route);
      return override.answer(req, res);
    }
    switch (route) {
      case 'openid':
        return sendJson(res, 200, { issuer: fake.issuer, token_endpoint: `${fake.issuer}${PATHS.password}`, grant_types_supported: ['password', 'client_credentials'] });
      case 'cxone':
        if (req.query.get('tenantId') !== TENANT) return sendJson(res, 404, { error: 'unknown tenant' });
        return sendJson(res, 200, { private: false, area: 'na1', api_endpoint: fake.apiEndpoint });
      case 'password': {
        const form = new URLSearchParams(req.body);
        const basic = Buffer.from(String(req.headers.authorization ?? '').replace(/^Basic /, ''), 'base64').toString('utf8');
        const [id, secret] = basic.split(':').map((part) => new URLSearchParams(`v=${part}`).get('v'));
        if (id !== CLIENT.id || secret !== CLIENT.secret) return sendJson(res, 401, { error: 'invalid_client' });
        if (form.get('grant_type') !== 'password' || form.get('username') !== ACCESS_KEY.id || form.get('password') !== ACCESS_KEY.secret) {
          return sendJson(res, 400, { error: 'invalid_grant' });
        }
        issued += 1;
        return sendJson(res, 200, {
          access_token: fake.accessToken(issued),
          token_type: 'Bearer',
          expires_in: fake.expiresIn,
          ...(fake.idTokenClaims && { id_token: jwt(fake.idTokenClaims) }),
        });
      }
      case 'access-key': {
        let body: { accessKeyId?: unknown; accessKeySecret?: unknown } = {};
        try {
          body = JSON.parse(req.body) as typeof body;
        } catch {
          return sendJson(res, 400, { error: 'invalid_request' });
        }
        if (body.accessKeyId !== ACCESS_KEY.id || body.accessKeySecret !== ACCESS_KEY.secret) return sendJson(res, 401, { error: 'invalid_grant' });
        issued += 1;
        return sendJson(res, 200, { access_token: fake.accessToken(issued), token_type: 'Bearer', expires_in: fake.expiresIn, ...fake.accessKeyExtra });
      }
    }
  });
  const fake: FakeCxoneAuth = {
    ...server,
    issuer: server.url,
    apiEndpoint: `${server.url}${API_PREFIX}`,
    api: (_req, res) => sendJson(res, 200, {}),
    idTokenClaims: { sub: 'user:1', tenantId: TENANT, iss: server.url },
    accessKeyExtra: {},
    accessToken: (n) => `at-${n}-${'x'.repeat(12)}`,
    expiresIn: 3600,
    answer(route, answer, times = Number.POSITIVE_INFINITY) {
      overrides.set(route, { answer, times });
    },
    requestsTo: (route) => server.requests.filter((req) => req.path === PATHS[route]),
  };
  return fake;
}

/** A dispatcher that refuses to connect anywhere but loopback: a test that would reach out fails instead, and `refused` says where. */
export function loopbackOnly(): { readonly dispatcher: Dispatcher; readonly refused: string[]; close(): Promise<void> } {
  const refused: string[] = [];
  const agent = new Agent();
  const dispatcher = agent.compose((dispatch) => (options, handler) => {
    const host = new URL(String(options.origin)).hostname;
    if (host !== '127.0.0.1' && host !== '[::1]' && host !== 'localhost') {
      refused.push(String(options.origin));
      throw new Error(`test refused to connect to ${String(options.origin)}`);
    }
    return dispatch(options, handler);
  });
  return { dispatcher, refused, close: () => agent.close() };
}
