/** `cxone-scim-sync audit verify`: walk the audit hash chain in DATA_DIR, like GET /audit/verify. */
import { EXIT, parseOptions, UsageError, type Io } from '../args.js';
import { loadCliConfig, openExistingStore } from '../runtime.js';

export const AUDIT_HELP = `Usage: cxone-scim-sync audit verify [options]

Check the audit trail's hash chain in the SQLite store under DATA_DIR, oldest record
first, as GET /audit/verify does: an edited, deleted or reordered record, a gap in the
sequence, deleted newest records, a missing head or an emptied trail break it. It opens
the store read-only, so it runs while the service runs on the same DATA_DIR (it reads a
consistent snapshot). With AUDIT_HMAC_KEY set, keyed records are checked in full;
without it, only their links (the verdict says how many).

Options:
  --json            print the verdict as GET /audit/verify's JSON body
  --data-dir DIR    the store to check (default: DATA_DIR, ./data)
  -h, --help        this help

Exit status: 0 the chain is intact; 1 it is broken; 2 bad options; 74 no store at
DATA_DIR, or it cannot be opened; 78 configuration error.
`;

export async function auditCommand(args: readonly string[], io: Io): Promise<number> {
  const [action, ...rest] = args;
  if (action === undefined) {
    io.stderr.write(AUDIT_HELP);
    return EXIT.usage;
  }
  if (action === '--help' || action === '-h' || action === 'help') {
    io.stdout.write(AUDIT_HELP);
    return EXIT.ok;
  }
  if (action !== 'verify') throw new UsageError(`unknown audit command ${JSON.stringify(action)}; the one there is: audit verify`, 'audit');
  const { values } = parseOptions('audit', rest, { json: { type: 'boolean' }, 'data-dir': { type: 'string' } });
  if (values.help) {
    io.stdout.write(AUDIT_HELP);
    return EXIT.ok;
  }
  const config = loadCliConfig(io.env, { dataDir: values['data-dir'] });
  const store = openExistingStore(config);
  try {
    const verdict = await store.verifyChain();
    if (values.json) io.stdout.write(`${JSON.stringify(verdict, null, 2)}\n`);
    else if (verdict.ok) {
      const notes = [
        verdict.checkpoint ? `it begins at record ${verdict.checkpoint.firstSeq}, after ${verdict.checkpoint.pruned} records pruned by retention` : '',
        verdict.unverifiedKeyedRecords ? `${verdict.unverifiedKeyedRecords} keyed records were checked for their links only: set AUDIT_HMAC_KEY to check their content` : '',
      ].filter(Boolean);
      io.stdout.write(`ok: the audit chain of ${verdict.records} record${verdict.records === 1 ? '' : 's'} is intact${notes.length > 0 ? `; ${notes.join('; ')}` : ''} (${store.file})\n`);
    } else io.stdout.write(`BROKEN (${verdict.failure}): ${verdict.reason}; first broken record: ${verdict.firstBrokenSyncId}; ${verdict.records} records checked (${store.file})\n`);
    return verdict.ok ? EXIT.ok : EXIT.failed;
  } finally {
    store.close();
  }
}
