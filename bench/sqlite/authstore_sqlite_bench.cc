// authstore's side of the comparison: the same operations through the public API on a SQLite
// file (tokens minted, secrets hashed, records signed, group commit), measured by the same
// driver as the bare program (bare_sqlite.cc). One Store per process, shared by its threads.
#include <unistd.h>

#include <atomic>
#include <memory>
#include <mutex>

#include "authstore/authstore.h"
#include "sqlite/driver.h"

int main(int argc, char** argv) {
  const bench::Args args = bench::parse(argc, argv);
  std::mutex mu;
  std::shared_ptr<authstore::Store> store;  // per process (created after fork)
  int store_proc = -1;
  auto get_store = [&](int proc) {
    std::lock_guard lock(mu);
    if (!store || store_proc != proc) {
      authstore::Options o;
      o.keys.keys = {{1, std::string(32, 'k')}};
      o.keys.route_secret = std::string(32, 'r');
      auto s = authstore::open("sqlite://" + args.path, o);
      if (!s.ok()) {
        std::fprintf(stderr, "open: %s\n", s.status().to_string().c_str());
        std::exit(1);
      }
      store = std::make_shared<authstore::Store>(std::move(s.value()));
      store_proc = proc;
    }
    return store;
  };
  return bench::run(args, "authstore", [&](int proc, int thread) -> bench::Worker {
    auto st = get_store(proc);
    const std::string op = args.op;
    auto n = std::make_shared<long long>(0);
    // Unique per run, so that repeated runs on one file never present the same jti again.
    const std::string who = std::to_string(::getpid()) + "-" + std::to_string(thread) + "-" +
                            std::to_string(authstore::SystemClock().now());
    return [st, op, n, who]() -> bool {
      authstore::Store& s = *st;
      ++*n;
      if (op == "codes") {
        authstore::CodeGrant g;
        g.client_id = "client-1";
        g.subject = "user-" + who;
        g.redirect_uri = "https://app.example/cb";
        g.scope = "openid profile";
        auto c = s.codes().issue(g);
        return c.ok() && s.codes().consume(c->code).ok();
      }
      if (op == "refresh") {
        authstore::RefreshGrant g;
        g.subject = "user-" + who + "-" + std::to_string(*n);
        g.client_id = "client-1";
        g.scope = "openid offline_access";
        auto t = s.refresh().issue(g);
        return t.ok() && s.refresh().rotate(t->token, "client-1").ok();
      }
      if (op == "sessions") {
        authstore::Session ss;
        ss.id = authstore::SessionStore::new_session_id();
        ss.user_id = "user-" + who + "-" + std::to_string(*n);
        ss.refresh_expires_at = authstore::SystemClock().now() + 3'600'000;
        auto u = s.sessions().upsert(ss);
        return u.ok() && s.sessions().get(ss.id, ss.user_id, ss.type).ok();
      }
      if (op == "replay") {
        auto r = s.replay().reserve("https://issuer.example", "jti-" + who + "-" + std::to_string(*n),
                                    authstore::SystemClock().now() + 60'000);
        return r.ok();
      }
      std::fprintf(stderr, "unknown op %s (codes, refresh, sessions, replay)\n", op.c_str());
      std::exit(2);
    };
  });
}
