/**
 * Every example a reader may copy runs as shown against the embedded simulator's seed:
 * the request examples of the OpenAPI document (what Swagger UI's "Try it out" pre-fills,
 * tried twice, as a person tries it), and the curl commands of the README and of docs/,
 * with only the host, port and token replaced (their `http://localhost:8080` and `demo-token`).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SCIM_GROUPS_DEFAULT } from '../../src/simulator/simulator.js';
import { buildFullApp } from '../helpers/full-app.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const TOKEN = 'readme-example-token-0001';
const CLIENT = { clientId: 'examples', clientSecret: 'examples-secret-0001' };

async function app() {
  // Webhook targets are checked by name: answer for them without asking a real resolver (a public address; dispatch is off, so nothing connects to it).
  // The simulator as the embedded one starts (CXone as published: no SCIM /Groups), so MEMBERSHIP_BACKEND=auto chooses acd-groups, as after `npm start`.
  const full = await buildFullApp({
    env: { SYNC_API_TOKENS: `demo:${TOKEN}` },
    ...CLIENT,
    simulator: { scimGroups: SCIM_GROUPS_DEFAULT },
    dispatch: false,
    resolve: async () => [{ address: '93.184.216.34', family: 4 }],
  });
  return full.app;
}

interface Operation {
  parameters?: { in: string; name: string; required?: boolean; example?: unknown; schema?: { examples?: unknown[] } }[];
  requestBody?: { content: Record<string, { example?: unknown; schema?: { examples?: unknown[] } }> };
}

describe('examples', () => {
  it('when every OpenAPI request example is sent twice as Swagger UI would send it, then each answer is a success', async () => {
    const service = await app();
    const document = (await service.inject({ method: 'GET', url: '/openapi.json' })).json() as { paths: Record<string, Record<string, Operation>> };
    const tried: string[] = [];
    for (const [path, operations] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        const example = (p: { example?: unknown; schema?: { examples?: unknown[] } }) => p.example ?? p.schema?.examples?.[0];
        const withExamples = (operation.parameters ?? []).filter((p) => example(p) !== undefined);
        const body = operation.requestBody?.content['application/json'];
        if (withExamples.length === 0 && (body === undefined || example(body) === undefined)) continue;
        let url = path;
        const headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` };
        for (const parameter of operation.parameters ?? []) {
          const value = example(parameter);
          if (parameter.in === 'path') url = url.replace(`{${parameter.name}}`, value === undefined ? `(no example for ${parameter.name})` : encodeURIComponent(String(value)));
          if (parameter.in === 'header' && value !== undefined) headers[parameter.name] = String(value);
        }
        const payload = body && example(body);
        for (const attempt of [1, 2]) {
          const res = await service.inject({ method: method.toUpperCase() as 'GET', url, headers: payload === undefined ? headers : { ...headers, 'content-type': 'application/json' }, payload: payload === undefined ? undefined : JSON.stringify(payload) });
          tried.push(`${method.toUpperCase()} ${url} #${attempt}: ${res.statusCode}`);
          expect(res.statusCode, `${method.toUpperCase()} ${url} (try ${attempt}): ${res.body}`).toBeLessThan(300);
        }
      }
    }
    expect(tried.length).toBeGreaterThanOrEqual(4);
  });

  it('when every curl command of the README and of docs/ is run, then each answers what the page says it answers', async () => {
    const service = await app();
    const pages = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((name) => name.endsWith('.md')).map((name) => join('docs', name))];
    const readme = pages.map((page) => readFileSync(join(ROOT, page), 'utf8')).join('\n');
    const blocks = [...readme.matchAll(/```sh\n([\s\S]*?)```(?=([\s\S]{0,400}))/g)].filter((m) => /^curl /m.test(m[1] as string));
    expect(blocks.length).toBeGreaterThanOrEqual(3);
    for (const [, block, after] of blocks) {
      for (const command of (block as string).replace(/\\\n\s*/g, ' ').split('\n').filter((line) => line.startsWith('curl '))) {
        const args = shellWords(command.replace(/\s+#.*$/, ''));
        let method = 'GET';
        let url = '';
        let payload: string | undefined;
        const headers: Record<string, string> = {};
        for (let i = 1; i < args.length; i++) {
          const arg = args[i] as string;
          if (arg === '-X') method = args[++i] as string;
          else if (arg === '-H') {
            const [name, ...value] = (args[++i] as string).split(':');
            headers[(name as string).toLowerCase()] = value.join(':').trim();
          } else if (arg === '-d') {
            payload = args[++i];
            if (method === 'GET') method = 'POST';
          } else if (!arg.startsWith('-')) url = arg;
        }
        expect(`${url} in ${command}`).toMatch(/^http:\/\/localhost:8080\//);
        if (headers.authorization) headers.authorization = headers.authorization.replace('demo-token', TOKEN);
        const res = await service.inject({ method: method as 'GET', url: url.slice('http://localhost:8080'.length), headers, payload });
        const promised = /answers `(\d{3})`/.exec(after as string)?.[1] ?? '200';
        expect(res.statusCode, `${command}\n${res.body}`).toBe(Number(promised));
        for (const code of [...((after as string).split(/\n\n/)[0] ?? '').matchAll(/`([a-z]+_[a-z_]+)`/g)].map((m) => m[1] as string)) {
          expect(res.body, `${command}: the page names ${code}`).toContain(code);
        }
      }
    }
  });
});

/** Splits a command line the way sh does for the quoting the pages use ('…' and "…"). */
function shellWords(line: string): string[] {
  const words: string[] = [];
  let current = '';
  let quote: string | null = null;
  let started = false;
  for (const ch of line) {
    if (quote) {
      if (ch === quote) quote = null;
      else current += ch;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      started = true;
    } else if (/\s/.test(ch)) {
      if (started || current) words.push(current);
      current = '';
      started = false;
    } else current += ch;
  }
  if (started || current) words.push(current);
  return words;
}
