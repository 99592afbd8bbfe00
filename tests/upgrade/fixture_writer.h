// Writes the upgrade fixture's content into a store through the public API only, and lists the
// random values it issued (tokens, session ids, verifiers, reservation owners) as "name value"
// lines. Used by make_fixture (which produced tests/fixtures/upgrade/ from the commit named there)
// and by the upgrade test itself, which writes a fresh store with the code under test as a
// control: every check must pass on freshly written data before its failure on the committed
// fixture can mean "old data no longer works".
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "authstore/status.h"

namespace authstore::upgrade {

using FixtureLog = std::vector<std::pair<std::string, std::string>>;

struct WriteConfig {
  std::string url;  // sqlite:///... or redis://...?prefix=...
  // A key file. If it does not exist it is created (create_key_file), then given a second key:
  // "route", "key 1", "key 2", "current 2". Phase 1 of the writer runs with key 1 current (a
  // temporary copy of the file saying "current 1"), phase 2 with the file as it is, so the store
  // holds records and tokens of both key ids. Empty: keys come from AUTHSTORE_SECRET (one key,
  // id 1, no route line) in both phases.
  std::string key_file;
};

// Writes everything (see fixture_writer.cc for the list) with a ManualClock at kFixtureTime.
// Appends the issued values to `log`. Any unexpected answer is an error naming the step.
Status write_fixture(const WriteConfig& config, FixtureLog& log);

// "name value" lines (a '#' line is a comment; "[section]" lines start a section, whose name
// prefixes the following names as "section/name").
std::string format_log(const FixtureLog& log);
Result<std::map<std::string, std::string>> parse_log(const std::string& text);

}  // namespace authstore::upgrade
