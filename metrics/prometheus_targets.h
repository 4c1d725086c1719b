#pragma once
// The job's Prometheus targets in the file-based service discovery format
// (a JSON list of {"targets": [...], "labels": {...}}), which Prometheus
// re-reads whenever the file changes: deploy/prometheus.yml watches
// <run_dir>/prometheus-targets.json of every run.

#include <map>
#include <string>

namespace rfm::metrics {

// `path`'s name for a run directory.
std::string targets_file(const std::string& run_dir);

// Writes (atomically: temporary file and rename) one group per rank with
// the labels job="rfm", run_id and rank.
void write_targets_file(const std::string& path, const std::string& run_id, const std::map<int, std::string>& targets);

// host:port as Prometheus should reach a rank whose endpoint listens on
// `bind_address`: a wildcard address is replaced by this host's name.
std::string scrape_address(const std::string& bind_address, int port);

}  // namespace rfm::metrics
