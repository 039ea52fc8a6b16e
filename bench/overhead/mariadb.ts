/**
 * A throw-away MariaDB server for the overhead experiment: its own data directory in a temporary directory,
 * socket only (`--skip-networking`), no configuration files read (`--no-defaults`), stopped and removed by `stop()`.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BenchError, exited, stopChild, waitFor } from './system.ts';

export interface MariadbOptions {
  /** InnoDB buffer pool, MiB: large enough that the table set stays in memory (a CPU-bound load). */
  bufferPoolMb: number;
}

export class Mariadb {
  readonly dir: string;
  readonly socket: string;
  private child: ChildProcess | undefined;

  private constructor(dir: string) {
    this.dir = dir;
    this.socket = join(dir, 'mysqld.sock');
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /**
   * Creates the data directory (`mariadb-install-db`) and starts `mariadbd` on it. On failure everything created is
   * removed before the error is thrown.
   */
  static async start(opts: MariadbOptions): Promise<Mariadb> {
    const db = new Mariadb(mkdtempSync(join(tmpdir(), 'lt-overhead-')));
    try {
      await db.boot(opts);
    } catch (e) {
      await db.stop();
      throw e;
    }
    return db;
  }

  private async boot(opts: MariadbOptions): Promise<void> {
    const id = (flag: string) => Number(spawnSync('id', [flag, 'mysql'], { encoding: 'utf8' }).stdout.trim());
    const uid = id('-u');
    const gid = id('-g');
    if (!Number.isInteger(uid) || uid <= 0)
      throw new BenchError('there is no mysql user (is mariadb-server installed?)');
    const data = join(this.dir, 'data');
    mkdirSync(data);
    chownSync(this.dir, uid, gid);
    chownSync(data, uid, gid);
    const inst = spawnSync(
      'mariadb-install-db',
      [
        '--no-defaults',
        `--datadir=${data}`,
        '--user=mysql',
        '--auth-root-authentication-method=normal',
        '--skip-test-db',
      ],
      { encoding: 'utf8' },
    );
    if (inst.status !== 0) throw new BenchError(`mariadb-install-db failed: ${(inst.stderr || inst.stdout).trim()}`);
    const errLog = join(this.dir, 'error.log');
    const child = spawn(
      'mariadbd',
      [
        '--no-defaults',
        `--datadir=${data}`,
        `--socket=${this.socket}`,
        `--pid-file=${join(this.dir, 'mysqld.pid')}`,
        `--log-error=${errLog}`,
        '--user=mysql',
        '--skip-networking',
        `--innodb-buffer-pool-size=${opts.bufferPoolMb}M`,
        '--innodb-log-file-size=256M',
        // The log is written at each commit and flushed once a second: the load stays CPU-bound instead of
        // waiting on this VM's disk flushes, the case where tracing costs the most.
        '--innodb-flush-log-at-trx-commit=2',
        '--max-connections=200',
      ],
      { stdio: 'ignore' },
    );
    this.child = child;
    const ping = () =>
      existsSync(this.socket) &&
      spawnSync('mariadb-admin', ['--no-defaults', `--socket=${this.socket}`, '--user=root', 'ping'], {
        stdio: 'ignore',
      }).status === 0;
    await waitFor(
      () => child.exitCode !== null || ping(),
      60_000,
      `mariadbd did not answer within 60 s: ${this.logTail(errLog)}`,
    );
    if (child.exitCode !== null) throw new BenchError(`mariadbd exited (${child.exitCode}): ${this.logTail(errLog)}`);
    this.sql('CREATE DATABASE sbtest');
  }

  private logTail(path: string): string {
    try {
      return readFileSync(path, 'utf8').trim().split('\n').slice(-3).join(' | ');
    } catch {
      return 'no error log';
    }
  }

  sql(statement: string): void {
    const r = spawnSync(
      'mariadb',
      ['--no-defaults', `--socket=${this.socket}`, '--user=root', '--batch', '-e', statement],
      {
        encoding: 'utf8',
      },
    );
    if (r.status !== 0) throw new BenchError(`SQL '${statement}' failed: ${r.stderr.trim()}`);
  }

  /** Stops the server (SIGTERM, SIGKILL after 60 s) and removes the temporary directory. Never throws. */
  async stop(): Promise<void> {
    const c = this.child;
    if (c !== undefined) {
      await stopChild(c, 'SIGTERM', 60_000);
      await exited(c);
      this.child = undefined;
    }
    try {
      rmSync(this.dir, { recursive: true, force: true });
    } catch {
      // best effort: a tmp directory
    }
  }

  /** Synchronous last resort (process `exit` handler): kill and remove. */
  killSync(): void {
    try {
      this.child?.kill('SIGKILL');
    } catch {
      // gone
    }
    try {
      rmSync(this.dir, { recursive: true, force: true });
    } catch {
      // best effort
    }
  }
}
