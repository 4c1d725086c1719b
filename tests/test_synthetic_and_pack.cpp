// The synthetic dataset (written, deterministic, valid in each layout) and
// the pack file (equal to decoding, stale and corrupt packs refused).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>

#include "dataset/dataset_readers.h"
#include "dataset/dataset_source.h"
#include "dataset/image_codec.h"
#include "dataset/image_resize.h"
#include "dataset/pack_file.h"
#include "dataset/synthetic/scene_renderer.h"
#include "dataset/training_set.h"
#include "tests/synthetic_fixture.h"
#include "tests/temp_dir.h"

namespace fs = std::filesystem;

namespace rfm::dataset {
namespace {

using rfm::testing::small_synthetic;
using rfm::testing::sysu_data;
using rfm::testing::TempDir;

TEST(SyntheticDataset, SysuLayoutIsValidAndDeterministic) {
  TempDir a, b;
  const auto o = small_synthetic();
  const auto s = synthetic::write_synthetic_dataset(o, a.str(), 2);
  EXPECT_EQ(s.identities, 11);
  synthetic::write_synthetic_dataset(o, b.str(), 1);  // other thread count, same bytes
  ValidationReport report;
  DatasetCheck check;
  const auto listing = list_and_check(sysu_data(a.str()), check, report);
  ASSERT_TRUE(report.ok()) << report.first_error_line("synthetic");
  EXPECT_EQ(static_cast<int64_t>(listing.records.size()), s.visible_images + s.infrared_images);
  EXPECT_EQ(report.images_decoded, s.visible_images + s.infrared_images);
  const auto set = make_training_set(listing);
  EXPECT_EQ(set.num_classes(), 8);  // train + val
  for (const auto& r : listing.records) {
    ASSERT_EQ(read_file_bytes(a.str(r.path)), read_file_bytes(b.str(r.path))) << r.path;
  }
  // Infrared renders are single-channel (grey); visible ones are not.
  for (const auto& r : listing.records) {
    const auto img = read_image_file(listing.full_path(r));
    bool grey = true;
    for (size_t i = 0; i < img.pixels.size(); i += 3) grey &= img.pixels[i] == img.pixels[i + 1] && img.pixels[i] == img.pixels[i + 2];
    EXPECT_EQ(grey, r.modality == Modality::kInfrared) << r.path;
    EXPECT_EQ(img.height, r.modality == Modality::kInfrared ? 80 : 64) << r.path;  // IR cameras at 1.25x
  }
}

TEST(SyntheticDataset, RerunReusesAndOtherOptionsAreRefused) {
  TempDir dir;
  auto o = small_synthetic();
  synthetic::write_synthetic_dataset(o, dir.str(), 2);
  EXPECT_TRUE(synthetic::write_synthetic_dataset(o, dir.str(), 2).reused);
  o.set_seed(12);
  EXPECT_THROW(synthetic::write_synthetic_dataset(o, dir.str(), 2), DatasetError);
  TempDir foreign;
  std::ofstream(foreign.path() / "something.txt") << "x";
  EXPECT_THROW(synthetic::write_synthetic_dataset(small_synthetic(), foreign.str(), 2), DatasetError);
}

TEST(SyntheticDataset, RegdbLayoutListsEveryTrial) {
  TempDir dir;
  const auto o = small_synthetic(config::SyntheticConfig::REGDB);
  synthetic::write_synthetic_dataset(o, dir.str(), 2);
  for (int trial : {1, 10}) {
    ValidationReport report;
    const auto l = list_regdb(dir.str(), trial, report);
    ASSERT_TRUE(report.ok()) << report.first_error_line("regdb");
    EXPECT_EQ(l.records.size(), 11u * 2 * 2);
    EXPECT_EQ(make_training_set(l).num_classes(), 8);
  }
}

// LLCM's layout: the split files, both modalities per camera (no infrared
// camera 3), dense training labels, grey infrared images, and a dataset the
// reader lists without a problem and the training set accepts.
TEST(SyntheticDataset, LlcmLayoutAsPublished) {
  TempDir dir;
  const auto o = small_synthetic(config::SyntheticConfig::LLCM);
  const auto summary = synthetic::write_synthetic_dataset(o, dir.str(), 2);
  ValidationReport report;
  const auto l = list_llcm(dir.str(), report);
  ASSERT_TRUE(report.ok()) << report.first_error_line("llcm");
  EXPECT_EQ(static_cast<int64_t>(l.records.size()), summary.visible_images + summary.infrared_images);
  std::set<int64_t> train_labels, test_ids;
  std::set<std::pair<int64_t, int>> visible_at, infrared_at;
  for (const auto& r : l.records) {
    if (r.split == Split::kTrain) {
      train_labels.insert(r.pid);
      EXPECT_EQ(r.path.rfind(r.modality == Modality::kVisible ? "train_vis/cam" : "train_nir/cam", 0), 0u) << r.path;
      EXPECT_GE(r.camid, 1) << r.path;  // read from the path
    } else {
      test_ids.insert(r.pid);
      (r.modality == Modality::kVisible ? visible_at : infrared_at).insert({r.pid, r.camid});
    }
    if (r.modality == Modality::kInfrared) {
      EXPECT_NE(r.camid, 3) << r.path;
    }
  }
  // Labels 0..7, dense; 3 test identities, each in both modalities.
  EXPECT_EQ(train_labels, (std::set<int64_t>{0, 1, 2, 3, 4, 5, 6, 7}));
  EXPECT_EQ(test_ids.size(), 3u);
  for (const int64_t pid : test_ids) {
    EXPECT_TRUE(std::any_of(visible_at.begin(), visible_at.end(), [&](const auto& g) { return g.first == pid; }));
    EXPECT_TRUE(std::any_of(infrared_at.begin(), infrared_at.end(), [&](const auto& g) { return g.first == pid; }));
  }
  EXPECT_EQ(make_training_set(l).num_classes(), 8);
  // Infrared images are grey.
  for (const auto& r : l.records) {
    if (r.modality != Modality::kInfrared) continue;
    const auto image = read_image_file(l.full_path(r));
    int64_t colour = 0;
    for (size_t i = 0; i + 2 < image.pixels.size(); i += 3) {
      colour += std::abs(image.pixels[i] - image.pixels[i + 1]) + std::abs(image.pixels[i + 1] - image.pixels[i + 2]);
    }
    EXPECT_EQ(colour, 0) << r.path;
    break;
  }
}

TEST(LlcmReader, BrokenLayoutsAreReportedByFile) {
  TempDir dir;
  synthetic::write_synthetic_dataset(small_synthetic(config::SyntheticConfig::LLCM), dir.str(), 2);
  {
    std::ofstream(dir.path() / "idx/train_nir.txt", std::ios::app) << "train_nir/cam1/9999/0001.jpg 3\nno-label-here\n";
    std::ofstream(dir.path() / "idx/test_id.txt", std::ios::trunc) << "1,x\n";
  }
  ValidationReport report;
  list_llcm(dir.str(), report);
  std::string all;
  for (const auto& p : report.problems) all += p.where + ": " + p.message + "\n";
  EXPECT_NE(all.find("train_nir.txt:"), std::string::npos) << all;
  EXPECT_NE(all.find("train_nir/cam1/9999/0001.jpg: no such image"), std::string::npos) << all;
  EXPECT_NE(all.find("expected 'relative/path label', got 'no-label-here'"), std::string::npos) << all;
  EXPECT_NE(all.find("test_id.txt:1: 'x' is not a person id"), std::string::npos) << all;
  fs::remove_all(dir.path() / "test_nir");
  ValidationReport no_folder;
  list_llcm(dir.str(), no_folder);
  EXPECT_FALSE(no_folder.ok());
  EXPECT_NE(no_folder.first_error_line("LLCM").find("test_nir: missing folder"), std::string::npos)
      << no_folder.first_error_line("LLCM");
}

TEST(SyntheticRenderer, NirToVisibleFactorIsConstantWithinAMaterial) {
  // Section III: with noise off and the same view (pose, light, omega), the
  // linear NIR / G ratio of a material's pixels is its reflectance ratio,
  // wherever the shading puts them.  The upper garment is the only green
  // surface here: G / NIR = 0.5 / 0.25.
  auto person = synthetic::draw_identity(3, 1);
  person.upper.texture = synthetic::Texture::kPlain;
  person.upper.base.rgb = {0.04f, 0.5f, 0.04f};
  person.upper.base.nir = 0.25f;
  person.lower.base.rgb = person.lower.second.rgb = person.shoes.rgb = {0.5f, 0.1f, 0.1f};
  person.bag = synthetic::BagStyle::kNone;
  auto vis = synthetic::sysu_camera(1);  // indoor: no vegetation behind
  auto nir = synthetic::sysu_camera(3);
  vis.noise = nir.noise = 0.f;
  nir.spot = 0.f;
  vis.illuminant = {1.f, 1.f, 1.f};
  nir.intensity = vis.intensity;
  const auto v = synthetic::render_view(person, vis, 5, 99, 128, 64);
  const auto n = synthetic::render_view(person, nir, 5, 99, 128, 64);
  auto linear = [](uint8_t x) { return std::pow(x / 255.0, 2.2); };
  int checked = 0;
  double lo = 1e9, hi = 0;
  for (int y = 0; y < 128; ++y) {
    for (int x = 0; x < 64; ++x) {
      const double r = linear(v.at(y, x)[0]), g = linear(v.at(y, x)[1]), b = linear(v.at(y, x)[2]);
      if (!(g > 0.05 && g > 4 * r && g > 4 * b)) continue;
      const double ratio = linear(n.at(y, x)[0]) / g;
      lo = std::min(lo, ratio);
      hi = std::max(hi, ratio);
      ++checked;
    }
  }
  EXPECT_GT(checked, 100);
  EXPECT_NEAR(lo, 0.5, 0.06);
  EXPECT_NEAR(hi, 0.5, 0.06);
}

class PackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    synthetic::write_synthetic_dataset(small_synthetic(), dataset.str(), 2);
    ValidationReport r;
    DatasetCheck check;
    check.decode_images = false;
    listing = open_dataset(sysu_data(dataset.str()), check, &r);
    options.height = 64;
    options.width = 32;
  }
  TempDir dataset, out;
  DatasetListing listing;
  PackOptions options;
};

