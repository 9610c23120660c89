/**
 * The files a user reads and runs before any code: docker-compose.yml (no Docker engine here, so it is checked by
 * parsing), .env.example and README.md, kept in step with the configuration schema.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { EnvSchema, loadConfig } from '../../src/config.js';

const root = new URL('../../', import.meta.url);
const read = (name: string) => readFileSync(new URL(name, root), 'utf8');

interface ComposeService {
  image?: string;
  build?: string;
  command?: string[];
  profiles?: string[];
  container_name?: string;
  environment?: Record<string, string>;
  env_file?: { path: string; required: boolean }[];
  volumes?: (
    string | { type: string; source: string; target: string; read_only?: boolean; bind?: Record<string, unknown> }
  )[];
  ports?: string[];
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
}

/** Reads a .env file the way docker compose does for plain `NAME=value` lines (comments and blanks skipped). */
function readDotEnv(text: string): Record<string, string> {
  return Object.fromEntries(
    [...text.matchAll(/^([A-Z_][A-Z0-9_]*)=(.*)$/gm)].map((m) => [m[1] as string, m[2] as string]),
  );
}

describe('docker-compose.yml, with the README’s own steps', () => {
  // Merge keys (`<<: *letterpress`) are YAML 1.1, which docker compose reads; the yaml package needs to be told.
  const compose = parse(read('docker-compose.yml'), { merge: true }) as { services: Record<string, ComposeService> };
  const services = compose.services;
  const apps = ['serve', 'worker'] as const;

  it('runs redis, serve and worker, and Mailpit only in the development profile on the host’s loopback', () => {
    expect(Object.keys(services).sort()).toEqual(['mailpit', 'redis', 'serve', 'worker']);
    for (const name of ['redis', ...apps]) expect(services[name]?.profiles, name).toBeUndefined();
    expect(services.mailpit?.profiles).toEqual(['dev']);
    expect(services.mailpit?.ports).toEqual(['127.0.0.1:8025:8025']);
  });

  it('runs Redis with append-only persistence and without eviction, unpublished, and the app insists on it', () => {
    const command = services.redis?.command ?? [];
    expect(command[command.indexOf('--appendonly') + 1]).toBe('yes');
    expect(command[command.indexOf('--maxmemory-policy') + 1]).toBe('noeviction');
    expect(services.redis?.ports).toBeUndefined();
    for (const name of apps) expect(services[name]?.environment?.REQUIRE_REDIS_PERSISTENCE).toBe('true');
  });

  it('takes the relay, the secrets and NODE_ENV from the operator’s .env, never from the compose file', () => {
    for (const name of apps) {
      const service = services[name];
      expect(service?.env_file).toEqual([{ path: '.env', required: true }]);
      for (const variable of [
        'SMTP_URL',
        'NODE_ENV',
        'LETTERPRESS_SECRET',
        'WEBHOOK_SECRET',
        'EDITOR_TOKENS',
        'OPS_TOKENS',
      ])
        expect(service?.environment?.[variable], `${name} ${variable}`).toBeUndefined();
      expect(service?.depends_on).toEqual({ redis: { condition: 'service_healthy' } });
    }
  });

  it('mounts the operator’s config file read-only where LETTERPRESS_CONFIG points, and refuses to invent one', () => {
    for (const name of apps) {
      const service = services[name];
      const target = service?.environment?.LETTERPRESS_CONFIG;
      expect(service?.volumes).toContainEqual({
        type: 'bind',
        source: './letterpress.json',
        target,
        read_only: true,
        bind: { create_host_path: false },
      });
    }
  });

  it('starts serve and worker with real commands and checks their health', () => {
    for (const name of apps) {
      expect(services[name]?.build).toBe('.');
      expect(services[name]?.command).toEqual(['node', 'bin/letterpress.js', name]);
      expect(services[name]?.environment?.REDIS_URL).toBe('redis://redis:6379');
    }
    const port = services.serve?.environment?.PORT;
    expect(services.serve?.environment?.HOST).toBe('0.0.0.0');
    expect(services.serve?.healthcheck?.test.join(' ')).toContain(`http://127.0.0.1:${port}/healthz`);
    expect(services.serve?.ports).toEqual([`127.0.0.1:${port}:${port}`]);
    expect(services.worker?.healthcheck?.test).toEqual(['CMD', 'node', 'bin/letterpress.js', 'health', '--worker']);
  });

  it('scales workers: no fixed container name anywhere, no published port on the worker', () => {
    for (const [name, service] of Object.entries(services)) expect(service.container_name, name).toBeUndefined();
    expect(services.worker?.ports).toBeUndefined();
  });

  it('checks the health of every service, and Redis by asking it', () => {
    for (const [name, service] of Object.entries(services)) {
      expect(service.healthcheck?.test.length, name).toBeGreaterThan(1);
    }
    expect(services.redis?.healthcheck?.test).toEqual(['CMD', 'redis-cli', 'ping']);
  });

  it('keeps Redis writing its append-only file every second, on a named volume that outlives the container', () => {
    const command = services.redis?.command ?? [];
    expect(command[command.indexOf('--appendfsync') + 1]).toBe('everysec');
    expect(services.redis?.volumes).toContain('redis-data:/data');
  });

  it("only sets environment variables the configuration knows (and Node's own options)", () => {
    const known = new Set([...Object.keys(EnvSchema.shape), 'NODE_OPTIONS']);
    for (const service of Object.values(services)) {
      for (const name of Object.keys(service.environment ?? {})) expect(known, name).toContain(name);
    }
  });

  it('a copied .env.example refuses to start until the operator fills in the secrets and the relay, then is a valid production setup', () => {
    const configPath = fileURLToPath(new URL('letterpress.example.json', root));
    for (const name of apps) {
      const effective = (dotEnv: Record<string, string>) => ({
        ...dotEnv,
        ...services[name]?.environment,
        // The mounted file: the example, copied as the README says.
        LETTERPRESS_CONFIG: configPath,
      });
      const copied = readDotEnv(read('.env.example'));
      expect(copied.NODE_ENV).toBe('production');
      expect(() => loadConfig(effective(copied))).toThrowError(
        /LETTERPRESS_SECRET: required when NODE_ENV=production.*SMTP_URL: required when NODE_ENV=production.*LETTERPRESS_SUPPRESSION_KEY: required when NODE_ENV=production/,
      );
      const filledIn = {
        ...copied,
        LETTERPRESS_SECRET: 'Yq8nV2rT5wX0zB3cE6fH9jK1mP4sU7vA',
        LETTERPRESS_SUPPRESSION_KEY: 'Mv5bN8cX1zL4kJ7hG0fD3sA6qW9eR2tY',
        SMTP_URL: 'smtps://news:relay-password@smtp.harbourgazette.example:465',
      };
      const config = loadConfig(effective(filledIn));
      expect(config).toMatchObject({
        isProduction: true,
        redis: { kind: 'standalone', url: 'redis://redis:6379' },
        requireRedisPersistence: true,
      });
      expect(config.smtp.url).toBe(filledIn.SMTP_URL);
    }
  });

  it('builds from a Dockerfile that compiles every source folder and runs the compiled build', () => {
    const dockerfile = read('Dockerfile');
    for (const folder of ['scripts', 'src', 'workers', 'emails'])
      expect(dockerfile).toContain(`COPY ${folder} ./${folder}`);
    expect(dockerfile).toContain('RUN npm run build');
    expect(dockerfile).toContain('COPY --from=build /app/dist ./dist');
    expect(dockerfile).toContain('COPY bin ./bin');
    expect(dockerfile).toContain('npm ci --omit=dev');
    expect(dockerfile).toContain('ENV NODE_ENV=production');
  });

  it('README gives the steps this file expects', () => {
    const readme = read('README.md');
    for (const step of [
      'cp .env.example .env',
      'cp letterpress.example.json letterpress.json',
      'docker compose up -d',
      'docker compose up -d --scale worker=3',
      'docker compose --profile dev up -d',
    ])
      expect(readme, step).toContain(step);
  });
});

describe('configuration documentation', () => {
  const names = Object.keys(EnvSchema.shape);

  it('.env.example lists every environment variable', () => {
    const listed = new Set([...read('.env.example').matchAll(/^([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]));
    expect([...listed].sort()).toEqual([...names].sort());
  });

  it('README.md documents every environment variable and both quickstart commands', () => {
    const readme = read('README.md');
    for (const name of names) expect(readme, name).toContain(`\`${name}\``);
    expect(readme).toContain('npm run demo');
    expect(readme).toContain('npm test');
  });

  it('.ci/run installs with npm ci and runs npm test', () => {
    const ci = read('.ci/run');
    expect(ci).toContain('npm ci');
    expect(ci).toContain('npm test');
  });
});
