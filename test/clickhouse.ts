/**
 * A throwaway ClickHouse server for tests: Debian's `clickhouse-server` on loopback, free ports, a temporary config
 * and data directory, a `default` user without password and a `tracker` user with one. `stop()` ends it (and can be
 * followed by `start()` again on the same data); `dispose()` stops it and removes the directory.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './serve-helpers.ts';

export const CLICKHOUSE_SERVER = ['/usr/bin/clickhouse-server', '/usr/sbin/clickhouse-server'].find((p) =>
  existsSync(p),
);
export const TRACKER_PASSWORD = 's3cret';

export class TestClickHouse {
  readonly dir: string;
  private child: ChildProcess | undefined;
  httpPort = 0;
  private tcpPort = 0;

  constructor() {
    this.dir = mkdtempSync(join(tmpdir(), 'lt-clickhouse-'));
  }

  get url(): string {
    return `http://127.0.0.1:${this.httpPort}`;
  }

  private writeConfig(): void {
    const d = this.dir;
    for (const sub of ['data', 'tmp', 'user_files', 'format_schemas', 'log'])
      mkdirSync(join(d, sub), { recursive: true });
    writeFileSync(
      join(d, 'config.xml'),
      `<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>${d}/log/server.log</log><errorlog>${d}/log/error.log</errorlog></logger>
  <http_port>${this.httpPort}</http_port>
  <tcp_port>${this.tcpPort}</tcp_port>
  <listen_host>127.0.0.1</listen_host>
  <path>${d}/data/</path>
  <tmp_path>${d}/tmp/</tmp_path>
  <user_files_path>${d}/user_files/</user_files_path>
  <format_schema_path>${d}/format_schemas/</format_schema_path>
  <users_config>${d}/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>104857600</mark_cache_size>
  <timezone>UTC</timezone>
</yandex>
`,
    );
    const user = (name: string, pw: string) =>
      `<${name}><password>${pw}</password><networks><ip>127.0.0.1</ip><ip>::1</ip></networks>` +
      `<profile>default</profile><quota>default</quota></${name}>`;
    writeFileSync(
      join(d, 'users.xml'),
      `<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>2000000000</max_memory_usage></default></profiles>
  <users>${user('default', '')}${user('tracker', TRACKER_PASSWORD)}</users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>
`,
    );
  }

  /** Starts the server (first time: on fresh free ports) and waits until it answers a query. */
  async start(timeoutMs = 60_000): Promise<void> {
    if (CLICKHOUSE_SERVER === undefined) throw new Error('clickhouse-server is not installed');
    if (this.httpPort === 0) {
      this.httpPort = await freePort();
      this.tcpPort = await freePort();
      this.writeConfig();
    }
    const child = spawn(CLICKHOUSE_SERVER, [`--config-file=${join(this.dir, 'config.xml')}`], {
      stdio: ['ignore', 'ignore', 'pipe'],
      cwd: this.dir,
    });
    let stderr = '';
    child.stderr?.on('data', (d) => {
      stderr += String(d);
    });
    this.child = child;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (child.exitCode !== null)
        throw new Error(`clickhouse-server exited (${child.exitCode}): ${stderr.slice(-500)}`);
      try {
        if ((await this.sql('SELECT 1')).trim() === '1') return;
      } catch {
        // not up yet
      }
      if (Date.now() > deadline) throw new Error(`clickhouse-server did not start: ${stderr.slice(-500)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Runs a query over HTTP as `default`; the text of the answer (throws on an HTTP error). */
  async sql(query: string): Promise<string> {
    const res = await fetch(`${this.url}/?query=${encodeURIComponent(query)}`, { method: 'POST' });
    const text = await res.text();
    if (!res.ok) throw new Error(`ClickHouse: ${text}`);
    return text;
  }

  /** Stops the server (SIGKILL with `hard`, else SIGTERM) and waits for its exit. */
  async stop(hard = false): Promise<void> {
    const c = this.child;
    this.child = undefined;
    if (c === undefined || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => c.on('exit', () => resolve()));
    c.kill(hard ? 'SIGKILL' : 'SIGTERM');
    const t = setTimeout(() => c.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(t);
  }

  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** True when Debian's ClickHouse server is installed (prepare.sh installs it for `npm test`). */
export function haveClickHouse(): boolean {
  return CLICKHOUSE_SERVER !== undefined;
}
