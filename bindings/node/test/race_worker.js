'use strict';
// A contender of race.test.js: opens its own Store, then for each round waits at the shared
// barrier and fires its promises at the round's code. Posts [{statuses, lastStart, firstSettle}].
const { workerData, parentPort } = require('node:worker_threads');
const authstore = require('..');

const { url, codes, barrier, workers, perWorker, secret } = workerData;
const arrived = new Int32Array(barrier);
const now = () => performance.timeOrigin + performance.now();

function wait(round) {
  Atomics.add(arrived, 0, 1);
  Atomics.notify(arrived, 0);
  const target = workers * (round + 1);
  const deadline = Date.now() + 10000;
  for (;;) {
    const seen = Atomics.load(arrived, 0);
    if (seen >= target) return;
    if (Date.now() > deadline) throw new Error('barrier: the other workers did not arrive in 10 s');
    Atomics.wait(arrived, 0, seen, 100);
  }
}

(async () => {
  const store = await authstore.open(url, { keys: { keys: [{ id: 1, secret: Buffer.from(secret) }] } });
  const out = [];
  for (let round = 0; round < codes.length; round++) {
    wait(round);
    const calls = [];
    let lastStart = 0;
    let firstSettle = Infinity;
    for (let i = 0; i < perWorker; i++) {
      lastStart = now();
      calls.push(store.codes.consume(codes[round]).then((r) => {
        firstSettle = Math.min(firstSettle, now());
        return r.status;
      }));
    }
    out.push({ statuses: await Promise.all(calls), lastStart, firstSettle });
  }
  await store.close();
  parentPort.postMessage(out);
})();