TEST_F(PackTest, ImagesEqualDecodeAndResize) {
  ValidationReport report;
  const auto index = write_pack(out.str("p.pack"), listing, options, report);
  PackReader pack(out.str("p.pack"));
  ASSERT_EQ(pack.size(), static_cast<int64_t>(listing.records.size()));
  EXPECT_EQ(index.images_size(), pack.size());
  for (int64_t i = 0; i < pack.size(); i += 7) {
    const auto& r = listing.records[static_cast<size_t>(i)];
    const auto expected = resize_bilinear(read_image_file(listing.full_path(r)), 64, 32);
    EXPECT_EQ(pack.image(i, true).pixels, expected.pixels) << r.path;
  }
  const auto back = pack.listing();
  ASSERT_EQ(back.records.size(), listing.records.size());
  EXPECT_EQ(back.records[5].path, listing.records[5].path);
  EXPECT_EQ(back.records[5].pid, listing.records[5].pid);
  EXPECT_EQ(back.records[5].modality, listing.records[5].modality);
  EXPECT_EQ(pack.staleness(listing, 64, 32), "");
  EXPECT_NE(pack.staleness(listing, 128, 64).find("built at 64x32"), std::string::npos);
}

TEST_F(PackTest, ChangedDatasetMakesThePackStale) {
  ValidationReport report;
  write_pack(out.str("p.pack"), listing, options, report);
  PackReader pack(out.str("p.pack"));
  const auto victim = listing.full_path(listing.records[3]);
  write_image_file(victim, ImageU8(64, 32, 3, 9));
  EXPECT_NE(pack.staleness(listing, 64, 32).find("changed since packing"), std::string::npos);
  fs::remove(victim);
  EXPECT_NE(pack.staleness(listing, 64, 32).find(victim), std::string::npos);
}

