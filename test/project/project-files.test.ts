/**
 * The files a user reads and runs before any code: docker-compose.yml (no Docker engine here, so it is checked by
 * parsing), .env.example and README.md, kept in step with the configuration schema.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { EnvSchema } from '../../src/config.js';

const root = new URL('../../', import.meta.url);
const read = (name: string) => readFileSync(new URL(name, root), 'utf8');

interface ComposeService {
  image?: string;
  build?: string;
  command?: string[];
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
}

describe('docker-compose.yml', () => {
  const compose = parse(read('docker-compose.yml')) as { services: Record<string, ComposeService> };

  it('runs redis, mailpit, serve and worker', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['mailpit', 'redis', 'serve', 'worker']);
  });

  it('runs Redis with append-only persistence and without eviction, as the app requires', () => {
    const command = compose.services.redis?.command ?? [];
    expect(command[command.indexOf('--appendonly') + 1]).toBe('yes');
    expect(command[command.indexOf('--maxmemory-policy') + 1]).toBe('noeviction');
  });

  it('starts serve and worker with real letterpress commands pointed at the compose Redis and relay', () => {
    for (const name of ['serve', 'worker'] as const) {
      const service = compose.services[name];
      expect(service?.build).toBe('.');
      expect(service?.command).toEqual(['node', 'bin/letterpress.js', name]);
      expect(service?.environment?.REDIS_URL).toBe('redis://redis:6379');
      expect(service?.environment?.SMTP_URL).toBe('smtp://mailpit:1025');
      expect(service?.depends_on?.redis?.condition).toBe('service_healthy');
    }
  });

  it("only sets environment variables the configuration knows (and Node's own options)", () => {
    const known = new Set([...Object.keys(EnvSchema.shape), 'NODE_OPTIONS']);
    for (const service of Object.values(compose.services)) {
      for (const name of Object.keys(service.environment ?? {})) expect(known, name).toContain(name);
    }
  });

  it("bounds the worker's memory the way the benchmark measured it", () => {
    expect(compose.services.worker?.environment?.NODE_OPTIONS).toBe('--max-semi-space-size=2 --max-old-space-size=96');
  });

  it('builds from a Dockerfile that compiles every source folder and runs the compiled build', () => {
    const dockerfile = read('Dockerfile');
    for (const folder of ['scripts', 'src', 'workers', 'emails'])
      expect(dockerfile).toContain(`COPY ${folder} ./${folder}`);
    expect(dockerfile).toContain('RUN npm run build');
    expect(dockerfile).toContain('COPY --from=build /app/dist ./dist');
    expect(dockerfile).toContain('COPY bin ./bin');
    expect(dockerfile).toContain('npm ci --omit=dev');
  });
});

describe('configuration documentation', () => {
  const names = Object.keys(EnvSchema.shape);

  it('.env.example lists every environment variable', () => {
    const listed = new Set([...read('.env.example').matchAll(/^([A-Z_]+)=/gm)].map((m) => m[1]));
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
