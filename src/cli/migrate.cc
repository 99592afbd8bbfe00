// `authstore migrate`: moves every live record of a store to another (authstore/migrate.h), with a
// progress line on a terminal, a table (or --json) at the end, and one clear line per failure.
#include "authstore/migrate.h"

#include <unistd.h>

#include <algorithm>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/cli.h"

namespace authstore::cli {
namespace {

using nlohmann::json;

std::string redact_both(std::string text, const MigrateCommand& c) {
  return redact(redact(std::move(text), c.from), c.to);
}

int fail(const MigrateCommand& c, const std::string& what, const Status& status) {
  std::string msg = what + ": " + status.to_string();
  std::replace(msg.begin(), msg.end(), '\n', ' ');
  std::cerr << "error: " << redact_both(msg, c) << "\n";
  return 1;
}

json report_json(const MigrateReport& r) {
  json tables = json::array();
  for (const auto& t : r.tables) {
    tables.push_back({{"table", t.table},
                      {"rows", t.rows},
                      {"copied", t.copied},
                      {"resealed", t.resealed},
                      {"unreadable", t.unreadable},
                      {"mismatched", t.mismatched},
                      {"done", t.done}});
  }
  return {{"source_backend", r.source_backend},
          {"target_backend", r.target_backend},
          {"source_fenced", r.source_fenced},
          {"dry_run", r.dry_run},
          {"verified", r.verified},
          {"resumed", r.resumed},
          {"rows", r.rows},
          {"copied", r.copied},
          {"unreadable", r.unreadable},
          {"mismatched", r.mismatched},
          {"skipped", r.skipped},
          {"first_mismatch", r.first_mismatch},
          {"tables", tables}};
}

void print_table(const MigrateReport& r, bool verify) {
  std::cout << std::left << std::setw(22) << "table" << std::right << std::setw(10) << "rows" << std::setw(10)
            << "copied" << std::setw(10) << "resealed" << std::setw(12) << "unreadable";
  if (verify) std::cout << std::setw(12) << "mismatched";
  std::cout << "\n";
  for (const auto& t : r.tables) {
    std::cout << std::left << std::setw(22) << t.table << std::right << std::setw(10) << t.rows
              << std::setw(10) << t.copied << std::setw(10) << t.resealed << std::setw(12) << t.unreadable;
    if (verify) std::cout << std::setw(12) << t.mismatched;
    std::cout << "\n";
  }
}

}  // namespace

int run_migrate(const MigrateCommand& c) {
  if (c.from.empty()) {
    std::cerr << "error: migrate needs --from URL (see authstore help migrate)\n";
    return 2;
  }
  Options options;  // both stores need the key ring that wrote the source
  if (Status ready = prepare_operator_open(c.from, c.key_file, options); !ready.ok()) {
    if (ready.field() == "store_files") return 1;  // check_store_files() printed why
    return fail(c, "cannot open the source " + c.from, ready);
  }
  if (c.lift_fence) {
    Status s = lift_fence(c.from, options);
    if (!s.ok()) return fail(c, "cannot lift the fence of " + c.from, s);
    if (c.json) {
      std::cout << json{{"fenced", false}}.dump() << "\n";
    } else {
      std::cout << "the fence of " << redact(c.from, c.from) << " is lifted: the store takes writes again\n";
    }
    return 0;
  }
  if (c.to.empty()) {
    std::cerr << "error: migrate needs --to URL (see authstore help migrate)\n";
    return 2;
  }
  if (!check_store_files(c.to)) return 1;

  MigrateOptions how;
  how.dry_run = c.dry_run;
  how.verify = c.verify;
  how.source_stopped = c.source_stopped;
  how.resume_file = c.resume_file;
  how.page_rows = c.page_rows;
  const bool tty = ::isatty(STDERR_FILENO) == 1;
  if (tty) {
    how.progress = [](const MigrateProgress& p) {
      std::cerr << "\rmigrate: " << std::left << std::setw(20) << p.table << " table " << (p.table_index + 1)
                << "/" << p.table_count << ", " << p.rows << " rows read" << std::flush;
    };
  }
  Result<MigrateReport> r =
      c.verify_only ? verify_migration(c.from, c.to, options, how) : migrate(c.from, c.to, options, how);
  if (tty) std::cerr << "\r\033[K" << std::flush;
  if (!r.ok()) {
    std::string what = c.verify_only ? "verify failed" : c.dry_run ? "dry run failed" : "migrate failed";
    if (!c.verify_only && !c.dry_run && !c.resume_file.empty()) what += " (the same command continues it)";
    return fail(c, what, r.status());
  }
  const MigrateReport& rep = r.value();
  const bool verified = c.verify || c.verify_only;
  if (c.json) {
    std::cout << report_json(rep).dump(2) << "\n";
  } else {
    std::cout << (c.verify_only ? "verify "
                  : c.dry_run   ? "dry run "
                                : "migrated ")
              << rep.source_backend << " -> " << rep.target_backend << "\n";
    print_table(rep, verified);
    std::cout << "rows " << rep.rows << ", copied " << rep.copied << ", unreadable " << rep.unreadable
              << ", skipped " << rep.skipped;
    if (verified) std::cout << ", mismatched " << rep.mismatched;
    std::cout << "\n";
    if (!c.dry_run && !c.verify_only) {
      std::cout << (rep.source_fenced
                        ? "the source is fenced: it refuses every change from now on (lift it with "
                          "authstore migrate --lift-fence --from URL)\n"
                        : "the source was not fenced (--source-stopped): keep its writers stopped\n");
    }
    if (!rep.first_mismatch.empty()) std::cout << "first mismatch: " << rep.first_mismatch << "\n";
  }
  if (verified && rep.mismatched > 0) {
    std::cerr << "error: the target differs from the source in " << rep.mismatched << " rows\n";
    return 3;
  }
  return 0;
}

}  // namespace authstore::cli
