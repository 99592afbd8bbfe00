// Moving every live record of a store to another store (`authstore migrate`): a deployment that
// outgrows SQLite moves to Redis (or back) without logging anybody out. docs/operations.md,
// "Moving a store", is the cutover procedure.
//
// Additive to the frozen API (docs/api.md, "Changes since the freeze"): nothing here changes the
// other headers.
//
// What is copied: every record unexpired at the start of its table's copy, with the state the
// stores keep beside it: codes with their consumed state, refresh families with their current
// token, grace candidates, spent tokens, generations, revoked grants and logouts, JWT refresh ids,
// sessions with lock versions and tombstones, replay reservations, client tokens, payloads with
// their indexes and revoked grants. Each keeps its absolute expiry (so its remaining lifetime).
// Records are opened with the key ring and sealed again for the target: a record of version 2
// binds its store's id (docs/format.md section 4) and would not open in another store. A record
// that does not open under the ring reads as not found on the source; it is not copied (counted
// as `unreadable`), so the target answers not found too.
//
// The fence: before copying, the source is fenced: every later change of it, by any process,
// answers kFailedPrecondition (field "fence") until lift_fence(); reads keep working. So a code
// consumed, a token rotated or a session changed on the source during or after the copy is
// refused there, and cannot leave the target holding a state the source already moved past.
// SQLite fences (triggers in the file); a Redis server cannot refuse authstore's native commands
// by a marker, so a Redis source is never fenced by authstore: migrate() then refuses
// (kFailedPrecondition, field "fence") unless MigrateOptions::source_stopped says the operator has
// stopped every writer of it.
//
// The target must hold no records (StoreAdmin::counts() all zero), unless the run resumes one
// that stopped (resume_file names the same source and target). Both stores are opened with the
// same Options (the same key ring: storage keys are keyed hashes and must not change).
//
// Thread-safety: migrate() and verify_migration() block their caller; run one migration of a
// source at a time. Errors: those of open() for either URL; kFailedPrecondition (field "fence":
// the source cannot be fenced; field "target": the target holds records; field "resume": the
// resume file names other stores; field "migration": a backend without migration: memory://,
// Redis Cluster), the backends' errors while copying (the run stops; resume it).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "authstore/export.h"
#include "authstore/options.h"
#include "authstore/status.h"

namespace authstore {

// Per table of the logical model (docs/operations.md lists them: the SQLite schema's tables).
struct MigrateTableReport {
  std::string table;
  std::int64_t rows = 0;        // rows read from the source (live at the time of reading)
  std::int64_t copied = 0;      // rows written to the target (0 on a dry run)
  std::int64_t resealed = 0;    // records opened and sealed again for the target
  std::int64_t unreadable = 0;  // rows whose record does not open under the key ring: not copied
  std::int64_t mismatched = 0;  // verify: rows the two stores answer differently for
  bool done = false;
};

struct MigrateProgress {
  std::string table;    // the table being copied
  int table_index = 0;  // 0-based, of table_count
  int table_count = 0;
  std::int64_t rows = 0;  // rows read so far in all tables
};

struct MigrateOptions {
  bool dry_run = false;         // read and check everything (records opened and resealed), write
                                // nothing, fence nothing
  bool verify = false;          // after the copy: every source row compared with the target's
  bool source_stopped = false;  // the operator stopped every writer of a source that cannot be
                                // fenced (Redis); required for such a source
  // A file recording how far the copy got (table, cursor); a run given the file of one that
  // stopped continues from there. Empty: no resume file.
  std::string resume_file;
  std::size_t page_rows = 500;  // rows per export page and import batch (1..100000)
  // Called after each page from the migrating thread.
  std::function<void(const MigrateProgress&)> progress;
};

struct MigrateReport {
  std::string source_backend, target_backend;
  bool source_fenced = false;  // the source was fenced by this run (or an earlier one)
  bool dry_run = false;
  bool verified = false;  // verify ran and found no mismatch
  bool resumed = false;   // continued from a resume file
  std::vector<MigrateTableReport> tables;
  std::int64_t rows = 0, copied = 0, unreadable = 0, mismatched = 0;
  // Entries the source's export skipped because they do not parse as any row (a garbled field or
  // a key of the wrong type, on Redis): they read as not found or revoked there, and are not copied.
  std::int64_t skipped = 0;
  // The first mismatch verify found, in words (table and key as base64url; never a secret).
  std::string first_mismatch;
};

// Copies every live record of `from_url` to `to_url` (see above).
AUTHSTORE_EXPORT Result<MigrateReport> migrate(std::string_view from_url, std::string_view to_url,
                                               const Options& options, const MigrateOptions& how);

// Compares every live row of the source with the target (records compared by their opened
// contents; state and expiries exactly): the report's mismatched counts. Writes nothing.
AUTHSTORE_EXPORT Result<MigrateReport> verify_migration(std::string_view from_url, std::string_view to_url,
                                                        const Options& options,
                                                        const MigrateOptions& how = {});

// Lifts the fence of a store (a migration that is abandoned: the source becomes writable again).
AUTHSTORE_EXPORT Status lift_fence(std::string_view url, const Options& options);
// Whether a store is fenced.
AUTHSTORE_EXPORT Result<bool> is_fenced(std::string_view url, const Options& options);

}  // namespace authstore
