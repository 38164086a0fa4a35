/**
 * npm run openapi: writes openapi/openapi.json and openapi/openapi.yaml from the route schemas.
 * npm run openapi:check (--check): fails when the committed files differ from what the code generates.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generateOpenApi, OPENAPI_DIR, OPENAPI_FILES } from './openapi-document.js';

const check = process.argv.includes('--check');
const generated = await generateOpenApi();
const outputs = [
  { file: OPENAPI_FILES.json, text: generated.json },
  { file: OPENAPI_FILES.yaml, text: generated.yaml },
];

if (check) {
  const stale: string[] = [];
  for (const { file, text } of outputs) {
    const committed = await readFile(join(OPENAPI_DIR, file), 'utf8').catch(() => null);
    if (committed !== text) stale.push(`openapi/${file}${committed === null ? ' (missing)' : ''}`);
  }
  if (stale.length > 0) {
    process.stderr.write(`openapi: ${stale.join(' and ')} differ from what the route schemas generate.\nRun \`npm run openapi\` and commit the result.\n`);
    process.exit(1);
  }
  process.stdout.write('openapi: openapi/ matches the route schemas\n');
} else {
  await mkdir(OPENAPI_DIR, { recursive: true });
  for (const { file, text } of outputs) await writeFile(join(OPENAPI_DIR, file), text);
  process.stdout.write(`openapi: wrote ${outputs.map(({ file }) => `openapi/${file}`).join(' and ')}\n`);
}
