/**
 * docker-compose.yml, the Prometheus and Grafana provisioning and the Dockerfile agree with
 * each other and with the service: names, ports, paths and the data source. When a compose
 * client is installed (`docker compose` or `docker-compose`), it must accept the file too.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig } from '../../src/config.js';
import { parseSimulatorEnv } from '../../src/simulator/env.js';
import { DEFAULT_CLIENT } from '../../src/simulator/oauth.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

interface Service {
  image?: string;
  build?: unknown;
  command?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  ports?: string[];
}

const compose = parse(read('docker-compose.yml'), { merge: true }) as { services: Record<string, Service> };
const services = compose.services;
const env = (service: Service) => Object.fromEntries(Object.entries(service.environment ?? {}).map(([k, v]) => [k, String(v).replace(/\$\{[A-Z_]+:-([^}]*)\}/g, '$1')]));
/** The host path mounted at `target` in the container. */
const mountOf = (service: Service, target: string) => service.volumes?.map((v) => v.split(':')).find(([, t]) => t === target)?.[0];

/** A compose client, if this machine has one. */
function composeClient(): string[] | undefined {
  for (const command of [['docker', 'compose'], ['docker-compose']]) {
    try {
      execFileSync(command[0] as string, [...command.slice(1), 'version'], { stdio: 'ignore' });
      return command;
    } catch {
      // not installed
    }
  }
  return undefined;
}

describe('deploy: docker compose', () => {
  it('when the service and the simulator are configured, then the service reaches the simulator with its client and starts with that configuration', () => {
    const { simulator, 'cxone-scim-sync': service } = services;
    expect(simulator?.command).toEqual(['simulator']);
    expect(service?.command).toEqual(['serve']);
    expect(simulator?.image).toBe(service?.image);
    const simulatorEnv = parseSimulatorEnv(env(simulator as Service));
    expect(simulatorEnv.host).toBe('0.0.0.0');
    const config = loadConfig(env(service as Service));
    expect(config.cxoneBaseUrl).toBe(`http://simulator:${simulatorEnv.port}`);
    expect([config.cxoneClientId, config.cxoneClientSecret]).toEqual([DEFAULT_CLIENT.clientId, DEFAULT_CLIENT.clientSecret]);
    expect(service?.ports).toContain(`${config.port}:${config.port}`);
  });

  it('when the stack starts, then two replicas of the service share one PostgreSQL database (STORE=postgres), on two host ports, after the database is healthy', () => {
    const postgres = services.postgres as Service & { healthcheck?: { test?: string[] }; depends_on?: unknown };
    expect(postgres.image).toMatch(/^postgres:\d+/);
    expect(postgres.healthcheck?.test?.join(' ')).toContain('pg_isready');
    // The database is for the replicas only: no host port.
    expect(postgres.ports).toBeUndefined();
    const pgEnv = env(postgres);
    const replicas = ['cxone-scim-sync', 'cxone-scim-sync-2'].map((name) => services[name] as Service & { depends_on?: Record<string, { condition: string }> });
    const hostPorts = new Set<string>();
    for (const replica of replicas) {
      expect(replica.command).toEqual(['serve']);
      expect(replica.depends_on?.postgres).toEqual({ condition: 'service_healthy' });
      const config = loadConfig(env(replica));
      expect(config.store).toBe('postgres');
      const url = new URL(config.databaseUrl as string);
      expect([url.hostname, url.port || '5432', url.pathname.slice(1), decodeURIComponent(url.username), decodeURIComponent(url.password)]).toEqual(['postgres', '5432', pgEnv.POSTGRES_DB, pgEnv.POSTGRES_USER, pgEnv.POSTGRES_PASSWORD]);
      const [port] = replica.ports ?? [];
      expect(port?.endsWith(`:${config.port}`)).toBe(true);
      hostPorts.add(port?.split(':')[0] as string);
    }
    expect([...hostPorts]).toEqual(['8080', '8082']);
    expect(loadConfig(env(replicas[0] as Service))).toEqual(loadConfig(env(replicas[1] as Service)));
  });

  it('when the service starts in the image (NODE_ENV=production, from the Dockerfile), then its configuration passes the start-up checks: a real upstream, plain http allowed on purpose', () => {
    const dockerfile = read('Dockerfile');
    const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
    const imageEnv = Object.fromEntries([...runtime.matchAll(/\b([A-Z_]+)=(\S+)/g)].map((m) => [m[1] as string, m[2] as string]));
    expect(imageEnv.NODE_ENV).toBe('production');
    const serviceEnv = env(services['cxone-scim-sync'] as Service);
    const config = loadConfig({ ...imageEnv, ...serviceEnv });
    // The simulator is another container: not loopback, so plain http is allowed explicitly.
    expect(config.cxoneAllowInsecureHttp).toBe(true);
    const { CXONE_ALLOW_INSECURE_HTTP: _allowed, ...withoutAllowance } = serviceEnv;
    expect(() => loadConfig({ ...imageEnv, ...withoutAllowance })).toThrow(/CXONE_BASE_URL: http:\/\/simulator:8081 is plain http and not loopback/);
  });

  it('when Prometheus scrapes, then it scrapes the service by its compose name and port at /metrics', () => {
    const prometheus = services.prometheus as Service;
    const configFlag = prometheus.command?.find((c) => c.startsWith('--config.file='))?.slice('--config.file='.length);
    expect(mountOf(prometheus, configFlag as string)).toBe('./deploy/prometheus/prometheus.yml');
    const scrape = parse(read('deploy/prometheus/prometheus.yml')) as { scrape_configs: { job_name: string; metrics_path?: string; static_configs: { targets: string[] }[] }[] };
    const job = scrape.scrape_configs.find((j) => j.job_name === 'cxone-scim-sync');
    expect(job?.metrics_path ?? '/metrics').toBe('/metrics');
    const port = loadConfig(env(services['cxone-scim-sync'] as Service)).port;
    expect(job?.static_configs.flatMap((c) => c.targets)).toEqual([`cxone-scim-sync:${port}`, `cxone-scim-sync-2:${port}`]);
  });

  it('when Grafana starts, then it provisions the Prometheus data source and loads the dashboards from where they are mounted', () => {
    const grafana = services.grafana as Service;
    expect(mountOf(grafana, '/etc/grafana/provisioning')).toBe('./deploy/grafana/provisioning');
    const datasources = parse(read('deploy/grafana/provisioning/datasources/prometheus.yml')) as { datasources: { uid: string; type: string; url: string }[] };
    expect(datasources.datasources).toContainEqual(expect.objectContaining({ uid: 'prometheus', type: 'prometheus', url: 'http://prometheus:9090' }));
    const providers = parse(read('deploy/grafana/provisioning/dashboards/cxone-scim-sync.yml')) as { providers: { options: { path: string } }[] };
    const path = providers.providers[0]?.options.path as string;
    expect(mountOf(grafana, path)).toBe('./deploy/grafana/dashboards');
    const dashboard = JSON.parse(read('deploy/grafana/dashboards/cxone-scim-sync.json')) as { templating: { list: { name: string; current: { value: string } }[] } };
    expect(dashboard.templating.list.find((v) => v.name === 'datasource')?.current.value).toBe('prometheus');
  });

  it('when a compose client is installed, then it accepts docker-compose.yml', (context) => {
    const client = composeClient();
    if (!client) return context.skip('no docker compose or docker-compose on this machine');
    expect(() => execFileSync(client[0] as string, [...client.slice(1), 'config', '-q'], { cwd: ROOT, stdio: 'pipe' })).not.toThrow();
  });
});

