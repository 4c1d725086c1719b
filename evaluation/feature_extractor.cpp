#include "evaluation/feature_extractor.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <mutex>
#include <thread>

#include "dataset/image_codec.h"
#include "dataset/image_resize.h"

namespace rfm::evaluation {

TestImageSource::TestImageSource(const dataset::DatasetListing& listing, const config::DataConfig& d)
    : listing_(listing), height_(d.height()), width_(d.width()) {
  if (d.pack().empty() || !std::filesystem::exists(d.pack())) return;
  auto pack = std::make_shared<dataset::PackReader>(d.pack());
  if (!pack->staleness(listing, height_, width_).empty()) return;  // decode instead of trusting a stale pack
  const auto packed = pack->listing();
  for (size_t i = 0; i < packed.records.size(); ++i) pack_rows_[packed.records[i].path] = static_cast<int64_t>(i);
  pack_ = std::move(pack);
}

dataset::ImageU8 TestImageSource::load(const dataset::ImageRecord& record) const {
  if (pack_) {
    const auto it = pack_rows_.find(record.path);
    if (it != pack_rows_.end()) return pack_->image(it->second, true);
  }
  const auto image = dataset::read_image_file(listing_.full_path(record));
  return dataset::resize_bilinear(image, height_, width_);
}

std::string TestImageSource::describe() const {
  return pack_ ? "reading the pack " + pack_->path() : "decoding image files under " + listing_.root;
}

ExtractionOptions extraction_options(const config::RunConfig& c, torch::Device device) {
  ExtractionOptions o;
  if (c.data().mean_size() == 3) o.mean.assign(c.data().mean().begin(), c.data().mean().end());
  if (c.data().std_size() == 3) o.std.assign(c.data().std().begin(), c.data().std().end());
  o.batch_size = c.evaluation().batch_size();
  o.flip_average = c.evaluation().flip_average();
  o.decode_threads = c.evaluation().decode_threads();
  o.device = device;
  return o;
}

dataset::Modality guessed_modality(const dataset::ImageU8& image) {
  if (image.channels < 3) return dataset::Modality::kInfrared;
  const size_t pixels = static_cast<size_t>(image.height) * static_cast<size_t>(image.width);
  if (pixels == 0) return dataset::Modality::kVisible;
  uint64_t difference = 0;
  const uint8_t* p = image.pixels.data();
  for (size_t i = 0; i < pixels; ++i, p += image.channels) {
    difference += static_cast<uint64_t>(std::abs(int{p[0]} - int{p[1]}) + std::abs(int{p[1]} - int{p[2]}));
  }
  return difference < 2 * pixels ? dataset::Modality::kInfrared : dataset::Modality::kVisible;
}

FeatureSet extract_features(model::RfmModel& model, const std::vector<dataset::ImageRecord>& records,
                            const TestImageSource& source, const ExtractionOptions& o) {
  const bool was_training = model->is_training();
  model->eval();
  torch::NoGradGuard no_grad;
  const auto mean = torch::tensor(o.mean).view({1, 3, 1, 1}).to(o.device);
  const auto stdev = torch::tensor(o.std).view({1, 3, 1, 1}).to(o.device);
  FeatureSet set;
  std::vector<torch::Tensor> chunks;
  const int64_t n = static_cast<int64_t>(records.size());
  for (int64_t start = 0; start < n; start += o.batch_size) {
    const int64_t count = std::min<int64_t>(o.batch_size, n - start);
    std::vector<dataset::ImageU8> images(static_cast<size_t>(count));
    // Decode in parallel; the first failure is rethrown naming its file.
    std::atomic<int64_t> next{0};
    std::exception_ptr failure;
    std::mutex failure_mutex;
    auto work = [&] {
      for (int64_t i = next++; i < count; i = next++) {
        try {
          images[i] = source.load(records[start + i]);
        } catch (...) {
          std::lock_guard<std::mutex> lock(failure_mutex);
          if (!failure) failure = std::current_exception();
        }
      }
    };
    std::vector<std::thread> threads;
    for (int t = 1; t < std::min<int64_t>(o.decode_threads, count); ++t) threads.emplace_back(work);
    work();
    for (auto& t : threads) t.join();
    if (failure) std::rethrow_exception(failure);

    const int h = images[0].height, w = images[0].width;
    auto batch = torch::empty({count, h, w, 3}, torch::kUInt8);
    std::vector<int64_t> modality(static_cast<size_t>(count));
    for (int64_t i = 0; i < count; ++i) {
      std::memcpy(batch[i].data_ptr<uint8_t>(), images[i].pixels.data(), images[i].pixels.size());
      const auto m = o.guess_modality ? guessed_modality(images[i]) : records[start + i].modality;
      set.modality.push_back(m);
      modality[i] = m == dataset::Modality::kInfrared ? 1 : 0;
    }
    auto x = batch.to(o.device).permute({0, 3, 1, 2}).to(torch::kFloat32).div_(255.0).sub_(mean).div_(stdev);
    const auto mod = torch::tensor(modality, torch::kInt64).to(o.device);
    auto emb = model->forward(x, mod).embedding;
    if (o.flip_average) emb = (emb + model->forward(x.flip({3}), mod).embedding) * 0.5;
    chunks.push_back(emb.to(torch::kCPU, torch::kFloat32).contiguous());
    if (o.progress) o.progress(start + count, n);
  }
  if (was_training) model->train();
  const auto all = chunks.empty() ? torch::empty({0, 0}) : torch::cat(chunks, 0);
  set.features.rows = all.size(0);
  set.features.cols = all.dim() == 2 ? all.size(1) : 0;
  set.features.values.assign(all.data_ptr<float>(), all.data_ptr<float>() + all.numel());
  for (const auto& r : records) {
    set.labels.pid.push_back(r.pid);
    set.labels.camid.push_back(r.camid);
    set.paths.push_back(r.path);
  }
  return set;
}

}  // namespace rfm::evaluation
