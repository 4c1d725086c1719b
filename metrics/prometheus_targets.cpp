#include "metrics/prometheus_targets.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace rfm::metrics {
namespace {

// JSON string contents: the run id comes from a directory name.
std::string escaped(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char hex[8];
      std::snprintf(hex, sizeof(hex), "\\u%04x", c);
      out += hex;
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

std::string targets_file(const std::string& run_dir) {
  return (std::filesystem::path(run_dir) / "prometheus-targets.json").string();
}

void write_targets_file(const std::string& path, const std::string& run_id, const std::map<int, std::string>& targets) {
  const std::string tmp = path + ".tmp";
  const auto parent = std::filesystem::path(path).parent_path();
  std::error_code made;
  if (!parent.empty()) std::filesystem::create_directories(parent, made);
  {
    std::ofstream out(tmp, std::ios::trunc);
    if (!out) throw std::runtime_error(tmp + ": cannot write the Prometheus targets file");
    out << "[\n";
    bool first = true;
    for (const auto& [rank, address] : targets) {
      out << (first ? "" : ",\n") << "  {\"targets\": [\"" << escaped(address) << "\"], \"labels\": {\"job\": \"rfm\", "
          << "\"run_id\": \"" << escaped(run_id) << "\", \"rank\": \"" << rank << "\"}}";
      first = false;
    }
    out << "\n]\n";
    if (!out.flush()) throw std::runtime_error(tmp + ": cannot write the Prometheus targets file");
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) throw std::runtime_error(path + ": cannot replace the Prometheus targets file: " + ec.message());
}

std::string scrape_address(const std::string& bind_address, int port) {
  std::string host = bind_address;
  if (host.empty() || host == "0.0.0.0" || host == "::" || host == "[::]") {
    char name[256] = {};
    host = ::gethostname(name, sizeof(name) - 1) == 0 && name[0] != '\0' ? name : "localhost";
  }
  return host + ":" + std::to_string(port);
}

}  // namespace rfm::metrics
