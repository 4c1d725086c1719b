// The loader: per-image transforms by hand, prefetching equal to assembling
// in place, shards that add up to the world-size-1 batch, resume, pack and
// files giving the same tensors, errors surfacing with the file's name.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "dataset/dataset_source.h"
#include "dataset/image_resize.h"
#include "dataset/pack_file.h"
#include "loader/batch_buffer_pool.h"
#include "loader/training_data.h"
#include "tests/synthetic_fixture.h"
#include "tests/temp_dir.h"

namespace fs = std::filesystem;

namespace rfm::loader {
namespace {

using rfm::testing::TempDir;

dataset::ImageU8 ramp(int h, int w) {
  dataset::ImageU8 img(h, w, 3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < 3; ++c) img.at(y, x)[c] = static_cast<uint8_t>(10 * y + x + 100 * c);
  return img;
}

TEST(TrainTransform, FlipPadAndCropByHand) {
  const auto img = ramp(6, 4);
  TrainTransformOptions none{false, 0};
  EXPECT_EQ(apply_train_transform(img, none, 1).pixels, img.pixels);
  // Over many seeds: every output pixel is either zero padding or the
  // source pixel at a shift of at most `pad`, the same shift everywhere,
  // possibly mirrored.
  TrainTransformOptions o{true, 2};
  int flipped = 0, shifted = 0;
  for (uint64_t seed = 0; seed < 64; ++seed) {
    const auto out = apply_train_transform(img, o, seed);
    bool matched = false;
    for (int flip = 0; flip < 2 && !matched; ++flip) {
      for (int dy = -2; dy <= 2 && !matched; ++dy) {
        for (int dx = -2; dx <= 2 && !matched; ++dx) {
          bool ok = true;
          for (int y = 0; y < 6 && ok; ++y) {
            for (int x = 0; x < 4 && ok; ++x) {
              const int sy = y + dy, px = x + dx;
              const bool inside = sy >= 0 && sy < 6 && px >= 0 && px < 4;
              const int sx = flip ? 3 - px : px;
              for (int c = 0; c < 3; ++c) ok &= out.at(y, x)[c] == (inside ? img.at(sy, sx)[c] : 0);
            }
          }
          if (ok) {
            matched = true;
            flipped += flip;
            shifted += dx != 0 || dy != 0;
          }
        }
      }
    }
    EXPECT_TRUE(matched) << "seed " << seed;
    EXPECT_EQ(apply_train_transform(img, o, seed).pixels, out.pixels);
  }
  EXPECT_GT(flipped, 16);
  EXPECT_LT(flipped, 48);
  EXPECT_GT(shifted, 48);
}

TEST(TrainTransform, PlanarWriterEqualsTheImageTransform) {
  const auto img = ramp(9, 5);
  for (uint64_t seed = 0; seed < 40; ++seed) {
    for (int pad : {0, 1, 3, 7}) {
      TrainTransformOptions o{true, pad};
      const auto hwc = apply_train_transform(img, o, seed);
      std::vector<uint8_t> chw(3 * 9 * 5, 77);
      write_transformed_chw(img, o, seed, chw.data());
      for (int c = 0; c < 3; ++c)
        for (int y = 0; y < 9; ++y)
          for (int x = 0; x < 5; ++x) ASSERT_EQ(chw[(c * 9 + y) * 5 + x], hwc.at(y, x)[c]) << seed << " " << pad;
    }
  }
}

// The loader's fused path from a decoded file against resizing first and
// transforming after, bit for bit: enlarging and shrinking, pads that cut
// into the image and a pad wider than it (all padding).
TEST(TrainTransform, FusedResizeAndTransformEqualsResizeThenTransform) {
  for (auto [ih, iw] : {std::pair{29, 13}, std::pair{61, 47}, std::pair{24, 12}}) {
    dataset::ImageU8 img(ih, iw, 3);
    for (size_t i = 0; i < img.pixels.size(); ++i) img.pixels[i] = static_cast<uint8_t>((i * 131 + i / 5) % 256);
    const auto resized = dataset::resize_bilinear(img, 24, 12);
    for (int pad : {0, 2, 5, 13}) {
      TrainTransformOptions o{true, pad};
      for (uint64_t seed = 0; seed < 24; ++seed) {
        std::vector<uint8_t> expected(3 * 24 * 12, 77), fused(3 * 24 * 12, 77);
        write_transformed_chw(resized, o, seed, expected.data());
        write_resized_transformed_chw(img, 24, 12, o, seed, fused.data());
        ASSERT_EQ(fused, expected) << ih << "x" << iw << " pad " << pad << " seed " << seed;
      }
    }
  }
  dataset::ImageU8 two_channels(8, 8, 2);
  std::vector<uint8_t> out(3 * 8 * 8);
  EXPECT_THROW(write_resized_transformed_chw(two_channels, 8, 8, TrainTransformOptions{}, 1, out.data()),
               std::invalid_argument);
}

// A grey image (a grey JPEG the loader keeps as one channel) gives what its
// RGB expansion gives, bit for bit: enlarging (two taps, the vector rows
// pass) and shrinking, flipped or not, pads into the image and wider.
TEST(TrainTransform, GreyImageEqualsItsRgbExpansion) {
  for (auto [ih, iw] : {std::pair{29, 13}, std::pair{61, 47}, std::pair{17, 9}}) {
    dataset::ImageU8 grey(ih, iw, 1), rgb(ih, iw, 3);
    for (size_t i = 0; i < grey.pixels.size(); ++i) {
      grey.pixels[i] = static_cast<uint8_t>((i * 97 + i / 3) % 256);
      for (size_t c = 0; c < 3; ++c) rgb.pixels[3 * i + c] = grey.pixels[i];
    }
    for (int pad : {0, 3, 13}) {
      TrainTransformOptions o{true, pad};
      for (uint64_t seed = 0; seed < 16; ++seed) {
        std::vector<uint8_t> expected(3 * 24 * 12, 77), from_grey(3 * 24 * 12, 77);
        write_resized_transformed_chw(rgb, 24, 12, o, seed, expected.data());
        write_resized_transformed_chw(grey, 24, 12, o, seed, from_grey.data());
        ASSERT_EQ(from_grey, expected) << ih << "x" << iw << " pad " << pad << " seed " << seed;
      }
    }
  }
}

class LoaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dataset::synthetic::write_synthetic_dataset(rfm::testing::small_synthetic(), dataset.str(), 2);
    auto* d = config.mutable_data();
    *d = rfm::testing::sysu_data(dataset.str());
    d->set_ids_per_batch(3);
    d->set_images_per_modality(2);
    d->set_loader_threads(2);
    d->set_pad(4);
    for (float v : {0.5f, 0.5f, 0.5f}) d->add_mean(v);
    for (float v : {0.2f, 0.2f, 0.2f}) d->add_std(v);
    config.mutable_train()->set_seed(3);
  }
  TrainingData open(int rank = 0, int world = 1) {
    std::ostringstream log;
    return open_training_data(config, rank, world, false, log);
  }
  TempDir dataset, out;
  config::RunConfig config;
};

