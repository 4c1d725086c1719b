#pragma once
// Which kernel a model's 3x3 convolutions run on: the one question ResNet
// and MAM ask about CPU tuning.  A layer is built knowing its channels and
// stride; it asks winograd_for() once, and at each forward
// winograd_applicable() (winograd_conv.h) checks the input.  The run
// config's `cpu_kernels` section fills it (trainer/model_io/config_bridge).

#include <cstdint>

#include "trainer/kernels/winograd_conv.h"

namespace rfm::kernels {

struct Conv3x3Policy {
  // Stride-1 layers with at least this many input and output channels run
  // as Winograd F(m x m, 3x3) on the CPU in float32 or float64; 0: never.
  // The default is the config's (proto cpu_kernels.winograd_min_channels;
  // a test holds them equal): every 3x3 stride-1 layer of a ResNet.
  int64_t winograd_min_channels = 64;
  WinogradTile winograd_tile = WinogradTile::kAuto;

  // LibTorch's convolution everywhere: what reproducing another
  // implementation to its last bits needs.
  static Conv3x3Policy libtorch() { return Conv3x3Policy{0, WinogradTile::kAuto}; }

  // Whether a layer of this geometry runs as Winograd where its input allows.
  bool winograd_for(int64_t in_channels, int64_t out_channels, int64_t stride) const {
    return winograd_min_channels > 0 && stride == 1 && in_channels >= winograd_min_channels &&
           out_channels >= winograd_min_channels;
  }

  bool operator==(const Conv3x3Policy& other) const {
    return winograd_min_channels == other.winograd_min_channels && winograd_tile == other.winograd_tile;
  }
};

}  // namespace rfm::kernels