TEST_F(PackTest, CorruptPacksAreRefused) {
  ValidationReport report;
  write_pack(out.str("p.pack"), listing, options, report);
  const auto bytes = read_file_bytes(out.str("p.pack"));
  auto write = [&](const std::string& name, const std::vector<uint8_t>& b) {
    std::ofstream f(out.str(name), std::ios::binary);
    f.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
  };
  write("truncated.pack", std::vector<uint8_t>(bytes.begin(), bytes.end() - 100));
  EXPECT_THROW(PackReader(out.str("truncated.pack")), DatasetError);
  auto magic = bytes;
  magic[0] = 'X';
  write("magic.pack", magic);
  EXPECT_THROW(PackReader(out.str("magic.pack")), DatasetError);
  auto flipped = bytes;
  flipped[flipped.size() - 5] ^= 0xFF;  // in the last image's pixels
  write("flipped.pack", flipped);
  PackReader pack(out.str("flipped.pack"));
  EXPECT_THROW(pack.image(pack.size() - 1, true), DatasetError);
  EXPECT_NO_THROW(pack.image(pack.size() - 1, false));
  EXPECT_NO_THROW(pack.image(0, true));
  write("empty.pack", {});
  EXPECT_THROW(PackReader(out.str("empty.pack")), DatasetError);
  EXPECT_THROW(PackReader(out.str("absent.pack")), DatasetError);
}

TEST_F(PackTest, CorruptSourceImageFailsOrIsSkipped) {
  std::ofstream(listing.full_path(listing.records[2]), std::ios::trunc) << "not an image";
  ValidationReport fail;
  EXPECT_THROW(write_pack(out.str("f.pack"), listing, options, fail), DatasetError);
  EXPECT_FALSE(fs::exists(out.str("f.pack")));
  options.policy = CorruptPolicy::kSkip;
  ValidationReport skip;
  const auto index = write_pack(out.str("s.pack"), listing, options, skip);
  EXPECT_EQ(skip.corrupt_skipped, 1);
  EXPECT_EQ(index.images_size() + 1, static_cast<int>(listing.records.size()));
  EXPECT_EQ(index.skipped_corrupt(), 1u);
}

}  // namespace
}  // namespace rfm::dataset
