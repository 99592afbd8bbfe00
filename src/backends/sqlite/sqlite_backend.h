// The SQLite backend: each store primitive of backends/backend.h as a fixed, short sequence of
// prepared statements run by the Engine (one transaction or one savepoint per operation).
// docs/sqlite.md lists the statements of every operation.
#pragma once

#include <memory>
#include <string>

#include "backends/backend.h"
#include "backends/factories.h"
#include "backends/sqlite/engine.h"
#include "backends/sqlite/sqlite_migration.h"

namespace authstore::internal::sqlite {

class SqliteCodes final : public CodeBackend {
 public:
  explicit SqliteCodes(Engine& e) : e_(e) {}
  void insert(const std::string& key, std::string record, std::string tombstone, Millis expires_at,
              Millis now, Callback<Done> done) override;
  void peek(const std::string& key, Millis now, Callback<CodeSlot> done) override;
  void consume(const std::string& key, Millis now, Callback<CodeSlot> done) override;

 private:
  Engine& e_;
};

class SqliteRefresh final : public RefreshBackend {
 public:
  explicit SqliteRefresh(Engine& e) : e_(e) {}
  void issue(const FamilyIssue& req, Callback<Done> done) override;
  void rotate(const RotateRequest& req, Callback<RotateResult> done) override;
  void peek(const std::string& route, const std::string& token_key, const std::string& family_key, Millis now,
            Callback<FamilyState> done) override;
  void revoke_token(const std::string& route, const std::string& token_key, const std::string& family_key,
                    Millis now, Callback<Done> done) override;
  void revoke_family(const std::string& route, const std::string& family_key, Millis now,
                     Callback<Done> done) override;
  void revoke_subject(const std::string& route, const std::string& subject_key, Millis now,
                      Millis remember_until, Callback<Done> done) override;
  void revoke_client(const std::string& route, const std::string& subject_key, const std::string& client_key,
                     Millis now, Millis remember_until, Callback<Done> done) override;
  void grant_live(const std::string& route, const std::string& subject_key, const std::string& client_key,
                  const std::string& grant_key, Millis issued_at, Millis now, Callback<Done> done) override;
  void revoke_grant(const std::string& route, const std::string& subject_key, const std::string& grant_key,
                    Millis until, Millis now, Callback<Done> done) override;
  void list(const std::string& route, const std::string& subject_key, Millis now,
            Callback<std::vector<FamilyState>> done) override;
  void store_jti(const JtiEntry& entry, Callback<Done> done) override;
  void consume_jti(const std::string& route, const std::string& subject_key, const std::string& jti_key,
                   Millis now, Callback<JtiResult> done) override;

 private:
  Engine& e_;
};

class SqliteSessions final : public SessionBackend {
 public:
  explicit SqliteSessions(Engine& e) : e_(e) {}
  void get(const std::string& route, const std::string& bucket_key, const std::string& session_key,
           Millis now, Callback<std::string> done) override;
  void upsert(const SessionWrite& req, Callback<Done> done) override;
  void remove(const std::string& route, const std::string& bucket_key, const std::string& session_key,
              Millis now, Callback<Done> done) override;
  void get_all(const std::string& route, const std::string& bucket_key, Millis now,
               Callback<std::vector<StoredSession>> done) override;
  void remove_all(const std::string& route, const std::string& bucket_key, Millis now,
                  Callback<std::int64_t> done) override;

 private:
  Engine& e_;
};

class SqliteReplay final : public ReplayBackend {
 public:
  explicit SqliteReplay(Engine& e) : e_(e) {}
  void reserve(const ReplayReservation& r, Millis kept_until, Millis now, Callback<Done> done) override;
  void release(const ReplayReservation& r, Millis now, Callback<Done> done) override;

