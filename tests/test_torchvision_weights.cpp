// Our backbone against torchvision: the fixture script writes torchvision's
// state dicts and its outputs for a fixed input (make_torchvision_reference.py).
#include <gtest/gtest.h>

#include <fstream>

#include "tests/test_paths.h"
#include "trainer/model/pretrained_weights.h"

using namespace rfm::model;

namespace {

std::string fixture(const std::string& name) { return rfm::testing::torchvision_fixtures() + "/" + name; }

torch::Tensor read_floats(const std::string& path, std::vector<int64_t> shape) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << path;
  auto t = torch::empty(shape);
  in.read(reinterpret_cast<char*>(t.data_ptr<float>()), t.nbytes());
  EXPECT_EQ(in.gcount(), static_cast<std::streamsize>(t.nbytes())) << path;
  return t;
}

std::string load_error(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const StateDictError& e) {
    return e.what();
  }
  return "";
}

void expect_reproduces(int depth, const std::string& arch, int64_t dim) {
  // LibTorch's convolutions, as torchvision's: the reference outputs are
  // reproduced to float32 rounding of the same arithmetic.
  ResNet net(ResNetOptions(depth).last_stride(2).conv3x3(rfm::kernels::Conv3x3Policy::libtorch()));
  const auto report = load_torchvision_resnet(net, fixture(arch + ".pth"));
  EXPECT_EQ(report.ignored, (std::vector<std::string>{"fc.weight", "fc.bias"}));
  net->eval();
  torch::NoGradGuard no_grad;
  auto x = read_floats(fixture(arch + "_input.bin"), {2, 3, 224, 160});
  auto expected = read_floats(fixture(arch + "_output.bin"), {2, dim});
  auto y = net->forward(x).mean({2, 3});
  const double err = (y - expected).abs().max().item<double>();
  EXPECT_LT(err, 1e-4 * (1 + expected.abs().max().item<double>())) << arch << " max abs error " << err;
}

}  // namespace

TEST(TorchvisionWeights, ResNet18ReproducesTorchvision) { expect_reproduces(18, "resnet18", 512); }

TEST(TorchvisionWeights, ResNet50ReproducesTorchvision) { expect_reproduces(50, "resnet50", 2048); }

TEST(TorchvisionWeights, FileReadsInOrderWithEveryBuffer) {
  const auto tensors = read_state_dict_file(fixture("resnet18.pth"));
  ASSERT_EQ(tensors.front().first, "conv1.weight");
  EXPECT_EQ(tensors.front().second.sizes(), torch::IntArrayRef({64, 3, 7, 7}));
  EXPECT_EQ(tensors.back().first, "fc.bias");
  bool has_counter = false;
  for (const auto& [name, t] : tensors) {
    if (name == "bn1.num_batches_tracked") {
      has_counter = t.scalar_type() == torch::kInt64;
    }
  }
  EXPECT_TRUE(has_counter);
}

TEST(TorchvisionWeights, RfmModelTakesLayer4IntoBothModalityStages) {
  RfmModel model(RfmModelOptions(50, 10).num_parts(4));
  const auto report = load_torchvision_backbone(model, fixture("resnet50.pth"));
  EXPECT_TRUE(report.ok());
  const auto tensors = read_state_dict_file(fixture("resnet50.pth"));
  auto params = model->named_parameters();
  for (const auto& [name, t] : tensors) {
    if (name == "layer4.2.conv3.weight") {
      EXPECT_TRUE(torch::equal(params["mam.visible_stage.2.conv3.weight"], t));
      EXPECT_TRUE(torch::equal(params["mam.infrared_stage.2.conv3.weight"], t));
    }
    if (name == "layer3.5.bn3.weight") {
      EXPECT_TRUE(torch::equal(params["backbone.layer3.5.bn3.weight"], t));
    }
  }
}

TEST(TorchvisionWeights, WrongDepthNamesTheKeys) {
  ResNet net(ResNetOptions(50));
  const auto err = load_error([&] { load_torchvision_resnet(net, fixture("resnet18.pth")); });
  EXPECT_NE(err.find("mis-shaped: layer1.0.conv1.weight: file [64, 64, 3, 3] vs model [64, 64, 1, 1]"), std::string::npos) << err;
  EXPECT_NE(err.find("missing: "), std::string::npos) << err;
  EXPECT_NE(err.find("layer1.0.conv3.weight"), std::string::npos) << err;
}

TEST(TorchvisionWeights, BrokenFilesAreNamed) {
  ResNet net(ResNetOptions(18));
  auto err = load_error([&] { load_torchvision_resnet(net, fixture("legacy.pth")); });
  EXPECT_NE(err.find("legacy.pth: not a torch.save zip archive"), std::string::npos) << err;
  err = load_error([&] { load_torchvision_resnet(net, fixture("truncated.pth")); });
  EXPECT_NE(err.find("truncated.pth: "), std::string::npos) << err;
  err = load_error([&] { load_torchvision_resnet(net, fixture("absent.pth")); });
  EXPECT_NE(err.find("absent.pth: cannot open the weights file"), std::string::npos) << err;
}
