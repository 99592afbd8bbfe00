// `authstore bench` results: the table, the redis-benchmark comparison, --json and --plot (SVG).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/bench_internal.h"

namespace authstore::cli {
namespace {

using nlohmann::json;

constexpr double kPercentiles[] = {50, 90, 99, 99.9};

double us(std::uint64_t ns) { return static_cast<double>(ns) / 1000.0; }

// The percentile plot's x positions: x = log10(1 / (1 - p)), p in [0, 1), up to what the count supports.
double max_x(std::uint64_t count) {
  return count <= 1 ? 1.0 : std::clamp(std::ceil(std::log10(static_cast<double>(count))), 1.0, 5.0);
}

std::string xml_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

}  // namespace

void print_table(const BenchReport& report) {
  std::printf("%-8s %12s %10s %10s %10s %10s %10s %12s %8s\n", "op", "ops/s", "p50 us", "p90 us", "p99 us",
              "p99.9 us", "max us", "ok", "failed");
  for (const auto& r : report.ops) {
    const auto& h = r.latency;
    std::printf("%-8s %12.0f %10.1f %10.1f %10.1f %10.1f %10.1f %12lld %8lld\n", r.op.c_str(),
                r.median_ops_per_sec(), us(h.value_at_percentile(50)), us(h.value_at_percentile(90)),
                us(h.value_at_percentile(99)), us(h.value_at_percentile(99.9)), us(h.max()),
                static_cast<long long>(r.ok()), static_cast<long long>(r.failed()));
  }
  std::printf(
      "(ops/s: successful operations of the median run; latencies: every successful operation of every\n"
      " run, from a log-linear histogram within 0.8 %%; code = issue+consume pairs, session = upsert+get\n"
      " pairs, rotate = rotations of the current token, reserve = fresh JTIs)\n");
  for (const auto& r : report.ops) {
    if (r.failed() == 0) continue;
    std::printf("errors %s: %lld (%.2f %%):", r.op.c_str(), static_cast<long long>(r.failed()),
                100.0 * r.failed_fraction());
    for (const auto& [status, n] : r.errors_by_status)
      std::printf(" %s %lld", status.c_str(), static_cast<long long>(n));
    std::printf("; first: %s\n", r.first_error.c_str());
  }
  if (!report.cleanup.empty()) std::printf("cleanup: %s\n", report.cleanup.c_str());
}

void print_reference(const BenchReport& report) {
  if (!report.config.vs_redis_benchmark) return;
  std::printf("\nvs redis-benchmark (same server, -c %d -P %d, the commands captured with MONITOR):\n",
              report.config.threads, report.config.in_flight);
  std::printf("%-8s %12s %16s %7s\n", "op", "authstore", "redis-benchmark", "ratio");
  for (const auto& r : report.ops) {
    const auto& ref = r.reference;
    if (!ref.available) {
      std::printf("%-8s %12.0f %16s %7s  (%s)\n", r.op.c_str(), r.median_ops_per_sec(), "-", "-",
                  ref.why_not.c_str());
      continue;
    }
    std::printf("%-8s %12.0f %16.0f %7.2f\n", r.op.c_str(), r.median_ops_per_sec(), ref.ops_per_sec,
                ref.ops_per_sec > 0 ? r.median_ops_per_sec() / ref.ops_per_sec : 0.0);
    for (std::size_t i = 0; i < ref.commands.size(); ++i) {
      std::printf("  %.0f/s: %s\n", i < ref.command_ops_per_sec.size() ? ref.command_ops_per_sec[i] : 0.0,
                  ref.commands[i].c_str());
    }
    if (!ref.note.empty()) std::printf("  %s\n", ref.note.c_str());
  }
}

bool write_json(const BenchReport& report, const std::string& path, std::string& error) {
  const auto& c = report.config;
  json doc = {
      {"store", report.store},        {"store_note", report.store_note}, {"backend", report.backend},
      {"threads", c.threads},         {"in_flight", c.in_flight},        {"max_ops", c.max_ops},
      {"max_seconds", c.max_seconds}, {"repetitions", c.repetitions},    {"passed", report.failure.empty()},
      {"failure", report.failure},    {"cleanup", report.cleanup}};
  json ops = json::array();
  for (const auto& r : report.ops) {
    const auto& h = r.latency;
    json runs = json::array();
    for (const auto& run : r.runs) {
      runs.push_back({{"ok", run.ok},
                      {"failed", run.failed},
                      {"seconds", run.seconds},
                      {"ops_per_sec", run.ops_per_sec()}});
    }
    json latency = {
        {"count", h.count()}, {"min", us(h.min())}, {"mean", h.mean() / 1000.0}, {"max", us(h.max())}};
    for (double p : kPercentiles) {
      char name[16];
      std::snprintf(name, sizeof name, "p%g", p);
      latency[name] = us(h.value_at_percentile(p));
    }
    json curve = json::array();  // [percentile, us] points of the plot
    for (double x = 0; x <= max_x(h.count()) + 1e-9 && h.count() > 0; x += 0.05) {
      const double p = 100.0 * (1.0 - std::pow(10.0, -x));
      curve.push_back({p, us(h.value_at_percentile(p))});
    }
    latency["percentile_curve"] = std::move(curve);
    json op = {{"op", r.op},
               {"ops_per_sec", r.median_ops_per_sec()},
               {"ok", r.ok()},
               {"failed", r.failed()},
               {"failed_fraction", r.failed_fraction()},
               {"errors_by_status", r.errors_by_status},
               {"first_error", r.first_error},
               {"runs", std::move(runs)},
               {"latency_us", std::move(latency)}};
    if (c.vs_redis_benchmark) {
      const auto& ref = r.reference;
      op["redis_benchmark"] = {
          {"available", ref.available},
          {"why_not", ref.why_not},
          {"commands", ref.commands},
          {"command_ops_per_sec", ref.command_ops_per_sec},
          {"ops_per_sec", ref.ops_per_sec},
          {"ratio", ref.available && ref.ops_per_sec > 0 ? r.median_ops_per_sec() / ref.ops_per_sec : 0.0},
          {"note", ref.note}};
    }
    ops.push_back(std::move(op));
  }
  doc["operations"] = std::move(ops);
  std::ofstream f(path);
  f << doc.dump(2) << "\n";
  f.close();
  if (!f) {
    error = "cannot write " + path;
    return false;
  }
  return true;
}

// A percentile plot in the manner of HdrHistogram's: x = the percentile on a log scale of
// 1 / (1 - p) (0 %, 90 %, 99 %, 99.9 %, ...), y = latency (log scale), one line per operation.
bool write_svg(const BenchReport& report, const std::string& path, std::string& error) {
  constexpr double kW = 760, kH = 460, kL = 80, kR = 130, kT = 40, kB = 60;
  const double pw = kW - kL - kR, ph = kH - kT - kB;
  double xmax = 1;
  double lo = 1e18, hi = 0;
  for (const auto& r : report.ops) {
    if (r.latency.count() == 0) continue;
    xmax = std::max(xmax, max_x(r.latency.count()));
    lo = std::min(lo, us(std::max<std::uint64_t>(r.latency.min(), 1)));
    hi = std::max(hi, us(r.latency.max()));
  }
  if (hi <= 0) lo = 1, hi = 10;
  const double ylo = std::floor(std::log10(lo)), yhi = std::max(ylo + 1, std::ceil(std::log10(hi)));
  const auto X = [&](double x) { return kL + pw * x / xmax; };
  const auto Y = [&](double v) {
    return kT + ph * (1 - (std::log10(std::max(v, 1e-3)) - ylo) / (yhi - ylo));
  };
  static const char* kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"};
  std::ostringstream s;
  s << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << kW << "\" height=\"" << kH
    << "\" viewBox=\"0 0 " << kW << " " << kH << "\" font-family=\"sans-serif\" font-size=\"12\">\n"
    << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    << "<text x=\"" << kW / 2
    << "\" y=\"22\" text-anchor=\"middle\" font-size=\"14\">authstore bench: latency by percentile ("
    << xml_escape(report.backend) << ", " << report.config.threads << " thread(s) x "
    << report.config.in_flight << " in flight)</text>\n";
  // Grid and axes.
  for (double d = ylo; d <= yhi + 1e-9; d += 1) {
    const double y = Y(std::pow(10.0, d));
    s << "<line x1=\"" << kL << "\" y1=\"" << y << "\" x2=\"" << kL + pw << "\" y2=\"" << y
      << "\" stroke=\"#ddd\"/>\n<text x=\"" << kL - 6 << "\" y=\"" << y + 4 << "\" text-anchor=\"end\">"
      << (d >= 3 ? std::to_string(static_cast<long long>(std::pow(10.0, d - 3))) + " ms"
                 : (d >= 0 ? std::to_string(static_cast<long long>(std::pow(10.0, d))) + " us"
                           : (d == -1 ? std::string("0.1 us") : std::string("0.01 us"))))
      << "</text>\n";
  }
  for (int d = 0; d <= static_cast<int>(xmax); ++d) {
    const double x = X(d);
    // 0%, 90%, 99%, 99.9%, 99.99%, ...
    std::string label = d == 0 ? "0%" : d == 1 ? "90%" : "99";
    if (d >= 2) {
      if (d > 2) label += ".";
      for (int k = 2; k < d; ++k) label += "9";
      label += "%";
    }
    s << "<line x1=\"" << x << "\" y1=\"" << kT << "\" x2=\"" << x << "\" y2=\"" << kT + ph
      << "\" stroke=\"#ddd\"/>\n<text x=\"" << x << "\" y=\"" << kT + ph + 18 << "\" text-anchor=\"middle\">"
      << label << "</text>\n";
  }
  s << "<rect x=\"" << kL << "\" y=\"" << kT << "\" width=\"" << pw << "\" height=\"" << ph
    << "\" fill=\"none\" stroke=\"black\"/>\n"
    << "<text x=\"" << kL + pw / 2 << "\" y=\"" << kH - 14
    << "\" text-anchor=\"middle\">percentile (log scale of 1 / (1 - p))</text>\n"
    << "<text transform=\"translate(18," << kT + ph / 2
    << ") rotate(-90)\" text-anchor=\"middle\">latency per operation (log scale)</text>\n";
  std::size_t k = 0;
  for (const auto& r : report.ops) {
    const char* color = kColors[k % std::size(kColors)];
    const double ly = kT + 16 + 20.0 * static_cast<double>(k);
    ++k;
    s << "<line x1=\"" << kL + pw + 12 << "\" y1=\"" << ly - 4 << "\" x2=\"" << kL + pw + 32 << "\" y2=\""
      << ly - 4 << "\" stroke=\"" << color << "\" stroke-width=\"2\"/>\n<text x=\"" << kL + pw + 36
      << "\" y=\"" << ly << "\">" << xml_escape(r.op) << "</text>\n";
    if (r.latency.count() == 0) continue;
    s << "<polyline fill=\"none\" stroke=\"" << color << "\" stroke-width=\"2\" points=\"";
    const double last = max_x(r.latency.count());
    for (double x = 0; x <= last + 1e-9; x += 0.02) {
      const double p = 100.0 * (1.0 - std::pow(10.0, -x));
      s << X(x) << "," << Y(us(r.latency.value_at_percentile(p))) << " ";
    }
    s << X(last) << "," << Y(us(r.latency.max())) << "\"/>\n";
  }
  s << "</svg>\n";
  std::ofstream f(path);
  f << s.str();
  f.close();
  if (!f) {
    error = "cannot write " + path;
    return false;
  }
  return true;
}

}  // namespace authstore::cli
