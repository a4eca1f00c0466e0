import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from './database.ts';
import {
  MALLOC_HUGE_PAGES_TUNABLE,
  MALLOC_TUNABLES,
  SERVER_TUNING,
  SERVICE_MALLOC_TUNABLES,
  startEmbeddedPostgres,
  supportsDirectIo,
  withMallocTuning,
} from './embedded.ts';
import { glibcTunablesOf } from './testing/index.ts';

const dirs: string[] = [];
async function tempDir() {
  const d = await mkdtemp(path.join(os.tmpdir(), 'mr-embedded-'));
  dirs.push(d);
  return d;
}
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function query(url: string, sql: string) {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(sql)).rows;
  } finally {
    await c.end();
  }
}

describe('embedded PostgreSQL', () => {
  it("runs with the same server settings as docker-compose's postgres", async () => {
    const compose = await readFile(path.resolve(import.meta.dirname, '../../../docker-compose.yml'), 'utf8');
    // the command's flow sequence, on one line or one item a line (as prettier wraps it)
    const list = /^ {4}command:\s+\[\s*('postgres'[^\]]*)\]/m.exec(compose.slice(compose.indexOf('\n  postgres:')))?.[1];
    expect(list, "docker-compose.yml's postgres command").toBeDefined();
    const args = list!
      .split(',')
      .map((a) => a.trim().replace(/^'|'$/g, ''))
      .filter(Boolean);
    const settings = args.filter((_, i) => args[i - 1] === '-c');
    expect(settings).toEqual([...SERVER_TUNING]);
  });

  // three clusters initialised and started one after another: on a loaded 2-core machine that can take over 30 s
  it("gives PostgreSQL glibc's malloc settings, as docker-compose and the images do, unless the operator set theirs", async () => {
    const before = process.env.GLIBC_TUNABLES;
    delete process.env.GLIBC_TUNABLES;
    try {
      const server = await startEmbeddedPostgres({ dataDir: await tempDir(), port: 0 });
      try {
        expect(await glibcTunablesOf(server.pid!)).toBe(MALLOC_TUNABLES);
        expect(process.env.GLIBC_TUNABLES).toBeUndefined(); // lent for the start only
      } finally {
        await server.stop();
      }
      process.env.GLIBC_TUNABLES = ''; // an operator's choice (empty: glibc's defaults) is kept
      const theirs = await startEmbeddedPostgres({ dataDir: await tempDir(), port: 0 });
      try {
        expect(await glibcTunablesOf(theirs.pid!)).toBe('');
      } finally {
        await theirs.stop();
      }
      process.env.GLIBC_TUNABLES = SERVICE_MALLOC_TUNABLES; // the services' settings (a benchmark) are not PostgreSQL's
      const fromService = await startEmbeddedPostgres({ dataDir: await tempDir(), port: 0 });
      try {
        expect(await glibcTunablesOf(fromService.pid!)).toBe(MALLOC_TUNABLES);
        expect(process.env.GLIBC_TUNABLES).toBe(SERVICE_MALLOC_TUNABLES);
      } finally {
        await fromService.stop();
      }
    } finally {
      if (before === undefined) delete process.env.GLIBC_TUNABLES;
      else process.env.GLIBC_TUNABLES = before;
    }
    // a service that verifies passwords gets huge pages, the others not; an operator's own value (even empty) is kept,
    // Mailroom's own (a launcher started by `npm run bench` or by the supervisor) is each service's again
    expect(withMallocTuning({ A: '1' }, true)).toEqual({ A: '1', GLIBC_TUNABLES: SERVICE_MALLOC_TUNABLES });
    expect(withMallocTuning({ A: '1' }, false)).toEqual({ A: '1', GLIBC_TUNABLES: MALLOC_TUNABLES });
    expect(SERVICE_MALLOC_TUNABLES).toBe(`${MALLOC_TUNABLES}:${MALLOC_HUGE_PAGES_TUNABLE}`);
    for (const hugePages of [true, false]) {
      const expected = hugePages ? SERVICE_MALLOC_TUNABLES : MALLOC_TUNABLES;
      for (const own of [MALLOC_TUNABLES, SERVICE_MALLOC_TUNABLES])
        expect(withMallocTuning({ GLIBC_TUNABLES: own }, hugePages).GLIBC_TUNABLES).toBe(expected);
      for (const theirs of ['glibc.malloc.arena_max=2', '', `${MALLOC_TUNABLES}:glibc.malloc.hugetlb=0`])
        expect(withMallocTuning({ GLIBC_TUNABLES: theirs }, hugePages).GLIBC_TUNABLES).toBe(theirs);
    }

    const root = path.resolve(import.meta.dirname, '../../..');
    const compose = await readFile(path.join(root, 'docker-compose.yml'), 'utf8');
    const postgres = compose.slice(compose.indexOf('\n  postgres:'), compose.indexOf('\n  migrate:'));
    expect(/^ {6}GLIBC_TUNABLES: (\S+)$/m.exec(postgres)?.[1], "docker-compose.yml's postgres environment").toBe(MALLOC_TUNABLES);
    const dockerfile = await readFile(path.join(root, 'Dockerfile'), 'utf8');
    // the images' default (huge pages are added by /app/start for the services that declare them: packages/runtime
    // image.test.ts)
    expect(/^ARG MALLOC_TUNABLES=(\S+)$/m.exec(dockerfile)?.[1], "the Dockerfile's MALLOC_TUNABLES").toBe(MALLOC_TUNABLES);
    expect(dockerfile).toMatch(/^ENV GLIBC_TUNABLES=\$\{MALLOC_TUNABLES\}$/m);
  }, 120_000);

  // glibc ignores a tunable it does not know: its dynamic loader lists the values it took from the variable
  it.runIf(existsSync('/lib64/ld-linux-x86-64.so.2'))('names tunables glibc knows, with the values meant', () => {
    for (const tunables of [MALLOC_TUNABLES, SERVICE_MALLOC_TUNABLES]) {
      const listed = execFileSync('/lib64/ld-linux-x86-64.so.2', ['--list-tunables'], {
        env: { GLIBC_TUNABLES: tunables },
        encoding: 'utf8',
      });
      for (const setting of tunables.split(':')) {
        const [name, value] = setting.split('=') as [string, string];
        expect(new RegExp(`^${name.replaceAll('.', '\\.')}: 0x([0-9a-f]+)`, 'm').exec(listed)?.[1], name).toBe(Number(value).toString(16));
      }
    }
  });

  it('probes O_DIRECT in the data directory and leaves nothing behind', async () => {
    const dir = await tempDir();
    expect(await supportsDirectIo(dir)).toBe(true);
    expect(await readdir(dir)).toEqual([]);
    // a directory it cannot create a file in counts as no O_DIRECT (PostgreSQL then keeps the page cache)
    expect(await supportsDirectIo(path.join(dir, 'missing'))).toBe(false);
    expect(await readdir(dir)).toEqual([]);
  });

  it('initialises once, migrates, and keeps data across restarts', async () => {
    const dataDir = await tempDir();
    const first = await openDatabase({ dataDir, migrate: true });
    expect(first.embedded).toBe(true);
    expect(first.migrations?.applied.length).toBeGreaterThan(0);
    await query(first.url, "CREATE TABLE keepme (v text); INSERT INTO keepme VALUES ('still here')");
    await first.close();

    const second = await openDatabase({ dataDir, migrate: true });
    try {
      expect(second.migrations?.applied).toEqual([]);
      expect(await query(second.url, 'SELECT v FROM keepme')).toEqual([{ v: 'still here' }]);
      expect((await query(second.url, 'SHOW server_version'))[0].server_version).toMatch(/^17\./);
      // the WAL settings the 1 MB ingest figures were measured with (README "Performance")
      expect((await query(second.url, 'SHOW wal_buffers'))[0].wal_buffers).toBe('32MB');
      expect((await query(second.url, 'SHOW wal_writer_delay'))[0].wal_writer_delay).toBe('10ms');
      expect((await query(second.url, 'SHOW backend_flush_after'))[0].backend_flush_after).toBe('256kB');
      expect((await query(second.url, 'SHOW max_wal_size'))[0].max_wal_size).toBe('4GB');
      // the WAL skips the page cache wherever the data directory's file system allows it (it does here: ext4 or a
      // recent tmpfs; supportsDirectIo is tested below)
      expect(await supportsDirectIo(dataDir)).toBe(true);
      expect((await query(second.url, 'SHOW debug_io_direct'))[0].debug_io_direct).toBe('wal');
    } finally {
      await second.close();
    }
  });

  it('recovers when the owning process was killed and left its postmaster running', async () => {
    const dataDir = await tempDir();
    // A separate node process starts the cluster and is then SIGKILLed: its postmaster survives.
    const script = `import { openDatabase } from ${JSON.stringify(path.resolve('src/database.ts'))};
      const db = await openDatabase({ dataDir: ${JSON.stringify(dataDir)} });
      console.log('URL ' + db.url); setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (d) => {
        out += d;
        const m = /URL (\S+)/.exec(out);
        if (m) resolve(m[1]!);
      });
      child.on('exit', (code) => reject(new Error(`child exited ${code}`)));
    });
    await query(url, 'SELECT 1');
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const stalePid = Number((await readFile(path.join(dataDir, 'pg', 'postmaster.pid'), 'utf8')).split('\n')[0]);
    expect(() => process.kill(stalePid, 0)).not.toThrow(); // the orphaned postmaster is still alive

    const again = await openDatabase({ dataDir });
    try {
      expect(await query(again.url, 'SELECT 1 AS ok')).toEqual([{ ok: 1 }]);
      expect(() => process.kill(stalePid, 0)).toThrow(); // the stale one was stopped
    } finally {
      await again.close();
    }
  });

  it('attaches to a cluster already served by another live process instead of stopping it', async () => {
    const dataDir = await tempDir();
    const owner = await openDatabase({ dataDir });
    try {
      // A second process (like `npm run mailroom` beside `npm start`) opens the same data directory.
      const script = `import { openDatabase } from ${JSON.stringify(path.resolve('src/database.ts'))};
        const db = await openDatabase({ dataDir: ${JSON.stringify(dataDir)} });
        console.log(db.url === ${JSON.stringify(owner.url)} ? 'SAME' : 'DIFFERENT ' + db.url); await db.close();`;
      const out = await new Promise<string>((resolve) => {
        const c = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
          stdio: ['ignore', 'pipe', 'inherit'],
        });
        let s = '';
        c.stdout!.on('data', (d) => (s += d));
        c.on('exit', () => resolve(s.trim()));
      });
      expect(out).toBe('SAME');
      expect(await query(owner.url, 'SELECT 1 AS ok')).toEqual([{ ok: 1 }]); // the attacher's close() did not stop it
    } finally {
      await owner.close();
    }
  });

  it('stops the postmaster when the owning process exits without stopping it', async () => {
    const dataDir = await tempDir();
    const script = `import { openDatabase } from ${JSON.stringify(path.resolve('src/index.ts'))};
      await openDatabase({ dataDir: ${JSON.stringify(dataDir)} });
      const { readFileSync } = await import('node:fs');
      console.log(readFileSync(${JSON.stringify(path.join(dataDir, 'pg', 'postmaster.pid'))}, 'utf8').split('\\n')[0]);
      process.exit(0);`;
    const pid = await new Promise<number>((resolve) => {
      const c = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
      let s = '';
      c.stdout!.on('data', (d) => (s += d));
      c.on('exit', () => resolve(Number(s.trim())));
    });
    expect(pid).toBeGreaterThan(0);
    let alive = true;
    for (let i = 0; i < 100 && alive; i++) {
      try {
        process.kill(pid, 0);
        await new Promise((r) => setTimeout(r, 50));
      } catch {
        alive = false;
      }
    }
    expect(alive).toBe(false);
  });

  it('leaves signal handling to the process: importing @mailroom/db or starting a cluster adds no SIGINT/SIGTERM handler', async () => {
    const dataDir = await tempDir();
    const script = `import { openDatabase } from ${JSON.stringify(path.resolve('src/index.ts'))};
      const n = () => process.listenerCount('SIGTERM') + process.listenerCount('SIGINT');
      const afterImport = n();
      const db = await openDatabase({ dataDir: ${JSON.stringify(dataDir)} });
      const afterStart = n();
      await db.close();
      console.log(JSON.stringify({ afterImport, afterStart }));
      process.exitCode = 0;`;
    const { out, code } = await new Promise<{ out: string; code: number | null }>((resolve) => {
      const c = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
      let s = '';
      c.stdout!.on('data', (d) => (s += d));
      c.on('exit', (exitCode) => resolve({ out: s.trim(), code: exitCode }));
    });
    expect(JSON.parse(out)).toEqual({ afterImport: 0, afterStart: 0 });
    expect(code).toBe(0); // no exit hook turns a clean exit into a failure
  });
});