void expect_equal(const TrainBatch& a, const TrainBatch& b) {
  ASSERT_TRUE(a.images.equal(b.images));
  ASSERT_TRUE(a.labels.equal(b.labels));
  ASSERT_TRUE(a.modality.equal(b.modality));
  ASSERT_TRUE(a.global_rows.equal(b.global_rows));
}

TEST_F(LoaderTest, BatchHasTheSamplersRowsAndImagesInUnitRange) {
  auto data = open();
  data.loader->start(0);
  const auto batch = data.loader->next();
  EXPECT_EQ(batch.images.sizes(), (std::vector<int64_t>{12, 3, 64, 32}));
  EXPECT_EQ(batch.images.scalar_type(), torch::kUInt8);
  EXPECT_GT(batch.images.to(torch::kFloat).std().item<float>(), 10.f);
  const auto plan = data.sampler->at_step(0);
  for (int64_t i = 0; i < 12; ++i) {
    EXPECT_EQ(batch.labels[i].item<int64_t>(), plan.rows[i].label);
    EXPECT_EQ(batch.modality[i].item<int64_t>(), plan.rows[i].modality);
    EXPECT_EQ(batch.global_rows[i].item<int64_t>(), i);
  }
  EXPECT_EQ(data.loader->state().next_batch(), 1);
}

TEST_F(LoaderTest, PrefetchingEqualsAssemblingInPlaceAndResumes) {
  auto data = open();
  data.loader->start(0);
  std::vector<TrainBatch> stream;
  for (int i = 0; i < 6; ++i) stream.push_back(data.loader->next());
  for (int i = 0; i < 6; ++i) expect_equal(stream[i], data.loader->assemble(i));
  // A new process resuming at step 4 from the saved state.
  const auto state = data.sampler->state_at_step(4);
  auto resumed = open();
  resumed.loader->start(resumed.sampler->step_of(state));
  expect_equal(resumed.loader->next(), stream[4]);
  expect_equal(resumed.loader->next(), stream[5]);
}

