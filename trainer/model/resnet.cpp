#include "trainer/model/resnet.h"

#include <array>
#include <stdexcept>

#include "trainer/model/autocast_scope.h"

namespace rfm::model {
namespace {

namespace nn = torch::nn;

nn::Conv2d conv(int64_t in, int64_t out, int64_t k, int64_t stride, int64_t pad) {
  return nn::Conv2d(nn::Conv2dOptions(in, out, k).stride(stride).padding(pad).bias(false));
}

// torchvision's init: Kaiming normal (fan_out, relu) for convolutions,
// BN weight 1 and bias 0.
void init_like_torchvision(nn::Module& module) {
  torch::NoGradGuard no_grad;
  for (auto& m : module.modules(/*include_self=*/false)) {
    if (auto* c = m->as<nn::Conv2d>()) {
      nn::init::kaiming_normal_(c->weight, 0.0, torch::kFanOut, torch::kReLU);
    } else if (auto* b = m->as<SyncBatchNormImpl>()) {
      nn::init::ones_(b->weight);
      nn::init::zeros_(b->bias);
    }
  }
}

// A 3x3 convolution that may run as Winograd F(m x m, 3x3): `winograd` is
// the layer's answer from its Conv3x3Policy, known when it is built;
// winograd_applicable checks the input's.  Under autocast LibTorch's
// convolution runs, so that autocast casts it as it would anywhere else.
torch::Tensor conv3x3(nn::Conv2d& conv, bool winograd, kernels::WinogradTile tile, const torch::Tensor& x) {
  return winograd && !autocast_enabled(x.device().type()) && kernels::winograd_applicable(x, conv->weight)
             ? kernels::winograd_conv3x3(x, conv->weight, tile)
             : conv->forward(x);
}

struct BlockSpec {
  bool bottleneck;
  std::array<int, 4> blocks;
};

BlockSpec spec_for(int depth) {
  switch (depth) {
    case 18: return {false, {2, 2, 2, 2}};
    case 34: return {false, {3, 4, 6, 3}};
    case 50: return {true, {3, 4, 6, 3}};
    default: throw std::invalid_argument("ResNet depth must be 18, 34 or 50, got " + std::to_string(depth));
  }
}

// BasicBlock: two 3x3 convolutions, stride on the first.
class BasicBlockImpl : public nn::Module {
 public:
  BasicBlockImpl(int64_t in, int64_t planes, int64_t stride, const kernels::Conv3x3Policy& policy)
      : winograd1_(policy.winograd_for(in, planes, stride)),
        winograd2_(policy.winograd_for(planes, planes, 1)),
        tile_(policy.winograd_tile) {
    conv1 = register_module("conv1", conv(in, planes, 3, stride, 1));
    bn1 = register_module("bn1", SyncBatchNorm(planes));
    conv2 = register_module("conv2", conv(planes, planes, 3, 1, 1));
    bn2 = register_module("bn2", SyncBatchNorm(planes));
    if (stride != 1 || in != planes) {
      downsample = register_module("downsample", nn::Sequential(conv(in, planes, 1, stride, 0), SyncBatchNorm(planes)));
    }
  }
  torch::Tensor forward(const torch::Tensor& x) {
    auto out = torch::relu(bn1(conv3x3(conv1, winograd1_, tile_, x)));
    out = bn2(conv3x3(conv2, winograd2_, tile_, out));
    return torch::relu(out + (downsample ? downsample->forward(x) : x));
  }
  nn::Conv2d conv1{nullptr}, conv2{nullptr};
  SyncBatchNorm bn1{nullptr}, bn2{nullptr};
  nn::Sequential downsample{nullptr};

