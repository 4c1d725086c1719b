#pragma once
// Identities of the synthetic dataset, after the reflection model of the
// paper's Section III: a pedestrian is a few regions, each of one material;
// a material reflects the visible channels (R, G, B) and the near-infrared
// band (N) with its own reflectances, so the visible-to-NIR factor
// M(x, y, N) / M(x, y, G) is constant inside a region and differs between
// regions (Eq. 3).  Garment colours come from a small palette shared by all
// identities and NIR reflectances are drawn independently of colour (dyes
// that look alike in RGB differ in NIR and the other way round), so colour
// matches across identities and misleads across modalities; what tells
// identities apart in both spectra is structure (build, hair, sleeves,
// trousers or shorts, bag) and texture (stripes, checks, a chest print).

#include <array>
#include <cstdint>

#include "dataset/seeded_random.h"

namespace rfm::dataset::synthetic {

struct Material {
  std::array<float, 3> rgb{};  // diffuse reflectance per visible channel
  float nir = 0.5f;            // diffuse reflectance in the NIR band
  float thermal = 0.5f;        // relative emission (RegDB's thermal camera)
};

enum class Texture { kPlain, kHorizontalStripes, kVerticalStripes, kChecks, kChestPrint };

struct Garment {
  Material base, second;  // second: stripes, checks or the print
  Texture texture = Texture::kPlain;
  float period = 0.08f;   // of stripes and checks, in person heights
};

enum class BagStyle { kNone, kBackpack, kShoulderBag };

struct PedestrianIdentity {
  // Build, in units of the person's height.
  float shoulder = 0.16f, waist = 0.13f, head = 0.065f, leg_gap = 0.02f;
  float torso_end = 0.5f;  // where the upper garment ends (0.46-0.56)
  Material skin, hair;
  bool long_hair = false;
  Garment upper, lower;
  bool short_sleeves = false;
  bool shorts = false;
  Material shoes;
  BagStyle bag = BagStyle::kNone;
  Material bag_material;
  bool bag_on_left = false;
};

// Everything about identity `pid` of the dataset with `seed`.
PedestrianIdentity draw_identity(uint64_t seed, int64_t pid);

}  // namespace rfm::dataset::synthetic