describe('deploy: Dockerfile', () => {
  const dockerfile = read('Dockerfile');
  const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));

  it('when the runtime stage is read, then it runs node directly as a non-root user, with the store in a volume and a health check', () => {
    expect(dockerfile.match(/^FROM node:\d+-[a-z]+-slim\b/gm)).toHaveLength(2);
    expect(runtime).toMatch(/^USER node$/m);
    expect(runtime).toMatch(/^VOLUME \["\/data"\]$/m);
    expect(runtime).toMatch(/DATA_DIR=\/data/);
    expect(runtime).toMatch(/^EXPOSE 8080$/m);
    expect(runtime).toMatch(/^HEALTHCHECK .*\n\s+CMD \["node", "-e", ".*\/healthz/m);
    expect(runtime).toMatch(/^ENTRYPOINT \["node", "--enable-source-maps", "dist\/cli\.js"\]$/m);
    expect(runtime).toMatch(/^CMD \["serve"\]$/m);
    expect(runtime).not.toMatch(/apt-get|npm (ci|install)/);
  });

  it('when the build context is filtered, then only the sources and manifests go in', () => {
    const lines = read('.dockerignore').split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#'));
    expect(lines[0]).toBe('*');
    const copied = [...dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) => (m[1] as string).split(/\s+/));
    expect(copied.length).toBeGreaterThan(0);
    for (const path of copied) expect(lines).toContain(`!${path.replace(/\/?$/, path.includes('.') ? '' : '/')}`);
  });
});
