'use strict';
// Test helpers: a redis-server of the test's own on a free loopback port (stopped by its pid),
// a temporary SQLite file, a fixed key ring, and the three backends as {name, open()}.
const { spawn } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const authstore = require('..');

const KEY = { keys: [{ id: 1, secret: Buffer.alloc(32, 7) }] };
const OTHER_KEY = { keys: [{ id: 2, secret: Buffer.alloc(32, 9) }] };

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function answers(port) {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => {
      s.write('PING\r\n');
    });
    s.setTimeout(500, () => { s.destroy(); resolve(false); });
    s.on('data', (d) => { s.destroy(); resolve(d.toString().startsWith('+PONG')); });
    s.on('error', () => resolve(false));
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Starts redis-server (no persistence, loopback only) on a free port: {port, pid, stop()}.
// Up to 5 ports are tried, each for at most 5 s.
async function startRedis() {
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '',
      '--appendonly', 'no', '--maxmemory-policy', 'noeviction'], { stdio: 'ignore' });
    let exited = false;
    const exit = new Promise((r) => child.once('exit', () => { exited = true; r(); }));
    child.once('error', () => { exited = true; });
    for (let i = 0; i < 50 && !exited; i++) {
      if (await answers(port)) {
        const stop = async () => {
          if (exited) return;
          process.kill(child.pid, 'SIGCONT');  // in case a test left it stopped
          process.kill(child.pid, 'SIGTERM');
          await Promise.race([exit, new Promise((r) => setTimeout(r, 5000).unref())]);
          if (!exited) process.kill(child.pid, 'SIGKILL');
          await exit;
        };
        process.once('exit', () => { if (!exited) process.kill(child.pid, 'SIGKILL'); });
        return { port, pid: child.pid, stop, url: `redis://127.0.0.1:${port}` };
      }
      await sleep(100);
    }
    if (!exited) { child.kill('SIGKILL'); await exit; }
  }
  throw new Error('could not start redis-server on a loopback port');
}

function tempDir() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'authstore-node-'));
  process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

// The three backends. `redis` must have been started (startRedis) for the Redis one.
function backends(redis) {
  const dir = tempDir();
  let n = 0;
  return [
    { name: 'memory', open: (opts = {}) => authstore.open('memory://', { keys: KEY, ...opts }) },
    { name: 'sqlite', open: (opts = {}) => authstore.open(`sqlite://${dir}/s${n++}.db`, { keys: KEY, ...opts }) },
    { name: 'redis', open: (opts = {}) => authstore.open(`${redis.url}?prefix=n${n++}:`, { keys: KEY, ...opts }) },
  ];
}

const CLIENT = 'app';
const REDIRECT = 'https://app.example.com/cb';
const grant = (extra = {}) => ({ clientId: CLIENT, subject: 'alice', redirectUri: REDIRECT, ...extra });

// Expects `promise` to reject with an AuthstoreError of this code (and field, when given).
async function rejectsWith(promise, code, field) {
  let err;
  try {
    await promise;
  } catch (e) {
    err = e;
  }
  if (!(err instanceof authstore.AuthstoreError)) {
    throw new Error(`expected an AuthstoreError ${code}, got ${err === undefined ? 'a resolution' : err}`);
  }
  if (err.code !== code || (field !== undefined && err.field !== field)) {
    throw new Error(`expected ${code} (field ${field}), got ${err.code} (field ${err.field}): ${err.message}`);
  }
  return err;
}

// Registers before/after hooks of the current file or suite: a redis-server of its own. The
// returned object gains {port, pid, url, stop} once the before hook ran.
function redisFixture() {
  const { before, after } = require('node:test');
  const redis = {};
  before(async () => { Object.assign(redis, await startRedis()); });
  after(async () => { await redis.stop(); });
  return redis;
}

// Registers before/after hooks of the current suite: a store of backend `name`, opened before and
// closed after its tests. The returned object's `store` is set once the before hook ran.
function storeFixture(name, redis) {
  const { before, after } = require('node:test');
  const fixture = {};
  before(async () => { fixture.store = await backends(redis).find((b) => b.name === name).open(); });
  after(async () => { await fixture.store.close(); });
  return fixture;
}

const randomId = () => crypto.randomBytes(12).toString('hex');

module.exports = { redisFixture, storeFixture, authstore, KEY, OTHER_KEY, startRedis, backends, tempDir, grant, rejectsWith, sleep, randomId, CLIENT, REDIRECT };