TEST_F(LoaderTest, ReusedBatchMemoryHoldsOnlyTheNewBatch) {
  auto data = open();
  data.loader->start(0);
  std::set<const void*> buffers;
  for (int i = 0; i < 8; ++i) {
    auto batch = data.loader->next();
    const auto expected = data.loader->assemble(i).images.clone();
    ASSERT_TRUE(batch.images.equal(expected)) << "step " << i;
    buffers.insert(batch.images.data_ptr());
    batch.images.fill_(0xAB);  // what a reused buffer holds until it is rewritten
  }
  // Eight batches in at most (prefetch + threads + 2) buffers, plus the
  // in-place assemblies' one.
  EXPECT_LE(buffers.size(), 7u);
}

TEST(BatchBufferPool, ReusesAFreedBufferOfTheSameByteSizeOnly) {
  auto pool = BatchBufferPool::create(2);
  auto a = pool->uint8_tensor({2, 3, 4});
  const void* first = a.data_ptr();
  auto view = a.slice(0, 0, 1);
  a = torch::Tensor();
  EXPECT_EQ(pool->kept(), 0u);  // the view still holds it
  view = torch::Tensor();
  EXPECT_EQ(pool->kept(), 1u);
  auto other_size = pool->uint8_tensor({5});
  EXPECT_NE(other_size.data_ptr(), first);
  auto same_bytes = pool->uint8_tensor({4, 3, 2});
  EXPECT_EQ(same_bytes.data_ptr(), first);
  EXPECT_EQ(same_bytes.sizes(), (std::vector<int64_t>{4, 3, 2}));
  EXPECT_EQ(pool->kept(), 0u);
}

TEST(BatchBufferPool, KeepsAtMostItsLimitAndTensorsMayOutliveIt) {
  auto pool = BatchBufferPool::create(2);
  std::vector<torch::Tensor> held;
  for (int i = 0; i < 4; ++i) held.push_back(pool->uint8_tensor({64}));
  held.clear();
  EXPECT_EQ(pool->kept(), 2u);
  auto survivor = pool->uint8_tensor({64});
  pool.reset();
  survivor.fill_(3);  // still valid memory; freed normally when it dies
  EXPECT_EQ(survivor.sum().item<int64_t>(), 3 * 64);
}

TEST_F(LoaderTest, ShardsConcatenateToTheSingleProcessBatch) {
  auto whole = open();
  auto r0 = open(0, 2), r1 = open(1, 2);
  for (int64_t step : {0, 3}) {
    const auto a = r0.loader->assemble(step), b = r1.loader->assemble(step), w = whole.loader->assemble(step);
    EXPECT_TRUE(torch::cat({a.images, b.images}).equal(w.images));
    EXPECT_TRUE(torch::cat({a.labels, b.labels}).equal(w.labels));
    EXPECT_TRUE(torch::cat({a.global_rows, b.global_rows}).equal(w.global_rows));
  }
  EXPECT_THROW(open(0, 5), sampler::SamplerError);  // 12 rows cannot be split 5 ways
}

TEST_F(LoaderTest, PackAndFilesGiveTheSameBatches) {
  auto files = open();
  config.mutable_data()->set_pack(out.str("train.pack"));
  std::ostringstream log;
  auto packed = open_training_data(config, 0, 1, false, log);  // builds the pack
  EXPECT_NE(log.str().find("building it"), std::string::npos);
  EXPECT_TRUE(fs::exists(out.str("train.pack")));
  for (int64_t step : {0, 1, 7}) expect_equal(files.loader->assemble(step), packed.loader->assemble(step));
  // Another input size: the pack is stale.
  config.mutable_data()->set_height(128);
  config.mutable_data()->set_width(64);
  try {
    open();
    FAIL();
  } catch (const dataset::DatasetError& e) {
    EXPECT_NE(std::string(e.what()).find("stale pack: built at 64x32"), std::string::npos) << e.what();
  }
}

TEST_F(LoaderTest, AFileThatVanishesSurfacesFromNextWithItsName) {
  config.mutable_data()->set_decode_check_on_load(false);
  auto data = open();
  // An image of step 1 that step 0 does not use.
  const auto step0 = data.sampler->at_step(0), step1 = data.sampler->at_step(1);
  int64_t image = -1;
  for (const auto& r : step1.rows) {
    bool used = false;
    for (const auto& q : step0.rows) used |= q.image == r.image;
    if (!used) image = r.image;
  }
  ASSERT_GE(image, 0);
  const auto victim = dataset.str(data.set->images[static_cast<size_t>(image)].path);
  fs::remove(victim);
  data.loader->start(0);
  EXPECT_NO_THROW(data.loader->next());
  try {
    data.loader->next();
    FAIL();
  } catch (const dataset::ImageFileError& e) {
    EXPECT_NE(std::string(e.what()).find(victim), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace rfm::loader