 private:
  bool winograd1_, winograd2_;
  kernels::WinogradTile tile_;
};
TORCH_MODULE(BasicBlock);

// Bottleneck (torchvision's v1.5): the stride sits on the 3x3 convolution.
class BottleneckImpl : public nn::Module {
 public:
  BottleneckImpl(int64_t in, int64_t planes, int64_t stride, const kernels::Conv3x3Policy& policy)
      : winograd2_(policy.winograd_for(planes, planes, stride)), tile_(policy.winograd_tile) {
    const int64_t out = planes * 4;
    conv1 = register_module("conv1", conv(in, planes, 1, 1, 0));
    bn1 = register_module("bn1", SyncBatchNorm(planes));
    conv2 = register_module("conv2", conv(planes, planes, 3, stride, 1));
    bn2 = register_module("bn2", SyncBatchNorm(planes));
    conv3 = register_module("conv3", conv(planes, out, 1, 1, 0));
    bn3 = register_module("bn3", SyncBatchNorm(out));
    if (stride != 1 || in != out) {
      downsample = register_module("downsample", nn::Sequential(conv(in, out, 1, stride, 0), SyncBatchNorm(out)));
    }
  }
  torch::Tensor forward(const torch::Tensor& x) {
    auto out = torch::relu(bn1(conv1(x)));
    out = torch::relu(bn2(conv3x3(conv2, winograd2_, tile_, out)));
    out = bn3(conv3(out));
    return torch::relu(out + (downsample ? downsample->forward(x) : x));
  }
  nn::Conv2d conv1{nullptr}, conv2{nullptr}, conv3{nullptr};
  SyncBatchNorm bn1{nullptr}, bn2{nullptr}, bn3{nullptr};
  nn::Sequential downsample{nullptr};

 private:
  bool winograd2_;
  kernels::WinogradTile tile_;
};
TORCH_MODULE(Bottleneck);

}  // namespace

int64_t resnet_stage_channels(int depth, int stage) {
  const int64_t planes = int64_t{64} << (stage - 1);
  return spec_for(depth).bottleneck ? planes * 4 : planes;
}

nn::Sequential make_resnet_stage(int depth, int stage, int64_t stride, const kernels::Conv3x3Policy& conv3x3) {
  const BlockSpec spec = spec_for(depth);
  const int64_t planes = int64_t{64} << (stage - 1);
  int64_t in = stage == 1 ? 64 : resnet_stage_channels(depth, stage - 1);
  nn::Sequential layer;
  for (int b = 0; b < spec.blocks[stage - 1]; ++b) {
    const int64_t s = b == 0 ? stride : 1;
    if (spec.bottleneck) {
      layer->push_back(Bottleneck(in, planes, s, conv3x3));
    } else {
      layer->push_back(BasicBlock(in, planes, s, conv3x3));
    }
    in = resnet_stage_channels(depth, stage);
  }
  init_like_torchvision(*layer);
  return layer;
}

ResNetImpl::ResNetImpl(const ResNetOptions& options) : options_(options) {
  conv1 = register_module("conv1", conv(3, 64, 7, 2, 3));
  bn1 = register_module("bn1", SyncBatchNorm(64));
  const kernels::Conv3x3Policy& policy = options.conv3x3();
  layer1 = register_module("layer1", make_resnet_stage(options.depth(), 1, 1, policy));
  layer2 = register_module("layer2", make_resnet_stage(options.depth(), 2, 2, policy));
  layer3 = register_module("layer3", make_resnet_stage(options.depth(), 3, 2, policy));
  if (options.with_layer4()) {
    layer4 = register_module("layer4", make_resnet_stage(options.depth(), 4, options.last_stride(), policy));
  }
  init_like_torchvision(*this);
}

torch::Tensor ResNetImpl::forward_to_layer3(const torch::Tensor& x) {
  auto out = torch::relu(bn1(conv1(x)));
  out = torch::max_pool2d(out, 3, 2, 1);
  return layer3->forward(layer2->forward(layer1->forward(out)));
}

torch::Tensor ResNetImpl::forward(const torch::Tensor& x) {
  auto out = forward_to_layer3(x);
  return layer4 ? layer4->forward(out) : out;
}

void copy_module_state(const nn::Module& source, nn::Module& target) {
  torch::NoGradGuard no_grad;
  auto src_params = source.named_parameters();
  for (auto& p : target.named_parameters()) p.value().copy_(src_params[p.key()]);
  auto src_buffers = source.named_buffers();
  for (auto& b : target.named_buffers()) b.value().copy_(src_buffers[b.key()]);
}

}  // namespace rfm::model
