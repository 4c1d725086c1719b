#include <filesystem>
#include <fstream>

#include "dataset/dataset_readers.h"
#include "dataset/split_files.h"
#include "dataset/text_fields.h"

namespace fs = std::filesystem;

namespace rfm::dataset {
namespace {

bool parse_modality(std::string v, Modality* m) {
  for (auto& c : v) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (v == "visible" || v == "vis" || v == "rgb" || v == "0") *m = Modality::kVisible;
  else if (v == "infrared" || v == "ir" || v == "nir" || v == "thermal" || v == "1") *m = Modality::kInfrared;
  else return false;
  return true;
}

bool parse_split(std::string v, Split* s) {
  for (auto& c : v) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (v == "train") *s = Split::kTrain;
  else if (v == "test") *s = Split::kTest;
  else if (v == "query") *s = Split::kQuery;
  else if (v == "gallery") *s = Split::kGallery;
  else return false;
  return true;
}

}  // namespace

DatasetListing list_manifest(const std::string& manifest, const std::string& root, ValidationReport& report) {
  DatasetListing listing;
  listing.name = "manifest " + fs::path(manifest).filename().string();
  listing.root = root.empty() ? fs::path(manifest).parent_path().string() : root;
  std::ifstream in(manifest);
  if (!in) {
    report.error(manifest, "cannot open manifest");
    return listing;
  }
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    const std::string where = manifest + ":" + std::to_string(line_no);
    const auto hash = line.find('#');
    if (hash != std::string::npos) line.erase(hash);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (trim_field(line).empty()) continue;
    const auto f = split_fields(line, '\t');
    if (line_no == 1 && trim_field(f[0]) == "path") continue;  // header
    if (f.size() != 5) {
      report.error(where, "expected 5 tab-separated fields (path pid camid modality split), got " +
                              std::to_string(f.size()));
      continue;
    }
    ImageRecord r;
    r.path = trim_field(f[0]);
    int64_t camid = 0;
    if (r.path.empty()) report.error(where, "empty path");
    else if (!parse_int64(f[1], &r.pid) || r.pid < 0) report.error(where, "pid '" + trim_field(f[1]) + "' is not a non-negative integer");
    else if (!parse_int64(f[2], &camid) || camid < 0 || camid > 1000000) report.error(where, "camid '" + trim_field(f[2]) + "' is not a non-negative integer");
    else if (!parse_modality(trim_field(f[3]), &r.modality)) report.error(where, "modality '" + trim_field(f[3]) + "' is not visible or infrared");
    else if (!parse_split(trim_field(f[4]), &r.split)) report.error(where, "split '" + trim_field(f[4]) + "' is not train, test, query or gallery");
    else {
      r.camid = static_cast<int>(camid);
      if (const auto missing = missing_image(listing.full_path(r)); !missing.empty()) {
        report.error(where, missing);
        continue;
      }
      listing.records.push_back(std::move(r));
    }
  }
  if (listing.records.empty() && report.ok()) report.error(manifest, "lists no images");
  return listing;
}

}  // namespace rfm::dataset
