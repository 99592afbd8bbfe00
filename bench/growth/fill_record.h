// The record of a growth_bench fill (--reuse), kept in a small text file beside a SQLite store's
// database file ("<db>.growth-fill"), so that a later run can time the store without filling it
// again. What a reuse must know and check: how many records of which kinds, named how (the timed
// reads pick filled records by their names), when they expire, which database file was filled
// (device and inode: a file replaced or deleted since is not the fill), and the current tokens of
// the families sampled for rotation (they change with every rotation: rewritten after each run's
// rotation timing; `sample_spent` is set while it runs, so that a run that died mid-rotation is
// not followed by rotations of spent tokens, which would read as reuse and revoke the families).
// See growth_bench.cc's header for how a run uses it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace growth {

struct FillRecord {
  long n = 0;                      // live records filled (--n-small / --n-big)
  long per_kind = 0;               // n / 5 (at least 1)
  std::string layout;              // kinds, names and lifetimes of the fill (kFillLayout in growth_bench.cc)
  std::string run_id;              // the filling run's id (names of its replay reservations)
  std::int64_t filled_at_ms = 0;   // Unix ms when the fill began
  std::int64_t expires_at_ms = 0;  // the earliest expiry of a filled record
  std::uint64_t db_dev = 0;        // the database file filled
  std::uint64_t db_ino = 0;
  long timed_runs = 0;        // runs that timed the store since (their records live on)
  long added_records = 0;     // records their timed calls added (codes, rotated tokens, jtis, families)
  bool sample_spent = false;  // a run was rotating the sample (its tokens may be spent)
  std::vector<std::string> rotate_tokens;  // current tokens of the sampled families
};

// The database file of a sqlite:// URL (the path before any '?'), or "" for another scheme.
// A path with a percent-escape is refused (error set): growth_bench would have to decode it as
// the library does, and run.sh never writes one.
std::string sqlite_db_path(const std::string& url, std::string* error);

// The record's file for a database file.
inline std::string record_path(const std::string& db_path) { return db_path + ".growth-fill"; }

// Reads a record: false with *error set when the file cannot be read or is malformed.
bool read_record(const std::string& path, FillRecord* out, std::string* error);
// Writes a record whole (a temporary file renamed over the old one): false with *error set.
bool write_record(const std::string& path, const FillRecord& record, std::string* error);

}  // namespace growth