 private:
  Engine& e_;
};

class SqliteClientTokens final : public ClientTokenBackend {
 public:
  explicit SqliteClientTokens(Engine& e) : e_(e) {}
  void put(const std::string& key, std::string blob, Millis expires_at, Millis now,
           Callback<Done> done) override;
  void get(const std::string& key, Millis now, Callback<std::string> done) override;
  void take(const std::string& key, Millis now, Callback<std::string> done) override;
  void remove(const std::string& key, Millis now, Callback<Done> done) override;
  void exists(const std::string& key, Millis now, Callback<bool> done) override;
  void list(const std::string& prefix, const std::string& cursor, std::size_t limit, Millis now,
            Callback<KeyList> done) override;

 private:
  Engine& e_;
};

class SqlitePayloads final : public PayloadBackend {
 public:
  explicit SqlitePayloads(Engine& e) : e_(e) {}
  void put(const PayloadPut& req, Callback<Done> done) override;
  void get(const std::string& key, Millis now, Callback<PayloadSlot> done) override;
  void get_indexed(const std::string& index_key, Millis now, Callback<PayloadSlot> done) override;
  void consume(const std::string& key, Millis now, Callback<PayloadSlot> done) override;
  void remove(const std::string& key, Millis now, Callback<Done> done) override;
  void revoke_grant(const std::string& grant_key, Millis until, Millis now, Callback<Done> done) override;
  void grant_revoked(const std::string& grant_key, Millis now, Callback<bool> done) override;

 private:
  Engine& e_;
};

class SqliteBackend final : public Backend {
 public:
  SqliteBackend(DbConfig config, std::unique_ptr<Db> first);
  const std::string& name() const override { return name_; }
  CodeBackend& codes() override { return codes_; }
  RefreshBackend& refresh() override { return refresh_; }
  SessionBackend& sessions() override { return sessions_; }
  ReplayBackend& replay() override { return replay_; }
  ClientTokenBackend& client_tokens() override { return client_tokens_; }
  PayloadBackend& payloads() override { return payloads_; }
  // The marker lives in table authstore_meta (schema.h); each call is one transaction.
  void read_marker(Callback<std::string> done) override;
  void swap_marker(const std::string& expected, const std::string& desired,
                   Callback<std::string> done) override;
  void sample_records(std::size_t limit,
                      Callback<std::vector<std::pair<std::string, std::string>>> done) override;
  // Operator views: one read transaction of COUNT(*) per table; file facts by stat() and PRAGMAs.
  void admin_counts(Millis now, Callback<StoreCounts> done) override;
  void admin_health(Callback<std::vector<std::pair<std::string, std::string>>> done) override;
  void admin_records(std::size_t limit,
                     Callback<std::vector<std::pair<std::string, std::string>>> done) override;
  migration::MigrationBackend* migration() override { return &migration_; }
  void close() override { engine_.close(); }
  Engine& engine() noexcept { return engine_; }

 private:
  std::string name_ = "sqlite";
  Engine engine_;
  SqliteCodes codes_{engine_};
  SqliteRefresh refresh_{engine_};
  SqliteSessions sessions_{engine_};
  SqliteReplay replay_{engine_};
  SqliteClientTokens client_tokens_{engine_};
  SqlitePayloads payloads_{engine_};
  SqliteMigration migration_{engine_};
};

// Parses what follows "sqlite://" into a DbConfig (kInvalidArgument, field "url").
Result<DbConfig> parse_url(std::string_view rest);

// A step failed: the mapped error for `what`.
inline Status step_error(Db& db, int rc, std::string_view what) { return db.error(rc, what); }

}  // namespace authstore::internal::sqlite

namespace authstore::internal {

// sqlite:///abs/path.db or sqlite://rel/path.db, with an optional ?query. `rest` is everything
// after "sqlite://" (e.g. "/var/lib/a.db?busy_timeout_ms=5000").
Result<std::unique_ptr<Backend>> make_sqlite_backend(std::string_view rest, const BackendConfig& config);
// Its entry in the registry (registered_backends.cc).
BackendRegistration sqlite_backend_registration();

}  // namespace authstore::internal
