#include "model/generator.h"

#include <algorithm>
#include <initializer_list>

#include "model/model.h"

namespace model {
namespace {

// splitmix64: fixed, portable, and good enough to pick operations.
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : s_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (s_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  int below(int n) { return static_cast<int>(next() % static_cast<std::uint64_t>(n)); }
  bool chance(int percent) { return below(100) < percent; }
  template <class T>
  T pick(std::initializer_list<T> xs) {
    return xs.begin()[below(static_cast<int>(xs.size()))];
  }

 private:
  std::uint64_t s_;
};

constexpr Millis kMinute = 60'000, kHour = 3'600'000, kDay = 24 * kHour;

class Generator {
 public:
  Generator(std::uint64_t seed, Config cfg) : rng_(seed), model_(cfg) {}

  Op next() {
    Op op;
    const int r = rng_.below(100);
    if (r < 11) {
      op = advance();
    } else if (r < 49) {
      op = refresh();
    } else if (r < 56) {
      op = payloads();
    } else if (r < 66) {
      op = codes();
    } else if (r < 80) {
      op = sessions();
    } else if (r < 88) {
      op = replay();
    } else {
      op = client_tokens();
    }
    op.id = next_id_++;
    model_.apply(op);
    return op;
  }

 private:
  Op make(Kind k) {
    Op op;
    op.kind = k;
    return op;
  }
  int variant() { return rng_.chance(4) ? kMalformed : rng_.chance(4) ? kEdited : kAsMinted; }
  // A handle among `n`, recent ones more often.
  int handle(int n) {
    if (n == 0) return 0;
    if (rng_.chance(60)) return n - 1 - rng_.below(n < 4 ? n : 4);
    return rng_.below(n);
  }

  Op advance() {
    Op op = make(Kind::kAdvance);
    const Millis now = model_.now();
    if (rng_.chance(70)) {
      auto b = model_.boundaries();
      std::sort(b.begin(), b.end());
      b.erase(std::unique(b.begin(), b.end()), b.end());
      if (!b.empty()) {
        // Mostly the nearest boundaries: far ones (a 90-day lifetime) end everything at once.
        const int n = static_cast<int>(b.size());
        const int i = rng_.chance(80) ? rng_.below(n < 3 ? n : 3) : rng_.below(n);
        const Millis target =
            b[static_cast<std::size_t>(i)] + (rng_.chance(15) ? 1000 : 0) + rng_.pick<Millis>({-1, 0, 1});
        if (target > now) {
          op.v = target - now;
          return op;
        }
      }
    }
    op.v = rng_.chance(85) ? rng_.pick<Millis>({1, 2, 250, 1000, 2500, 4999, 5000, 5001})
                           : rng_.pick<Millis>({kMinute, 10 * kMinute, kHour, kDay});
    return op;
  }

