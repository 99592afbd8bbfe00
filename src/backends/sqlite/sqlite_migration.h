// The SQLite side of the migration seam (backends/migration.h). sqlite_migration.cc says how.
#pragma once

#include <sqlite3.h>

#include "backends/migration.h"
#include "backends/sqlite/engine.h"

namespace authstore::internal::sqlite {

class SqliteMigration final : public migration::MigrationBackend {
 public:
  explicit SqliteMigration(Engine& e) : e_(e) {}
  Result<migration::Page> export_page(migration::Table t, const std::string& cursor, std::size_t max_rows,
                                      Millis now) override;
  Status import_rows(migration::Table t, const std::vector<migration::Row>& rows, Millis now) override;
  // The fence: triggers that abort every INSERT / UPDATE / DELETE of the store's tables with
  // "authstore: store fenced", which sqlite_error() maps to kFailedPrecondition (field "fence").
  Status set_fence(bool on) override;
  Result<bool> fenced() override;

 private:
  Engine& e_;
};

}  // namespace authstore::internal::sqlite
