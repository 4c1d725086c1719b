// rfm export's writers: safetensors (our reader and the byte layout the
// format fixes) and torch.save's zip format (our torch.save reader), round
// trips of every dtype a model holds, a 0-dim buffer included.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>

#include "temp_dir.h"
#include "trainer/model/state_dict_export.h"

using namespace rfm::model;

namespace {

NamedTensors sample_tensors() {
  torch::manual_seed(3);
  return {{"backbone.conv1.weight", torch::randn({4, 3, 3, 3})},
          {"head.norms.0.running_var", torch::rand({7}, torch::kFloat64)},
          {"head.norms.0.num_batches_tracked", torch::tensor(12, torch::kInt64)},
          {"mask", torch::tensor({true, false, true})},
          {"name \"with\" quotes\\", torch::arange(6, torch::kInt32).view({2, 3})}};
}

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

}  // namespace

TEST(StateDictExport, SafetensorsRoundTripAndLayout) {
  rfm::testing::TempDir dir;
  const auto path = dir.str("m.safetensors");
  const auto tensors = sample_tensors();
  write_safetensors(path, tensors, {{"format", "pt"}, {"rfm.note", "line\nbreak"}});
  const auto file = read_safetensors(path);
  ASSERT_EQ(file.tensors.size(), tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    EXPECT_EQ(file.tensors[i].first, tensors[i].first);  // data in the order written
    EXPECT_EQ(file.tensors[i].second.scalar_type(), tensors[i].second.scalar_type()) << tensors[i].first;
    EXPECT_EQ(file.tensors[i].second.sizes(), tensors[i].second.sizes()) << tensors[i].first;
    EXPECT_TRUE(torch::equal(file.tensors[i].second, tensors[i].second)) << tensors[i].first;
  }
  EXPECT_EQ(file.metadata.at("format"), "pt");
  EXPECT_EQ(file.metadata.at("rfm.note"), "line\nbreak");

  // The layout: header length, JSON padded to 8 bytes, then the first tensor's raw bytes.
  const auto bytes = read_all(path);
  uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  EXPECT_EQ((8 + n) % 8, 0u);
  const std::string header = bytes.substr(8, n);
  EXPECT_NE(header.find("\"backbone.conv1.weight\":{\"dtype\":\"F32\",\"shape\":[4,3,3,3],\"data_offsets\":[0,432]}"),
            std::string::npos) << header;
  EXPECT_NE(header.find("\"head.norms.0.num_batches_tracked\":{\"dtype\":\"I64\",\"shape\":[],"), std::string::npos);
  EXPECT_EQ(std::memcmp(bytes.data() + 8 + n, tensors[0].second.data_ptr(), 432), 0);
  EXPECT_EQ(bytes.size(), 8 + n + 432 + 7 * 8 + 8 + 3 + 6 * 4);
}

TEST(StateDictExport, SafetensorsReaderNamesWhatIsWrong) {
  rfm::testing::TempDir dir;
  const auto path = dir.str("bad.safetensors");
  // A header that promises 8 bytes of data the file does not have.
  const std::string json = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
  std::string length(8, '\0');
  length[0] = static_cast<char>(json.size());
  std::ofstream(path, std::ios::binary) << length << json;
  try {
    read_safetensors(path);
    FAIL() << "read a file whose data is missing";
  } catch (const StateDictError& e) {
    EXPECT_NE(std::string(e.what()).find("bad.safetensors: not a safetensors file: "), std::string::npos) << e.what();
  }
  std::ofstream(path, std::ios::binary | std::ios::trunc) << "short";
  EXPECT_THROW(read_safetensors(path), StateDictError);
}

TEST(StateDictExport, TorchSaveRoundTrip) {
  rfm::testing::TempDir dir;
  const auto path = dir.str("m.pth");
  const auto tensors = sample_tensors();
  write_torch_save(path, tensors);
  const auto back = read_state_dict_file(path);
  ASSERT_EQ(back.size(), tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    EXPECT_EQ(back[i].first, tensors[i].first);
    EXPECT_TRUE(torch::equal(back[i].second, tensors[i].second)) << tensors[i].first;
  }
}
