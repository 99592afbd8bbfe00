// Payloads on SQLite (schema version 2, schema.h): each call is one transaction.
#include "backends/sqlite/sqlite_backend.h"

namespace authstore::internal::sqlite {
namespace {

Status payload_not_found() { return Status(StatusCode::kNotFound, "payload not found"); }

// The live entry at `key`, its grant checked (in the transaction of the caller).
Result<PayloadSlot> read_entry(Db& db, const std::string& key, Millis now, std::string_view op) {
  Stmt s = db.stmt(StmtId::kPayloadGet);
  s.blob(1, key).i64(2, now);
  const int rc = s.step();
  if (rc == SQLITE_DONE) return payload_not_found();
  if (rc != SQLITE_ROW) return db.error(rc, op);
  if (s.col_i64(3) != 0) return Status(StatusCode::kRevoked, "payload's grant was revoked");
  return PayloadSlot{key, s.col_blob(0), s.col_blob(1), s.col_i64(2)};
}

}  // namespace

void SqlitePayloads::put(const PayloadPut& req, Callback<Done> done) {
  e_.submit<Done>(
      true, kPayloads | (req.index_keys.empty() ? 0u : kPayloadIndex), req.now,
      [req](Db& db) -> Result<Done> {
        {
          Stmt s = db.stmt(StmtId::kPayloadPut);
          s.blob(1, req.key).blob(2, req.record).blob(3, req.grant_key).i64(4, req.expires_at);
          if (int rc = s.step(); rc != SQLITE_DONE) return db.error(rc, "payloads.upsert");
        }
        for (const auto& ik : req.index_keys) {
          Stmt s = db.stmt(StmtId::kPayloadIndexPut);
          s.blob(1, ik).blob(2, req.key).i64(3, req.expires_at);
          if (int rc = s.step(); rc != SQLITE_DONE) return db.error(rc, "payloads.upsert");
        }
        return Done{};
      },
      std::move(done));
}

void SqlitePayloads::get(const std::string& key, Millis now, Callback<PayloadSlot> done) {
  e_.submit<PayloadSlot>(
      false, 0, now, [key, now](Db& db) { return read_entry(db, key, now, "payloads.find"); },
      std::move(done));
}

void SqlitePayloads::get_indexed(const std::string& index_key, Millis now, Callback<PayloadSlot> done) {
  e_.submit<PayloadSlot>(
      false, 0, now,
      [index_key, now](Db& db) -> Result<PayloadSlot> {
        std::string target;
        {
          Stmt s = db.stmt(StmtId::kPayloadIndexGet);
          s.blob(1, index_key).i64(2, now);
          const int rc = s.step();
          if (rc == SQLITE_DONE) return payload_not_found();
          if (rc != SQLITE_ROW) return db.error(rc, "payloads.find_indexed");
          target = s.col_blob(0);
        }
        return read_entry(db, target, now, "payloads.find_indexed");
      },
      std::move(done));
}

// A select, then (when not consumed) an update of the row just read, under the write lock taken
// at BEGIN IMMEDIATE: nothing changes it in between (see SqliteCodes::consume).
void SqlitePayloads::consume(const std::string& key, Millis now, Callback<PayloadSlot> done) {
  e_.submit<PayloadSlot>(
      true, kPayloads, now,
      [key, now](Db& db) -> Result<PayloadSlot> {
        Result<PayloadSlot> slot = read_entry(db, key, now, "payloads.consume");
        if (!slot.ok() || slot->consumed_at != 0) return slot;
        Stmt s = db.stmt(StmtId::kPayloadConsume);
        s.blob(1, key).i64(2, now);
        if (int rc = s.step(); rc != SQLITE_DONE) return db.error(rc, "payloads.consume");
        if (db.changes() != 1) {
          return Status(StatusCode::kInternal, "sqlite: payloads.consume changed no row");
        }
        return slot;
      },
      std::move(done));
}

void SqlitePayloads::remove(const std::string& key, Millis now, Callback<Done> done) {
  e_.submit<Done>(
      true, kPayloads, now,
      [key](Db& db) -> Result<Done> {
        Stmt s = db.stmt(StmtId::kPayloadDelete);
        s.blob(1, key);
        if (int rc = s.step(); rc != SQLITE_DONE) return db.error(rc, "payloads.destroy");
        return Done{};
      },
      std::move(done));
}

void SqlitePayloads::revoke_grant(const std::string& grant_key, Millis until, Millis now,
                                  Callback<Done> done) {
  e_.submit<Done>(
      true, kPayloadGrants, now,
      [grant_key, until](Db& db) -> Result<Done> {
        Stmt s = db.stmt(StmtId::kPayloadRevokeGrant);
        s.blob(1, grant_key).i64(2, until);
        if (int rc = s.step(); rc != SQLITE_DONE) {
          return db.error(rc, "payloads.revoke_by_grant_id");
        }
        return Done{};
      },
      std::move(done));
}

void SqlitePayloads::grant_revoked(const std::string& grant_key, Millis now, Callback<bool> done) {
  e_.submit<bool>(
      false, 0, now,
      [grant_key, now](Db& db) -> Result<bool> {
        Stmt s = db.stmt(StmtId::kPayloadGrantRevoked);
        s.blob(1, grant_key).i64(2, now);
        const int rc = s.step();
        if (rc == SQLITE_DONE) return false;
        if (rc != SQLITE_ROW) return db.error(rc, "payloads.grant_revoked");
        return true;
      },
      std::move(done));
}

}  // namespace authstore::internal::sqlite
