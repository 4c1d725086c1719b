#include "trainer/engine/random_identity_batches.h"

#include <algorithm>
#include <numeric>
#include <random>
#include <stdexcept>

#include "dataset/seeded_random.h"

namespace rfm::engine {

using dataset::mix64;

RandomIdentityBatches::RandomIdentityBatches(const RandomIdentityOptions& options) : options_(options) {
  if (options.ids_per_batch > options.num_identities) {
    throw std::invalid_argument("random identities: ids_per_batch " + std::to_string(options.ids_per_batch) +
                                " exceeds the " + std::to_string(options.num_identities) + " identities");
  }
}

torch::Tensor RandomIdentityBatches::image(int64_t identity, int64_t modality, int64_t index) const {
  const uint64_t id_seed = mix64(options_.seed, static_cast<uint64_t>(identity));
  auto gen = at::detail::createCPUGenerator(id_seed);
  auto layout = torch::rand({1, 3, 6, 3}, gen);
  auto nir_weights = torch::rand({1, 3, 1, 1}, gen);
  auto sample = at::detail::createCPUGenerator(mix64(id_seed, 1 + 2 * index + modality));
  auto shift = torch::randint(-2, 3, {2}, sample);
  auto coarse = torch::roll(layout, {shift[0].item<int64_t>() % 2, 0}, {2, 3});
  if (modality == 1) coarse = (coarse * nir_weights).sum(1, true).div(nir_weights.sum()).expand({1, 3, 6, 3});
  auto img = torch::upsample_bilinear2d(coarse.contiguous(), {options_.height, options_.width}, false).squeeze(0);
  const float gain = 0.8f + 0.4f * torch::rand({1}, sample).item<float>();
  img = img * gain + 0.03f * torch::randn(img.sizes(), sample);
  if (options_.horizontal_flip && torch::rand({1}, sample).item<float>() < 0.5f) img = img.flip({2});
  return img.clamp(0, 1);
}

TrainBatch RandomIdentityBatches::batch(int64_t step) const {
  std::mt19937_64 rng(mix64(options_.seed ^ 0x5eedULL, static_cast<uint64_t>(step)));
  std::vector<int64_t> ids(options_.num_identities);
  std::iota(ids.begin(), ids.end(), 0);
  std::shuffle(ids.begin(), ids.end(), rng);
  std::uniform_int_distribution<int64_t> pick(0, options_.images_per_identity - 1);
  std::vector<torch::Tensor> images;
  std::vector<int64_t> labels, modality;
  for (int64_t p = 0; p < options_.ids_per_batch; ++p) {
    for (int64_t m = 0; m < 2; ++m) {
      for (int64_t k = 0; k < options_.per_modality; ++k) {
        images.push_back(image(ids[p], m, pick(rng)));
        labels.push_back(ids[p]);
        modality.push_back(m);
      }
    }
  }
  return {torch::stack(images), torch::tensor(labels), torch::tensor(modality), torch::Tensor()};
}

int64_t RandomIdentityBatches::steps_per_epoch() const {
  const int64_t per_modality = options_.num_identities * options_.images_per_identity;
  const int64_t batch = options_.ids_per_batch * options_.per_modality;
  return (per_modality + batch - 1) / batch;
}

}  // namespace rfm::engine
