// The SYSU-MM01, RegDB and manifest readers and the validation on small
// trees built here, broken ones included.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "dataset/dataset_readers.h"
#include "dataset/dataset_source.h"
#include "dataset/dataset_validation.h"
#include "dataset/image_codec.h"
#include "dataset/training_set.h"
#include "tests/temp_dir.h"

namespace fs = std::filesystem;

namespace rfm::dataset {
namespace {

void write_text(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

void write_image(const fs::path& p, uint8_t value = 120) {
  fs::create_directories(p.parent_path());
  write_image_file(p.string(), ImageU8(16, 8, 3, value));
}

bool has_problem(const ValidationReport& r, const std::string& where_part, const std::string& message_part,
                 bool error = true) {
  for (const auto& p : r.problems) {
    if (p.error == error && p.where.find(where_part) != std::string::npos &&
        p.message.find(message_part) != std::string::npos)
      return true;
  }
  return false;
}

std::string dump(const ValidationReport& r) {
  std::ostringstream s;
  r.print(s);
  return s.str();
}

// ids 1, 2 train; 3 val; 4 test.  Each id: cam1 x2, cam3 x1; id 4 also cam6.
void make_sysu(const fs::path& root) {
  write_text(root / "exp/train_id.txt", "1,2\n");
  write_text(root / "exp/val_id.txt", "3\n");
  write_text(root / "exp/test_id.txt", "4\n");
  for (int cam = 1; cam <= 6; ++cam) fs::create_directories(root / ("cam" + std::to_string(cam)));
  for (const char* pid : {"0001", "0002", "0003", "0004"}) {
    write_image(root / "cam1" / pid / "0001.jpg");
    write_image(root / "cam1" / pid / "0002.jpg");
    write_image(root / "cam3" / pid / "0001.jpg");
  }
  write_image(root / "cam6/0004/0001.jpg");
  write_text(root / "cam1/0001/notes.txt", "not an image");
}

TEST(SysuReader, ListsCamerasModalitiesAndSplits) {
  rfm::testing::TempDir dir;
  make_sysu(dir.path());
  ValidationReport report;
  const auto l = list_sysu_mm01(dir.str(), SysuOptions{}, report);
  EXPECT_TRUE(report.ok()) << dump(report);
  ASSERT_EQ(l.records.size(), 13u);  // 4 ids x 3 + cam6 of id 4; notes.txt ignored
  int train = 0, infrared = 0;
  for (const auto& r : l.records) {
    train += r.split == Split::kTrain;
    infrared += r.modality == Modality::kInfrared;
    EXPECT_EQ(r.modality == Modality::kInfrared, r.camid == 3 || r.camid == 6) << r.path;
  }
  EXPECT_EQ(train, 9);  // ids 1, 2 and 3 (val counts as training)
  EXPECT_EQ(infrared, 5);
  const auto set = make_training_set(l);
  EXPECT_EQ(set.num_classes(), 3);
  EXPECT_EQ(set.pid_of_label, (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(set.num_visible, 6);
  EXPECT_EQ(set.num_infrared, 3);

  ValidationReport r2;
  const auto without_val = list_sysu_mm01(dir.str(), SysuOptions{false}, r2);
  EXPECT_EQ(make_training_set(without_val).num_classes(), 2);
}

TEST(SysuReader, BrokenTreesAreReportedByFile) {
  rfm::testing::TempDir dir;
  make_sysu(dir.path());
  fs::remove_all(dir.path() / "cam5");
  write_text(dir.path() / "exp/train_id.txt", "1,2,x7,9\n");  // bad token; id 9 has no images
  ValidationReport report;
  list_sysu_mm01(dir.str(), SysuOptions{}, report);
  EXPECT_TRUE(has_problem(report, "cam5", "missing camera folder")) << dump(report);
  EXPECT_TRUE(has_problem(report, "train_id.txt:1", "'x7' is not a person id")) << dump(report);
  EXPECT_TRUE(has_problem(report, "train_id.txt", "person id 9 has no images")) << dump(report);

  ValidationReport missing;
  fs::remove(dir.path() / "exp/test_id.txt");
  list_sysu_mm01(dir.str(), SysuOptions{}, missing);
  EXPECT_TRUE(has_problem(missing, "test_id.txt", "missing split file"));
  ValidationReport no_root;
  list_sysu_mm01(dir.str("nope"), SysuOptions{}, no_root);
  EXPECT_TRUE(has_problem(no_root, "nope", "not a directory"));
}

TEST(DatasetValidation, SingleModalityIdentitiesAndCorruptImages) {
  rfm::testing::TempDir dir;
  make_sysu(dir.path());
  fs::remove_all(dir.path() / "cam3/0002");  // training id 2: visible only
  {
    std::ofstream(dir.path() / "cam1/0001/0002.jpg", std::ios::trunc) << "\xFF\xD8\xFF garbage";
  }
  config::DataConfig d;
  d.set_source(config::DataConfig::SYSU_MM01);
  d.set_root(dir.str());
  DatasetCheck check;
  ValidationReport fail;
  list_and_check(d, check, fail);
  EXPECT_TRUE(has_problem(fail, "cam1/0001/0002.jpg", "corrupt JPEG")) << dump(fail);
  EXPECT_THROW(open_dataset(d, check), DatasetError);

  d.set_corrupt_images(config::DataConfig::SKIP);
  ValidationReport skip;
  const auto l = list_and_check(d, check, skip);
  EXPECT_EQ(skip.corrupt_skipped, 1);
  EXPECT_TRUE(has_problem(skip, "cam1/0001/0002.jpg", "skipped", false)) << dump(skip);
  EXPECT_TRUE(has_problem(skip, "person 2", "visible images only")) << dump(skip);
  EXPECT_EQ(l.records.size(), 11u);
  try {
    open_dataset(d, check);
    FAIL() << "no error";
  } catch (const DatasetError& e) {
    EXPECT_NE(std::string(e.what()).find("person 2"), std::string::npos) << e.what();
  }
}

void make_regdb(const fs::path& root) {
  for (int pid = 0; pid < 4; ++pid) {
    for (int n = 1; n <= 2; ++n) {
      write_image(root / "Visible" / std::to_string(pid) / (std::to_string(n) + ".bmp"));
      write_image(root / "Thermal" / std::to_string(pid) / (std::to_string(n) + ".bmp"));
    }
  }
  for (const char* m : {"visible", "thermal"}) {
    const std::string folder = std::string(m) == "visible" ? "Visible" : "Thermal";
    write_text(root / "idx" / ("train_" + std::string(m) + "_3.txt"),
               folder + "/0/1.bmp 0\n" + folder + "/0/2.bmp 0\n" + folder + "/1/1.bmp 1\n");
    write_text(root / "idx" / ("test_" + std::string(m) + "_3.txt"), folder + "/2/1.bmp 0\n" + folder + "/3/1.bmp 1\n");
  }
}

TEST(RegdbReader, TrialPicksTheSplitFiles) {
  rfm::testing::TempDir dir;
  make_regdb(dir.path());
  ValidationReport report;
  const auto l = list_regdb(dir.str(), 3, report);
  EXPECT_TRUE(report.ok()) << dump(report);
  ASSERT_EQ(l.records.size(), 10u);
  EXPECT_EQ(l.records[0].path, "Visible/0/1.bmp");
  EXPECT_EQ(l.records[3].modality, Modality::kInfrared);
  EXPECT_EQ(l.records[3].camid, 2);
  EXPECT_EQ(l.records[6].split, Split::kTest);
  EXPECT_EQ(make_training_set(l).num_classes(), 2);

  ValidationReport other;
  list_regdb(dir.str(), 4, other);
  EXPECT_TRUE(has_problem(other, "train_visible_4.txt", "missing index file"));
}

TEST(RegdbReader, MalformedLinesAndMissingImages) {
  rfm::testing::TempDir dir;
  make_regdb(dir.path());
  write_text(dir.path() / "idx/train_visible_3.txt", "Visible/0/1.bmp 0\nVisible/0/9.bmp 0\njust-a-path\nVisible/1/1.bmp x\n");
  ValidationReport report;
  list_regdb(dir.str(), 3, report);
  EXPECT_TRUE(has_problem(report, "train_visible_3.txt:2", "Visible/0/9.bmp: no such image")) << dump(report);
  EXPECT_TRUE(has_problem(report, "train_visible_3.txt:3", "expected 'relative/path label'")) << dump(report);
  EXPECT_TRUE(has_problem(report, "train_visible_3.txt:4", "expected 'relative/path label'")) << dump(report);
  fs::remove_all(dir.path() / "Thermal");
  ValidationReport no_folder;
  list_regdb(dir.str(), 3, no_folder);
  EXPECT_TRUE(has_problem(no_folder, "Thermal", "missing folder"));
}

TEST(ManifestReader, ParsesFieldsAndReportsBadLines) {
  rfm::testing::TempDir dir;
  write_image(dir.path() / "img/a.png");
  write_image(dir.path() / "img/b.png");
  write_text(dir.path() / "m.tsv",
             "path\tpid\tcamid\tmodality\tsplit\n"
             "img/a.png\t5\t1\tvisible\ttrain  # a comment\n"
             "img/b.png\t5\t2\tIR\ttrain\n"
             "\n"
             "img/b.png\t6\t2\tnir\tquery\n");
  ValidationReport report;
  const auto l = list_manifest(dir.str("m.tsv"), "", report);
  EXPECT_TRUE(report.ok()) << dump(report);
  ASSERT_EQ(l.records.size(), 3u);
  EXPECT_EQ(l.records[1].modality, Modality::kInfrared);
  EXPECT_EQ(l.records[2].split, Split::kQuery);
  EXPECT_EQ(l.full_path(l.records[0]), dir.str("img/a.png"));

  write_text(dir.path() / "bad.tsv",
             "img/a.png\t5\t1\tultraviolet\ttrain\n"
             "img/a.png\t5\t1\n"
             "img/zz.png\t5\t1\tvisible\ttrain\n"
             "img/a.png\t-3\t1\tvisible\ttrain\n"
             "img/a.png\t3\t1\tvisible\tholdout\n");
  ValidationReport bad;
  list_manifest(dir.str("bad.tsv"), "", bad);
  EXPECT_TRUE(has_problem(bad, "bad.tsv:1", "modality 'ultraviolet'")) << dump(bad);
  EXPECT_TRUE(has_problem(bad, "bad.tsv:2", "expected 5 tab-separated fields")) << dump(bad);
  EXPECT_TRUE(has_problem(bad, "bad.tsv:3", "img/zz.png: no such image")) << dump(bad);
  EXPECT_TRUE(has_problem(bad, "bad.tsv:4", "pid '-3'")) << dump(bad);
  EXPECT_TRUE(has_problem(bad, "bad.tsv:5", "split 'holdout'")) << dump(bad);
}

}  // namespace
}  // namespace rfm::dataset
