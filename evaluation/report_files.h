#pragma once
// The files an evaluation leaves: report.json (the protobuf JSON mapping of
// EvaluationReport), report.md (a summary table), cmc.png (mean CMC curve
// of each protocol) and rank_list_<protocol>.png (chosen queries and their
// nearest gallery images, green border for a match, red otherwise, blue
// where the list has no labels).

#include <functional>
#include <string>
#include <vector>

#include "dataset/image.h"
#include "evaluation/protocols.h"
#include "evaluation_report.pb.h"

namespace rfm::evaluation {

std::string report_json(const EvaluationReport& report);
// Throws std::runtime_error naming the file when it is not a report.
EvaluationReport read_report_json(const std::string& path);
std::string report_markdown(const EvaluationReport& report);

void write_cmc_png(const std::string& path, const EvaluationReport& report);

// Loads the picture of row `row` of set 0 (the protocol's first feature set)
// or set 1; may throw, in which case a grey tile is drawn.
using RowImageLoader = std::function<dataset::ImageU8(int set, int64_t row)>;
void write_rank_list_png(const std::string& path, const std::string& title, const RankList& list,
                         const RowImageLoader& load);

// A file-name-safe form of a protocol name ("sysu-mm01-all-search-single-shot").
std::string slug(const std::string& name);

// report.json, report.md and cmc.png into `dir`; returns their paths.
std::vector<std::string> write_report_files(const std::string& dir, const EvaluationReport& report);

}  // namespace rfm::evaluation
