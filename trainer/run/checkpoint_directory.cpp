#include "trainer/run/checkpoint_directory.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <regex>

#include "trainer/model_io/model_checkpoint.h"

namespace rfm::run {

namespace fs = std::filesystem;

std::string CheckpointDirectory::step_path(int64_t step) const {
  char name[32];
  std::snprintf(name, sizeof(name), "step-%08lld.pt", static_cast<long long>(step));
  return (fs::path(directory_) / name).string();
}

std::vector<std::pair<int64_t, std::string>> CheckpointDirectory::step_checkpoints() const {
  std::vector<std::pair<int64_t, std::string>> found;
  std::error_code ec;
  if (!fs::is_directory(directory_, ec)) return found;
  static const std::regex pattern(R"(step-(\d{8,})\.pt)");
  for (const auto& entry : fs::directory_iterator(directory_, ec)) {
    std::smatch m;
    const std::string name = entry.path().filename().string();
    if (entry.is_regular_file() && std::regex_match(name, m, pattern)) {
      found.emplace_back(std::stoll(m[1].str()), entry.path().string());
    }
  }
  std::sort(found.begin(), found.end());
  return found;
}

std::optional<std::string> CheckpointDirectory::resume_newest(
    std::ostream& log, const std::function<void(const std::string&)>& load) const {
  auto all = step_checkpoints();
  for (auto it = all.rbegin(); it != all.rend(); ++it) {
    try {
      const auto info = model_io::read_checkpoint_info(it->second);
      if (!info.has_training_state) throw model_io::CheckpointError(it->second + ": no training state");
      if (info.step != it->first) {
        throw model_io::CheckpointError(it->second + ": records step " + std::to_string(info.step) +
                                      ", its name says " + std::to_string(it->first));
      }
      load(it->second);
      return it->second;
    } catch (const model_io::CheckpointError& e) {
      log << "warning: skipping checkpoint " << e.what() << "\n";
    }
  }
  return std::nullopt;
}

void CheckpointDirectory::keep_newest(int keep) const {
  auto all = step_checkpoints();
  std::error_code ec;
  for (size_t i = 0; i + static_cast<size_t>(std::max(keep, 1)) < all.size(); ++i) fs::remove(all[i].second, ec);
  for (const auto& entry : fs::directory_iterator(directory_, ec)) {
    if (entry.path().extension() == ".tmp") fs::remove(entry.path(), ec);
  }
}

}  // namespace rfm::run
