/**
 * The service logger: pino, JSON, with secrets redacted wherever they could appear.
 * Pretty printing is for people at a terminal only (`npm start` in a TTY).
 */
import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';

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
  'scimApiTokens',
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
  '*.scimApiTokens',
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
