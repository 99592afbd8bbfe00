'use strict';
// A slow backend call never blocks the event loop: while Redis is stopped (SIGSTOP) or the
// SQLite file is locked by another process, timers keep firing, and the call then completes.
const { it } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const h = require('./helpers');

const redis = h.redisFixture();

// Counts 5 ms timer ticks while `promise` is pending; returns {result, ticks, elapsed}.
async function ticksDuring(promise) {
  let ticks = 0;
  const timer = setInterval(() => { ticks++; }, 5);
  const t0 = performance.now();
  try {
    const result = await promise;
    return { result, ticks, elapsed: performance.now() - t0 };
  } finally {
    clearInterval(timer);
  }
}

it('Redis: a call waiting 300 ms for a stopped server leaves the event loop running', async () => {
  const store = await h.authstore.open(`${redis.url}?prefix=loop${h.randomId()}:`, { keys: h.KEY });
  process.kill(redis.pid, 'SIGSTOP');
  const resume = setTimeout(() => process.kill(redis.pid, 'SIGCONT'), 300);
  try {
    const { result, ticks, elapsed } = await ticksDuring(store.codes.issue(h.grant()));
    assert.equal(result.status, 'ok');
    assert.ok(elapsed >= 250, `the call was slow (${elapsed} ms)`);
    assert.ok(ticks >= 20, `timers fired ${ticks} times during ${elapsed} ms`);
  } finally {
    clearTimeout(resume);
    process.kill(redis.pid, 'SIGCONT');
    await store.close();
  }
});

it('SQLite: a write waiting 400 ms for another process\'s lock leaves the event loop running', async () => {
  const file = `${h.tempDir()}/lock.db`;
  const store = await h.authstore.open(`sqlite://${file}`, { keys: h.KEY });
  await store.codes.issue(h.grant());  // the schema exists
  const locker = spawn('python3', ['-c', `
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=5)
db.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
time.sleep(0.4)
db.execute("COMMIT")
`, file], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise((r) => locker.once('exit', r));
  try {
    await new Promise((resolve, reject) => {
      locker.stdout.once('data', resolve);
      locker.once('exit', () => reject(new Error('the locking process ended before locking')));
    });
    const { result, ticks, elapsed } = await ticksDuring(store.codes.issue(h.grant()));
    assert.equal(result.status, 'ok');
    assert.ok(elapsed >= 200, `the call waited for the lock (${elapsed} ms)`);
    assert.ok(ticks >= 15, `timers fired ${ticks} times during ${elapsed} ms`);
  } finally {
    if (locker.exitCode === null) process.kill(locker.pid, 'SIGKILL');
    await exited;
    await store.close();
  }
});
