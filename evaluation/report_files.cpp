#include "evaluation/report_files.h"

#include <cctype>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <sstream>
#include <stdexcept>

#include <google/protobuf/util/json_util.h>

#include "dataset/image_resize.h"
#include "plot/line_chart.h"

namespace rfm::evaluation {
namespace fs = std::filesystem;
namespace {

constexpr int kThumbHeight = 128, kThumbWidth = 64, kBorder = 4, kGap = 6;

std::string percent(const MetricSummary& s, int trials) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(2) << 100.0 * s.mean();
  if (trials > 1) out << " ± " << std::setprecision(2) << 100.0 * s.std();
  return out.str();
}

void write_text(const fs::path& path, const std::string& text) {
  const auto tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    if (!out) throw std::runtime_error(tmp + ": cannot create");
    out << text;
    if (!out) throw std::runtime_error(tmp + ": write failed");
  }
  fs::rename(tmp, path);
}

}  // namespace

std::string report_json(const EvaluationReport& report) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.always_print_primitive_fields = true;
  options.preserve_proto_field_names = true;
  std::string json;
  const auto status = google::protobuf::util::MessageToJsonString(report, &json, options);
  if (!status.ok()) throw std::runtime_error("report to JSON: " + status.ToString());
  return json;
}

EvaluationReport read_report_json(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(path + ": cannot open");
  std::stringstream text;
  text << in.rdbuf();
  EvaluationReport report;
  const auto status = google::protobuf::util::JsonStringToMessage(text.str(), &report);
  if (!status.ok()) throw std::runtime_error(path + ": not an evaluation report: " + status.ToString());
  return report;
}

std::string report_markdown(const EvaluationReport& r) {
  std::ostringstream md;
  md << "# Evaluation";
  if (!r.config_name().empty()) md << ": " << r.config_name();
  md << "\n\n";
  for (const auto& c : r.checkpoints()) md << "- checkpoint: `" << c << "`\n";
  for (const auto& f : r.feature_sources()) md << "- features: `" << f << "`\n";
  if (r.checkpoints_size() == 0 && r.feature_sources_size() == 0) md << "- model: untrained (random initialisation)\n";
  md << "- distance: " << r.distance() << (r.l2_normalize() ? " of L2-normalised" : " of raw") << " embeddings ("
     << r.feature_dim() << "-d)" << (r.flip_average() ? ", flip-averaged" : "")
     << (r.rerank() ? ", k-reciprocal re-ranking" : "") << "\n";
  md << "- created: " << r.created() << "\n\n";
  md << "| Protocol | Trials | R-1 | R-5 | R-10 | R-20 | mAP | mINP |\n";
  md << "|---|---:|---:|---:|---:|---:|---:|---:|\n";
  for (const auto& p : r.results()) {
    const int t = p.trials_size();
    md << "| " << p.name() << " | " << t << " | " << percent(p.rank1(), t) << " | " << percent(p.rank5(), t) << " | "
       << percent(p.rank10(), t) << " | " << percent(p.rank20(), t) << " | " << percent(p.map(), t) << " | "
       << percent(p.minp(), t) << " |\n";
  }
  md << "\nPercentages; ± is the standard deviation over trials.\n";
  return md.str();
}

void write_cmc_png(const std::string& path, const EvaluationReport& report) {
  std::vector<plot::Series> series;
  for (const auto& p : report.results()) {
    plot::Series s;
    s.label = p.name();
    for (int i = 0; i < p.mean_cmc_size(); ++i) {
      s.x.push_back(i + 1);
      s.y.push_back(100.0 * p.mean_cmc(i));
    }
    series.push_back(std::move(s));
  }
  plot::LineChartOptions o;
  o.title = "CMC";
  o.x_label = "rank";
  o.y_label = "matching rate (%)";
  o.y_min = 0;
  o.y_max = 100;
  o.integer_x_ticks = true;
  plot::draw_line_chart(series, o).write_png(path);
}

void write_rank_list_png(const std::string& path, const std::string& title, const RankList& list,
                         const RowImageLoader& load) {
  const size_t columns = 1 + (list.gallery_rows.empty() ? 0 : list.gallery_rows[0].size());
  const int cell_w = kThumbWidth + 2 * kBorder + kGap, cell_h = kThumbHeight + 2 * kBorder + kGap;
  const int top = 28, left = 8;
  plot::RasterCanvas canvas(left * 2 + static_cast<int>(columns) * cell_w + 2 * kGap,
                            top + static_cast<int>(std::max<size_t>(1, list.query_rows.size())) * cell_h + 8);
  canvas.text(left, 8, title + " - query, then its nearest gallery images", {0, 0, 0});
  const int query_set = list.query_is_first_set ? 0 : 1, gallery_set = 1 - query_set;
  auto tile = [&](int set, int64_t row) {
    try {
      return dataset::resize_bilinear(load(set, row), kThumbHeight, kThumbWidth);
    } catch (const std::exception&) {
      return dataset::ImageU8(kThumbHeight, kThumbWidth, 3, 160);
    }
  };
  for (size_t q = 0; q < list.query_rows.size(); ++q) {
    const int y = top + static_cast<int>(q) * cell_h;
    canvas.rect_outline(left, y, kThumbWidth + 2 * kBorder, kThumbHeight + 2 * kBorder, kBorder, {40, 40, 40});
    canvas.blit(tile(query_set, list.query_rows[q]), left + kBorder, y + kBorder);
    for (size_t k = 0; k < list.gallery_rows[q].size(); ++k) {
      const int x = left + 2 * kGap + static_cast<int>(k + 1) * cell_w;
      // No labels (`rfm search`): a neutral border.
      const plot::Rgb border = list.matches.empty()   ? plot::Rgb{90, 90, 200}
                               : list.matches[q][k]   ? plot::Rgb{20, 170, 40}
                                                      : plot::Rgb{210, 30, 30};
      canvas.rect_outline(x, y, kThumbWidth + 2 * kBorder, kThumbHeight + 2 * kBorder, kBorder, border);
      canvas.blit(tile(gallery_set, list.gallery_rows[q][k]), x + kBorder, y + kBorder);
    }
  }
  canvas.write_png(path);
}

std::string slug(const std::string& name) {
  std::string s;
  for (const char c : name) {
    if (std::isalnum(static_cast<unsigned char>(c))) s.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    else if (!s.empty() && s.back() != '-') s.push_back('-');
  }
  while (!s.empty() && s.back() == '-') s.pop_back();
  return s;
}

std::vector<std::string> write_report_files(const std::string& dir, const EvaluationReport& report) {
  fs::create_directories(dir);
  const auto json = fs::path(dir) / "report.json", md = fs::path(dir) / "report.md", png = fs::path(dir) / "cmc.png";
  write_text(json, report_json(report) + "\n");
  write_text(md, report_markdown(report));
  write_cmc_png(png.string(), report);
  return {json.string(), md.string(), png.string()};
}

}  // namespace rfm::evaluation