  Op refresh() {
    const int r = rng_.below(100);
    const int tokens = model_.tokens();
    if (tokens == 0 || r < 14) {
      Op op = make(Kind::kRIssue);
      op.a = rng_.below(kUsers);
      op.b = rng_.below(kClients);
      op.c = rng_.below(kGrants + 1) - 1;
      op.v = rng_.pick<Millis>({0, kMinute, 10 * kMinute, kHour, kHour});
      op.w = rng_.chance(3) ? 400 * kDay : rng_.pick<Millis>({0, 2 * kMinute, 2 * kHour, kDay, kDay});
      return op;
    }
    if (r < 50) {
      Op op = make(Kind::kRRotate);
      const int i = handle(tokens);
      op.a = model_.token_handle(i);
      op.b = rng_.chance(90) ? model_.token_client(i) : rng_.below(kClients);
      op.d = variant();
      return op;
    }
    if (r < 56) {
      Op op = make(Kind::kRConsume);
      const int i = handle(tokens);
      op.a = model_.token_handle(i);
      op.b = rng_.chance(30) ? -1 : rng_.chance(85) ? model_.token_client(i) : rng_.below(kClients);
      op.d = variant();
      return op;
    }
    if (r < 64) {
      Op op = make(Kind::kRPeek);
      op.a = model_.token_handle(handle(tokens));
      op.d = variant();
      return op;
    }
    if (r < 67) {
      Op op = make(Kind::kRRevoke);
      op.a = model_.token_handle(handle(tokens));
      op.d = variant();
      return op;
    }
    if (r < 70) {
      Op op = make(Kind::kRRevokeFamily);
      op.a = model_.family_handle(handle(model_.families()));
      op.d = rng_.chance(5) ? kMalformed : kAsMinted;
      return op;
    }
    if (r < 72) {
      Op op = make(Kind::kRRevokeSubject);
      op.a = rng_.below(kUsers);
      return op;
    }
    if (r < 75) {
      Op op = make(Kind::kRRevokeClient);
      op.a = rng_.below(kUsers);
      op.b = rng_.below(kClients);
      return op;
    }
    if (r < 78) {
      Op op = make(Kind::kRRevokeGrant);
      op.a = rng_.below(kUsers);
      op.c = rng_.below(kGrants);
      return op;
    }
    if (r < 86) {
      Op op = make(Kind::kRList);
      op.a = rng_.below(kUsers);
      return op;
    }
    if (r < 93) {
      Op op = make(Kind::kJStore);
      op.a = rng_.below(kJtis);
      op.b = rng_.below(2);
      op.c = rng_.below(kClients);
      op.v = rng_.chance(3) ? 0 : rng_.pick<Millis>({kMinute, 10 * kMinute, kHour});
      return op;
    }
    Op op = make(Kind::kJConsume);
    op.a = rng_.below(kJtis);
    op.b = rng_.below(2);
    return op;
  }

  Op codes() {
    const int n = model_.codes();
    if (n == 0 || rng_.chance(35)) {
      Op op = make(Kind::kCIssue);
      op.a = rng_.below(kUsers);
      op.b = rng_.below(kClients);
      op.c = rng_.below(kGrants + 1) - 1;
      op.d = rng_.below(kVerifiers + 1) - 1;
      op.v = rng_.chance(3) ? 700'000 : rng_.pick<Millis>({0, kMinute, 5 * kMinute});
      return op;
    }
    Op op = make(rng_.chance(50) ? Kind::kCPeek : Kind::kCConsume);
    const int i = handle(n);
    op.a = model_.code_handle(i);
    op.d = variant();
    const int v = model_.code_verifier(i);
    op.b = v < 0 ? -1 : rng_.chance(75) ? v : rng_.below(kVerifiers);
    return op;
  }

  Op sessions() {
    const int r = rng_.below(100);
    Op op;
    op.a = rng_.below(2);  // two users, so that buckets fill up and caps bite
    op.b = rng_.below(kTypes);
    op.c = rng_.below(kSessions);
    if (r < 45) {
      op.kind = Kind::kSUpsert;
      const std::int64_t lock = model_.session_lock(op.a, op.b, op.c);
      op.d = static_cast<int>(rng_.chance(75) ? lock : rng_.pick<std::int64_t>({0, 1, 2, lock + 1}));
      const Millis now = model_.now();
      // refresh_expires_at = kSessions-residue of the session: no two sessions tie on it, so the
      // order of get_all and the eviction victim are always fixed by the contract.
      const Millis base = now + rng_.pick<Millis>({2000, kMinute, kHour, kDay});
      op.v = rng_.chance(3) ? now : (base / 64) * 64 + 64 + op.c;
      op.w = rng_.chance(50) ? 0 : op.v - 1000;
    } else if (r < 65) {
      op.kind = Kind::kSGet;
    } else if (r < 77) {
      op.kind = Kind::kSDelete;
    } else if (r < 93) {
      op.kind = Kind::kSGetAll;
    } else {
      op.kind = Kind::kSDeleteAll;
    }
    return op;
  }

