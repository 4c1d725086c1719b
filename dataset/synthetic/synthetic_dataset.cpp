#include "dataset/synthetic/synthetic_dataset.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include <google/protobuf/text_format.h>

#include "dataset/image_codec.h"
#include "dataset/image_record.h"
#include "dataset/seeded_random.h"
#include "dataset/synthetic/pedestrian.h"
#include "dataset/synthetic/scene_renderer.h"

namespace fs = std::filesystem;

namespace rfm::dataset::synthetic {
namespace {

constexpr const char* kMarker = "synthetic.pbtxt";

std::string four_digits(int64_t v) {
  std::ostringstream s;
  s << std::setw(4) << std::setfill('0') << v;
  return s.str();
}

void write_text(const fs::path& path, const std::string& text) {
  const fs::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp);
    out << text;
    if (!out) throw DatasetError(tmp.string() + ": write failed");
  }
  fs::rename(tmp, path);
}

std::string join_ids(std::vector<int64_t> ids) {
  std::sort(ids.begin(), ids.end());
  std::string s;
  for (size_t i = 0; i < ids.size(); ++i) s += (i ? "," : "") + std::to_string(ids[i]);
  return s + "\n";
}

// One image to render: identity, camera, index within that camera.
struct Job {
  int64_t pid;
  int camid;
  int index;
  std::string path;  // relative to the output
  bool infrared;
};

CameraModel camera_of(const Job& j, config::SyntheticConfig::Layout layout) {
  switch (layout) {
    case config::SyntheticConfig::REGDB: return regdb_camera(j.camid);
    case config::SyntheticConfig::LLCM: return llcm_camera(j.camid, j.infrared);
    default: return sysu_camera(j.camid);
  }
}

// LLCM's cameras as the reference code walks them (dataset_readers.h).
const std::vector<int> kLlcmVisibleCameras = {1, 2, 3, 4, 5, 6, 7, 8, 9};
const std::vector<int> kLlcmInfraredCameras = {1, 2, 4, 5, 6, 7, 8, 9};

