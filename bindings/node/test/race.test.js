'use strict';
// The same code consumed by many concurrent promises: exactly one wins, on every backend.
// The first test starts every contender in one synchronous loop (on memory and SQLite they run on
// libuv's pool threads; on Redis they share one pipeline); no overlap is asserted there, since a
// promise cannot settle before that loop ends (such a check could not fail). Overlap is proven by
// the Redis test that holds all requests at a stopped server, and by the worker-thread race: SQLite
// and Redis race across worker threads, each with its own Store on the same data, released together
// by an Atomics barrier, with the rounds whose calls overlapped counted and asserted.
const { describe, it } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { Worker } = require('node:worker_threads');
const h = require('./helpers');

const ROUNDS = 25;
const CONTENDERS = 32;
const redis = h.redisFixture();

for (const name of ['memory', 'sqlite', 'redis']) {
  describe(name, () => {
    it(`${CONTENDERS} promises consume one code, ${ROUNDS} rounds: one wins, the rest already_consumed`, async () => {
      const store = await h.backends(redis).find((b) => b.name === name).open();
      try {
        for (let round = 0; round < ROUNDS; round++) {
          const issued = await store.codes.issue(h.grant());
          // Every contender is started in this one synchronous loop.
          const calls = [];
          for (let i = 0; i < CONTENDERS; i++) calls.push(store.codes.consume(issued.value.code));
          const results = await Promise.all(calls);
          const statuses = results.map((r) => r.status);
          assert.equal(statuses.filter((s) => s === 'ok').length, 1, `round ${round}: ${statuses}`);
          assert.equal(statuses.filter((s) => s === 'already_consumed').length, CONTENDERS - 1);
          for (const r of results.filter((x) => x.status === 'already_consumed')) {
            assert.equal(r.value.grant.grantId, issued.value.grantId);
          }
        }
      } finally {
        await store.close();
      }
    });

    if (name === 'redis') {
      it(`${CONTENDERS} requests held at a stopped server, then released at once, ${ROUNDS} rounds: one wins`, async () => {
        const store = await h.authstore.open(`${redis.url}?prefix=held${h.randomId()}:`, { keys: h.KEY });
        try {
          for (let round = 0; round < ROUNDS; round++) {
            const issued = await store.codes.issue(h.grant());
            let settled = 0;
            process.kill(redis.pid, 'SIGSTOP');
            let results;
            try {
              const calls = Array.from({ length: CONTENDERS }, () =>
                store.codes.consume(issued.value.code).then((r) => { settled++; return r; }));
              await h.sleep(20);
              // Every request is outstanding at the server at the same time: the overlap.
              assert.equal(settled, 0, 'no contender settled while the server was stopped');
              process.kill(redis.pid, 'SIGCONT');
              results = await Promise.all(calls);
            } finally {
              process.kill(redis.pid, 'SIGCONT');
            }
            const statuses = results.map((r) => r.status);
            assert.equal(statuses.filter((s) => s === 'ok').length, 1, `round ${round}: ${statuses}`);
            assert.equal(statuses.filter((s) => s === 'already_consumed').length, CONTENDERS - 1);
          }
        } finally {
          await store.close();
        }
      });
    }

    if (name === 'memory') return;  // a memory store is not shared between Store objects
    it(`4 worker threads x 8 promises consume one code, ${ROUNDS} rounds: one wins`, async () => {
      const url = name === 'sqlite'
        ? `sqlite://${h.tempDir()}/race.db`
        : `${redis.url}?prefix=race${h.randomId()}:`;
      const store = await h.authstore.open(url, { keys: h.KEY });
      const codes = [];
      for (let r = 0; r < ROUNDS; r++) codes.push((await store.codes.issue(h.grant())).value.code);
      const barrier = new SharedArrayBuffer(4);
      const workers = 4;
      const runs = await Promise.all(Array.from({ length: workers }, () => new Promise((resolve, reject) => {
        const w = new Worker(path.join(__dirname, 'race_worker.js'), {
          workerData: { url, codes, barrier, workers, perWorker: 8, secret: h.KEY.keys[0].secret },
        });
        w.once('message', resolve);
        w.once('error', reject);
        w.once('exit', (code) => { if (code !== 0) reject(new Error(`worker exited ${code}`)); });
      })));
      let overlapped = 0;
      for (let r = 0; r < ROUNDS; r++) {
        const rounds = runs.map((run) => run[r]);
        const statuses = rounds.flatMap((x) => x.statuses);
        assert.equal(statuses.filter((s) => s === 'ok').length, 1, `round ${r}: ${statuses}`);
        assert.equal(statuses.filter((s) => s === 'already_consumed').length, workers * 8 - 1);
        const lastStart = Math.max(...rounds.map((x) => x.lastStart));
        const firstSettle = Math.min(...rounds.map((x) => x.firstSettle));
        if (lastStart < firstSettle) overlapped++;
      }
      // Threads wake from the barrier at different times on a loaded 2-core machine (measured
      // here: 2 to 24 rounds of 25 fully overlapped): every round must have exactly one winner, and
      // at least one round must have had all 4 workers' calls in flight at once (every call
      // dispatched before the first settled). The single-thread race above overlaps every round.
      console.log(`# ${name}: workers overlapped in ${overlapped} of ${ROUNDS} rounds`);
      assert.ok(overlapped >= 1, `the workers' calls overlapped in only ${overlapped} of ${ROUNDS} rounds`);
      await store.close();
    });
  });
}