  Op payloads() {
    const int r = rng_.below(100);
    Op op;
    op.a = rng_.below(kPayloadIds);
    op.b = rng_.below(kPayloadModels);
    if (r < 35) {
      op.kind = Kind::kYPut;
      op.c = rng_.chance(30) ? -1 : rng_.below(kGrants);
      op.v = rng_.pick<Millis>({0, 0, kMinute, kHour, kDay, kMinute, -1, 30 * kDay + 1});
    } else if (r < 65) {
      op.kind = Kind::kYFind;
    } else if (r < 90) {
      op.kind = Kind::kYConsume;
    } else {
      op.kind = Kind::kYRevokeGrant;
      op.c = rng_.below(kGrants);
    }
    return op;
  }

  Op replay() {
    const int n = model_.reservations();
    if (n == 0 || rng_.chance(65)) {
      Op op = make(Kind::kPReserve);
      op.a = rng_.below(kIssuers);
      op.b = rng_.below(kReplayJtis);
      op.v = model_.now() +
             rng_.pick<Millis>({-60'001, -60'000, -30'000, -1000, 0, 5000, 10 * kMinute, kDay, kDay + 1});
      return op;
    }
    Op op = make(Kind::kPRelease);
    op.a = model_.reservation_handle(handle(n));
    op.d = rng_.chance(10) ? kMalformed : kAsMinted;
    return op;
  }

  Op client_tokens() {
    const int r = rng_.below(100);
    const Millis now = model_.now();
    Op op;
    op.a = rng_.below(kCtKeys);
    auto record = [&] {
      op.c = rng_.below(2);
      op.v = rng_.pick<Millis>({0, 0, 0, -1, kMinute, kHour});
      op.w = rng_.pick<Millis>({0, now + kMinute, now + kHour, now - 1000});
      op.x = rng_.pick<Millis>({0, now + 2 * kHour, now + 2 * kMinute});
    };
    if (r < 25) {
      op.kind = Kind::kTSave;
      record();
    } else if (r < 37) {
      op.kind = Kind::kTGet;
    } else if (r < 43) {
      op.kind = Kind::kTHas;
    } else if (r < 50) {
      op.kind = Kind::kTRemove;
    } else if (r < 60) {
      op.kind = Kind::kTList;
      op.a = rng_.below(kCtPrefixes);
      op.b = 1 + rng_.below(3);
    } else if (r < 66) {
      op.kind = Kind::kTSaveCreds;
      op.a = rng_.below(kServers);
      op.v = rng_.pick<Millis>({0, -1, kMinute});
    } else if (r < 70) {
      op.kind = rng_.chance(70) ? Kind::kTGetCreds : Kind::kTRemoveCreds;
      op.a = rng_.below(kServers);
    } else if (r < 78) {
      op.kind = Kind::kTSavePkce;
      op.a = rng_.below(2);
      op.b = rng_.below(kStates);
      op.c = rng_.below(kVerifiers);
      op.v = rng_.pick<Millis>({0, kMinute, -1});
    } else if (r < 84) {
      op.kind = Kind::kTTakePkce;
      op.a = rng_.below(2);
      op.b = rng_.below(kStates);
    } else if (r < 92) {
      op.kind = Kind::kTSaveAccess;
      op.a = rng_.below(2);
      op.b = rng_.below(kUrls);
      record();
    } else {
      op.kind = rng_.chance(70) ? Kind::kTGetAccess : Kind::kTRemoveAccess;
      op.a = rng_.below(2);
      op.b = rng_.below(kUrls);
    }
    return op;
  }

  Rng rng_;
  Model model_;
  int next_id_ = 0;
};

}  // namespace

Sequence generate(std::uint64_t seed, int length) {
  Rng pick(seed ^ 0x5eedULL);
  Sequence s;
  s.seed = seed;
  s.config.grace_ms = pick.pick<Millis>({0, 5000, 5000, 30'000});
  s.config.session_cap = static_cast<std::size_t>(pick.pick<int>({0, 0, 2, 3}));
  if (length < 0) length = 20 + pick.below(61);
  Generator g(seed, s.config);
  s.ops.reserve(static_cast<std::size_t>(length));
  for (int i = 0; i < length; ++i) s.ops.push_back(g.next());
  return s;
}

}  // namespace model