void render_all(const std::vector<Job>& jobs, const config::SyntheticConfig& o, const fs::path& out, int threads) {
  std::atomic<size_t> next{0};
  std::string failure;
  std::mutex failure_mutex;
  auto work = [&] {
    for (size_t i = next++; i < jobs.size(); i = next++) {
      const Job& j = jobs[i];
      try {
        const auto person = draw_identity(o.seed(), j.pid);
        const CameraModel cam = camera_of(j, o.layout());
        const int h = static_cast<int>(std::lround(o.height() * cam.resolution));
        const int w = static_cast<int>(std::lround(o.width() * cam.resolution));
        // LLCM's cameras record both modalities: its infrared views get their own seeds.
        const uint64_t camera_key = static_cast<uint64_t>(j.camid) + (j.infrared && o.layout() == config::SyntheticConfig::LLCM ? 100 : 0);
        const uint64_t view_seed = mix64(mix64(mix64(o.seed(), static_cast<uint64_t>(j.pid)), camera_key), j.index);
        const auto image = render_view(person, cam, o.seed(), view_seed, h, w);
        fs::create_directories((out / j.path).parent_path());
        write_image_file((out / j.path).string(), image, o.jpeg_quality());
      } catch (const std::exception& e) {
        std::lock_guard<std::mutex> lock(failure_mutex);
        if (failure.empty()) failure = e.what();
      }
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < std::max(1, threads); ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  if (!failure.empty()) throw DatasetError("synthetic dataset: " + failure);
}

}  // namespace

SyntheticSummary write_synthetic_dataset(const config::SyntheticConfig& o, const std::string& output, int threads) {
  const auto start = std::chrono::steady_clock::now();
  SyntheticSummary summary;
  summary.output = output;
  const fs::path out(output);
  const auto layout = o.layout();
  std::string options_text;
  google::protobuf::TextFormat::PrintToString(o, &options_text);

  if (fs::exists(out / kMarker)) {
    std::ifstream in(out / kMarker);
    const std::string existing((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (existing != options_text) {
      throw DatasetError((out / kMarker).string() +
                         ": a synthetic dataset with other options is there; remove the folder or choose another");
    }
    summary.reused = true;
  } else if (fs::exists(out) && !fs::is_empty(out)) {
    throw DatasetError(output + ": exists and is not a synthetic dataset of ours; choose an empty or new folder");
  }

  const int64_t n_train = o.train_identities(), n_test = o.test_identities(), total = n_train + n_test;
  // Which pids are test identities: a seeded shuffle of 1..total.
  std::vector<int64_t> pids(total);
  for (int64_t i = 0; i < total; ++i) pids[i] = i + 1;
  SeededRandom split_rng(o.seed(), 0x5B1);
  for (int64_t i = total - 1; i > 0; --i) std::swap(pids[i], pids[split_rng.below(static_cast<uint64_t>(i + 1))]);
  std::vector<int64_t> test(pids.begin(), pids.begin() + n_test), training(pids.begin() + n_test, pids.end());

  std::vector<Job> jobs;
  if (layout == config::SyntheticConfig::SYSU_MM01) {
    for (int64_t pid = 1; pid <= total; ++pid) {
      SeededRandom cams(o.seed(), 0xCA, static_cast<uint64_t>(pid));
      // Always one indoor visible and one infrared camera (so every identity
      // can be a query and has an indoor gallery); the others by chance.
      const int vis = cams.chance(0.5) ? 1 : 2, ir = cams.chance(0.5) ? 3 : 6;
      for (int cam = 1; cam <= 6; ++cam) {
        const bool present = cam == vis || cam == ir || cams.chance(o.camera_presence());
        if (!present) continue;
        for (int n = 1; n <= o.images_per_camera(); ++n) {
          jobs.push_back({pid, cam, n, "cam" + std::to_string(cam) + "/" + four_digits(pid) + "/" + four_digits(n) + ".jpg",
                          cam == 3 || cam == 6});
        }
      }
    }
  } else if (layout == config::SyntheticConfig::REGDB) {
    for (int64_t pid = 1; pid <= total; ++pid) {
      for (int n = 1; n <= o.images_per_camera(); ++n) {
        jobs.push_back({pid, 1, n, "Visible/" + std::to_string(pid) + "/" + std::to_string(n) + ".bmp", false});
        jobs.push_back({pid, 2, n, "Thermal/" + std::to_string(pid) + "/" + std::to_string(n) + ".bmp", true});
      }
    }
  } else {
    // LLCM: each identity passes one camera by day and one at night for
    // sure (the same one, now and then: its own-camera matches are what
    // the protocol leaves out), the others with camera_presence / 3 each.
    std::vector<bool> is_test(static_cast<size_t>(total) + 1, false);
    for (const int64_t pid : test) is_test[static_cast<size_t>(pid)] = true;
    for (int64_t pid = 1; pid <= total; ++pid) {
      SeededRandom cams(o.seed(), 0x11C, static_cast<uint64_t>(pid));
      const std::string split = is_test[static_cast<size_t>(pid)] ? "test" : "train";
      const int day = kLlcmVisibleCameras[cams.below(kLlcmVisibleCameras.size())];
      const int night = kLlcmInfraredCameras[cams.below(kLlcmInfraredCameras.size())];
      for (const bool infrared : {false, true}) {
        for (const int cam : infrared ? kLlcmInfraredCameras : kLlcmVisibleCameras) {
          const bool present = cam == (infrared ? night : day) || cams.chance(o.camera_presence() / 3);
          if (!present) continue;
          const std::string dir = split + (infrared ? "_nir" : "_vis") + "/cam" + std::to_string(cam) + "/" + four_digits(pid);
          for (int n = 1; n <= o.images_per_camera(); ++n) {
            jobs.push_back({pid, cam, n, dir + "/" + four_digits(n) + ".jpg", infrared});
          }
        }
      }
    }
  }
  for (const auto& j : jobs) ++(j.infrared ? summary.infrared_images : summary.visible_images);
  summary.identities = total;

  if (!summary.reused) {
    fs::create_directories(out);
    render_all(jobs, o, out, threads);
    if (layout == config::SyntheticConfig::LLCM) {
      // idx/train_{vis,nir}.txt: 'path label' with labels dense over the
      // sorted training identities, as published; idx/test_id.txt.
      fs::create_directories(out / "idx");
      std::vector<int64_t> sorted_training = training;
      std::sort(sorted_training.begin(), sorted_training.end());
      std::map<int64_t, int64_t> label;
      for (size_t i = 0; i < sorted_training.size(); ++i) label[sorted_training[i]] = static_cast<int64_t>(i);
      std::string vis, nir;
      for (const auto& j : jobs) {
        const auto it = label.find(j.pid);
        if (it == label.end()) continue;
        (j.infrared ? nir : vis) += j.path + " " + std::to_string(it->second) + "\n";
      }
      write_text(out / "idx" / "train_vis.txt", vis);
      write_text(out / "idx" / "train_nir.txt", nir);
      write_text(out / "idx" / "test_id.txt", join_ids(test));
    } else if (layout == config::SyntheticConfig::SYSU_MM01) {
      fs::create_directories(out / "exp");
      const size_t n_val = static_cast<size_t>(std::floor(training.size() * o.val_fraction()));
      std::vector<int64_t> train(training.begin(), training.end() - static_cast<std::ptrdiff_t>(n_val));
      std::vector<int64_t> val(training.end() - static_cast<std::ptrdiff_t>(n_val), training.end());
      write_text(out / "exp" / "train_id.txt", join_ids(train));
      write_text(out / "exp" / "val_id.txt", join_ids(val));
      write_text(out / "exp" / "test_id.txt", join_ids(test));
    } else {
      // Ten trials, each its own random split into train and test
      // identities; labels dense within each file, as published.
      fs::create_directories(out / "idx");
      for (int trial = 1; trial <= 10; ++trial) {
        std::vector<int64_t> order(total);
        for (int64_t i = 0; i < total; ++i) order[i] = i + 1;
        SeededRandom r(o.seed(), 0x7E1A1, static_cast<uint64_t>(trial));
        for (int64_t i = total - 1; i > 0; --i) std::swap(order[i], order[r.below(static_cast<uint64_t>(i + 1))]);
        std::vector<int64_t> tr(order.begin(), order.begin() + n_train), te(order.begin() + n_train, order.end());
        std::sort(tr.begin(), tr.end());
        std::sort(te.begin(), te.end());
        for (const auto& [split, ids] : {std::pair<std::string, std::vector<int64_t>>{"train", tr}, {"test", te}}) {
          for (const auto& [folder, file] : {std::pair<std::string, std::string>{"Visible", "visible"}, {"Thermal", "thermal"}}) {
            std::string text;
            for (size_t label = 0; label < ids.size(); ++label) {
              for (int n = 1; n <= o.images_per_camera(); ++n) {
                text += folder + "/" + std::to_string(ids[label]) + "/" + std::to_string(n) + ".bmp " +
                        std::to_string(label) + "\n";
              }
            }
            write_text(out / "idx" / (split + "_" + file + "_" + std::to_string(trial) + ".txt"), text);
          }
        }
      }
    }
    // Last: its presence means the dataset is complete.
    write_text(out / kMarker, options_text);
  }
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return summary;
}

}  // namespace rfm::dataset::synthetic
