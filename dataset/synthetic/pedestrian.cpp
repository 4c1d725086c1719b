#include "dataset/synthetic/pedestrian.h"

namespace rfm::dataset::synthetic {
namespace {

// Garment colours (linear RGB reflectance).  Ten colours shared by every
// identity: the same colour recurs across identities by design.
constexpr std::array<std::array<float, 3>, 10> kPalette = {{
    {0.05f, 0.05f, 0.06f},  // black
    {0.80f, 0.80f, 0.78f},  // white
    {0.35f, 0.35f, 0.37f},  // grey
    {0.06f, 0.08f, 0.25f},  // navy
    {0.60f, 0.08f, 0.08f},  // red
    {0.12f, 0.25f, 0.60f},  // blue
    {0.10f, 0.35f, 0.12f},  // green
    {0.55f, 0.48f, 0.32f},  // khaki
    {0.30f, 0.18f, 0.10f},  // brown
    {0.70f, 0.55f, 0.15f},  // mustard
}};

Material garment_material(SeededRandom& rng) {
  Material m;
  m.rgb = kPalette[rng.below(kPalette.size())];
  const float jitter = static_cast<float>(rng.uniform(0.9, 1.1));
  for (auto& c : m.rgb) c *= jitter;
  // NIR independent of colour: many dyes are transparent in NIR (bright),
  // carbon-based ones absorb it (dark).
  m.nir = static_cast<float>(rng.chance(0.25) ? rng.uniform(0.05, 0.25) : rng.uniform(0.3, 0.9));
  m.thermal = static_cast<float>(rng.uniform(0.45, 0.7));  // clothing is cooler than skin
  return m;
}

Material contrasting(SeededRandom& rng, const Material& base) {
  // A second material that differs from the base in at least one spectrum.
  for (int tries = 0; tries < 16; ++tries) {
    Material m = garment_material(rng);
    float drgb = 0;
    for (int c = 0; c < 3; ++c) drgb += std::abs(m.rgb[c] - base.rgb[c]);
    if (drgb > 0.3f || std::abs(m.nir - base.nir) > 0.2f) return m;
  }
  Material m = base;
  m.nir = base.nir > 0.5f ? 0.15f : 0.85f;
  return m;
}

Garment draw_garment(SeededRandom& rng) {
  Garment g;
  g.base = garment_material(rng);
  g.second = contrasting(rng, g.base);
  const double t = rng.uniform();
  g.texture = t < 0.4   ? Texture::kPlain
              : t < 0.6 ? Texture::kHorizontalStripes
              : t < 0.7 ? Texture::kVerticalStripes
              : t < 0.8 ? Texture::kChecks
                        : Texture::kChestPrint;
  g.period = static_cast<float>(rng.uniform(0.04, 0.1));
  return g;
}

}  // namespace

PedestrianIdentity draw_identity(uint64_t seed, int64_t pid) {
  SeededRandom rng(seed, 0x1D, static_cast<uint64_t>(pid));
  PedestrianIdentity p;
  p.shoulder = static_cast<float>(rng.uniform(0.12, 0.19));
  p.waist = p.shoulder * static_cast<float>(rng.uniform(0.75, 0.95));
  p.head = static_cast<float>(rng.uniform(0.055, 0.075));
  p.leg_gap = static_cast<float>(rng.uniform(0.0, 0.035));
  p.torso_end = static_cast<float>(rng.uniform(0.46, 0.56));
  const float tone = static_cast<float>(rng.uniform(0.25, 0.75));
  // Skin reflects NIR strongly whatever its visible tone; it is the warmest
  // surface for a thermal camera.
  p.skin.rgb = {0.9f * tone + 0.1f, 0.7f * tone + 0.06f, 0.55f * tone + 0.05f};
  p.skin.nir = static_cast<float>(rng.uniform(0.55, 0.75));
  p.skin.thermal = 0.95f;
  const float h = static_cast<float>(rng.uniform(0.03, 0.45));
  p.hair.rgb = {h, h * 0.8f, h * 0.6f};
  p.hair.nir = static_cast<float>(rng.uniform(0.15, 0.5));
  p.hair.thermal = 0.6f;
  p.long_hair = rng.chance(0.35);
  p.upper = draw_garment(rng);
  p.lower = draw_garment(rng);
  if (p.lower.texture == Texture::kChestPrint) p.lower.texture = Texture::kPlain;
  p.short_sleeves = rng.chance(0.4);
  p.shorts = rng.chance(0.25);
  p.shoes = garment_material(rng);
  const double b = rng.uniform();
  p.bag = b < 0.5 ? BagStyle::kNone : b < 0.75 ? BagStyle::kBackpack : BagStyle::kShoulderBag;
  p.bag_material = contrasting(rng, p.upper.base);
  p.bag_on_left = rng.chance(0.5);
  return p;
}

}  // namespace rfm::dataset::synthetic
