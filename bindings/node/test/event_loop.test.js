'use strict';
// A slow backend call never blocks the event loop: while Redis is stopped (SIGSTOP) or the
// SQLite file is locked by another process, timers keep firing, and the call then completes.
// Memory calls, made on the JavaScript thread, still answer as promises (settled in call order).
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

// Memory calls are made on the JavaScript thread (no pool thread, no event-loop turn): each
// returns a promise that is already settled, so it settles within microtasks, in call order, and
// a failure is a rejection, never a synchronous throw. A call on a pool thread could only settle
// in a later turn of the event loop, after every microtask below.
it('memory: calls settle as promises within microtasks, in call order', async () => {
  const store = await h.authstore.open('memory://', { keys: h.KEY });
  try {
    const issued = await store.codes.issue(h.grant());
    const order = [];
    const calls = [];
    for (let i = 0; i < 64; i++) {
      const p = (i % 2 ? store.codes.peek(issued.value.code) : store.codes.issue(h.grant({ subject: `u${i}` })));
      assert.ok(p instanceof Promise);
      calls.push(p.then((r) => { order.push(i); return r; }));
    }
    assert.deepEqual(order, [], 'reactions never run inside the call');
    for (let tick = 0; tick < 4; tick++) await Promise.resolve();  // microtasks only
    assert.deepEqual(order, [...Array(64).keys()], 'settled within microtasks, in call order');
    for (const r of await Promise.all(calls)) assert.equal(r.status, 'ok');

    // Outcomes and failures likewise: consume twice, a bad argument, a closed store.
    const first = store.codes.consume(issued.value.code);
    const second = store.codes.consume(issued.value.code);
    const bad = store.codes.peek(42);
    let thrown;
    const closed = store.close().then(() => {
      try {
        return { call: store.codes.peek(issued.value.code) };
      } catch (e) {
        thrown = e;
        return undefined;
      }
    });
    assert.equal((await first).status, 'ok');
    assert.equal((await second).status, 'already_consumed');
    await h.rejectsWith(bad, 'invalid_argument');
    const afterClose = await closed;
    assert.equal(thrown, undefined, 'a call on a closed store rejects, never throws');
    await h.rejectsWith(afterClose.call, 'failed_precondition', 'store');
  } finally {
    await store.close();
  }
});

it('Redis: 2000 calls in flight settle in batches, each with its own result', async () => {
  const store = await h.authstore.open(`${redis.url}?prefix=batch${h.randomId()}:`, { keys: h.KEY });
  try {
    const n = 2000;
    const issued = await Promise.all(Array.from({ length: n }, (_, i) => store.codes.issue(h.grant({ subject: `batch-${i}` }))));
    const peeked = await Promise.all(issued.map((r) => store.codes.peek(r.value.code)));
    for (let i = 0; i < n; i++) {
      assert.equal(peeked[i].status, 'ok');
      assert.equal(peeked[i].value.grant.subject, `batch-${i}`);
      assert.equal(peeked[i].value.grant.grantId, issued[i].value.grantId);
    }
  } finally {
    await store.close();
  }
});

it('the addon loaded without index.js refuses calls with an Error that says so (no result builders)', async () => {
  const { Worker } = require('node:worker_threads');
  const path = require('node:path');
  const fs = require('node:fs');
  const pkg = path.join(__dirname, '..');
  // The file index.js loads (its candidates, in its order).
  const addon = [process.env.AUTHSTORE_NODE_ADDON, path.join(pkg, 'build', 'authstore.node'),
    path.join(pkg, '..', '..', 'build', 'bindings', 'node', 'authstore.node'),
    path.join(pkg, '..', '..', 'build-test', 'bindings', 'node', 'authstore.node')]
    .filter(Boolean).map((f) => path.resolve(f)).find((f) => fs.existsSync(f));
  const w = new Worker(`
    const { parentPort, workerData } = require('node:worker_threads');
    const native = require(workerData.addon);
    (async () => {
      const s = await native.open('memory://', { keys: { keys: [{ id: 1, secret: Buffer.alloc(32, 7) }] } });
      try {
        await s.codesIssue({ clientId: 'c', subject: 'u', redirectUri: 'https://a.example/cb', scope: 'openid' });
        parentPort.postMessage('resolved');
      } catch (e) {
        parentPort.postMessage('rejected: ' + e.message);
      }
    })().catch((e) => parentPort.postMessage('failed: ' + e.message));
  `, { eval: true, workerData: { addon } });
  const message = await new Promise((resolve, reject) => { w.once('message', resolve); w.once('error', reject); });
  await w.terminate();
  assert.match(message, /^rejected: authstore: load the addon through the package/);
});
