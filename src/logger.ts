/**
 * The service logger: pino, JSON, with secrets redacted wherever they could appear.
 * Pretty printing is for people at a terminal only (`npm start` in a TTY).
 * withSyncLog adds the one structured line per sync, taken from its audit entry.
 */
import { pino, type BaseLogger, type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import type { AuditEntry } from './core/audit.js';
import type { AuditLog } from './core/ports.js';

/** Paths that may hold a secret in anything we log. */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers["proxy-authorization"]',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'headers.authorization',
  'headers["proxy-authorization"]',
  '*.headers.authorization',
  'authorization',
  'token',
  'access_token',
  'accessToken',
  'clientSecret',
  'client_secret',
  'secret',
  'password',
  'webhookSecret',
  'cxoneClientSecret',
  'cxoneAccessKeySecret',
  'syncApiTokens',
  'adminApiTokens',
  '*.token',
  '*.access_token',
  '*.accessToken',
  '*.clientSecret',
  '*.client_secret',
  '*.secret',
  '*.password',
  '*.authorization',
  '*.webhookSecret',
  '*.cxoneClientSecret',
  '*.cxoneAccessKeySecret',
  '*.syncApiTokens',
  '*.adminApiTokens',
  // One level deeper, where a secret sits inside a logged object's own object (delivery.subscription.secret).
  '*.*.secret',
  '*.*.clientSecret',
  '*.*.client_secret',
  '*.*.webhookSecret',
  '*.*.accessToken',
  '*.*.access_token',
  '*.*.authorization',
];

export function createLogger(level: LoggerOptions['level'], destination?: DestinationStream): Logger {
  const options: LoggerOptions = {
    level,
    base: { service: 'cxone-scim-sync' },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  if (destination) return pino(options, destination);
  if (process.stdout.isTTY && process.env.NODE_ENV !== 'production') {
    return pino({ ...options, transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l' } } });
  }
  return pino(options);
}

const SUCCEEDED: ReadonlySet<string> = new Set(['applied', 'unchanged', 'dry_run']);

/**
 * The audit log, logging one line per sync attempt once its record is written: every
 * attempt is audited whatever its outcome, so failures get the same fields as successes.
 */
export function withSyncLog(audit: AuditLog, log: Pick<BaseLogger, 'info' | 'warn' | 'error'>): AuditLog {
  return {
    async append(entry, events) {
      try {
        const record = await audit.append(entry, events);
        // A write the provider answered as done but did not apply is a warning: the group is not as asked.
        if (entry.status === 'write_not_applied') log.warn({ ...syncLine(entry), reason: entry.errors[0]?.message }, 'sync failed: the upstream did not apply the write');
        else log.info(syncLine(entry), SUCCEEDED.has(entry.status) ? 'sync finished' : 'sync failed');
        return record;
      } catch (error) {
        log.error({ ...syncLine(entry), err: error }, 'sync could not be audited');
        throw error;
      }
    },
  };
}

function syncLine(entry: AuditEntry): Record<string, unknown> {
  return {
    syncId: entry.syncId,
    requestId: entry.requestId,
    groupId: entry.groupId,
    actor: entry.actor,
    status: entry.status,
    added: entry.added.length,
    removed: entry.removed.length,
    memberCount: entry.memberCount,
    upstreamRequests: entry.upstreamRequests,
    latencyMs: entry.latencyMs,
    ...(entry.errors.length > 0 ? { errorCount: entry.errors.length, errorCodes: [...new Set(entry.errors.map((e) => e.code))] } : {}),
  };
}
