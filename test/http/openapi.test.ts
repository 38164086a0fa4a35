import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import SwaggerParser from '@apidevtools/swagger-parser';
import { describe, expect, it } from 'vitest';
import { generateOpenApi, OPENAPI_DIR, OPENAPI_FILES } from '../../scripts/openapi-document.js';
import { buildTestApp } from '../helpers/build-test-app.js';

type Json = Record<string, any>; // eslint-disable-line typescript/no-explicit-any -- walking a parsed document

describe('the OpenAPI document', () => {
  it('when generated from the route schemas, then it equals the committed openapi/ files (run `npm run openapi` otherwise)', async () => {
    const generated = await generateOpenApi();
    expect(await readFile(join(OPENAPI_DIR, OPENAPI_FILES.json), 'utf8')).toBe(generated.json);
    expect(await readFile(join(OPENAPI_DIR, OPENAPI_FILES.yaml), 'utf8')).toBe(generated.yaml);
  });

  it('when validated by swagger-parser, then it is a valid OpenAPI 3.1 document whose $refs all resolve', async () => {
    const { document } = await generateOpenApi();
    expect(document.openapi).toBe('3.1.0');
    await expect(SwaggerParser.validate(structuredClone(document) as never)).resolves.toBeTruthy();
    const dereferenced = (await SwaggerParser.dereference(structuredClone(document) as never)) as Json;
    expect(JSON.stringify(dereferenced.paths)).not.toContain('$ref');
  });

  it('when read, then it documents every route, every status with a schema, the bearer scheme and the examples', async () => {
    const doc = (await generateOpenApi()).document as Json;
    expect(doc.info).toMatchObject({ title: 'cxone-scim-sync', version: expect.stringMatching(/^\d+\.\d+\.\d+/) });
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(Object.keys(doc.components.schemas)).toEqual(expect.arrayContaining(['ErrorBody', 'MemberIdentity']));
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/groups/{groupId}/sync', '/healthz', '/readyz', '/metrics', '/openapi.json']));

    for (const path of ['/healthz', '/readyz', '/metrics', '/openapi.json']) expect(doc.paths[path].get.security, `${path}`).toEqual([]);
    const sync = doc.paths['/groups/{groupId}/sync'].post;
    expect(sync.security).toEqual([{ bearerAuth: [] }]);
    expect(Object.keys(sync.requestBody.content).toSorted()).toEqual(['application/json', 'application/scim+json']);
    expect(sync.requestBody.content['application/json'].example.members).toHaveLength(3);
    expect(sync.parameters.find((p: Json) => p.name === 'dryRun')).toMatchObject({ in: 'query', required: false });
    expect(Object.keys(sync.responses).toSorted()).toEqual(['200', '400', '401', '404', '409', '413', '415', '422', '429', '500', '502', '503', '504']);
    for (const [status, response] of Object.entries<Json>(sync.responses)) {
      expect(response.description, `${status}`).not.toBe('Default Response');
      expect(response.content['application/json'].schema, `${status}`).toBeTruthy();
    }
    expect(sync.responses['200'].content['application/json'].example).toMatchObject({ status: 'applied', consistencyRate: 1 });
    expect(sync.responses['422'].content['application/json'].example).toMatchObject({ error: 'validation_failed', errors: [{ code: 'user_not_found' }, { code: 'depth_exceeded' }] });
    expect(sync.responses['401'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/ErrorBody' });
  });
});

describe('GET /openapi.json and GET /docs', () => {
  it('when fetched without a token, then /openapi.json serves the same document', async () => {
    const { app } = await buildTestApp();
    const res = await app.inject('/openapi.json');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.json()).toEqual(app.swagger());
    expect(res.json()).toMatchObject({ openapi: '3.1.0', paths: { '/groups/{groupId}/sync': { post: { operationId: 'syncGroup' } } } });
  });

  it('when fetched without a token, then /docs serves Swagger UI and its assets, while the API still needs the token', async () => {
    const { app } = await buildTestApp();
    const page = await app.inject('/docs');
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.body).toContain('swagger-ui');
    for (const asset of ['/docs/static/swagger-ui-bundle.js', '/docs/static/swagger-initializer.js', '/docs/json']) {
      expect((await app.inject(asset)).statusCode, `${asset}`).toBe(200);
    }
    const sync = await app.inject({ method: 'POST', url: '/groups/g1/sync', headers: { 'content-type': 'application/json' }, payload: '{"members":[]}' });
    expect(sync.statusCode).toBe(401);
  });
});
