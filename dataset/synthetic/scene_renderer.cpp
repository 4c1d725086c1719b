#include "dataset/synthetic/scene_renderer.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace rfm::dataset::synthetic {
namespace {

struct Surface {
  Material material;
  float shade = 1.f;  // sigma: Lambertian term
};

// Distance from p to the segment a-b, and the position t in [0, 1] along it.
float segment_distance(float px, float py, float ax, float ay, float bx, float by, float* t) {
  const float dx = bx - ax, dy = by - ay;
  const float len2 = dx * dx + dy * dy;
  *t = len2 > 0 ? std::clamp(((px - ax) * dx + (py - ay) * dy) / len2, 0.f, 1.f) : 0.f;
  const float qx = ax + *t * dx - px, qy = ay + *t * dy - py;
  return std::sqrt(qx * qx + qy * qy);
}

// Lambertian term of a cylinder at lateral position s in [-1, 1] (0 on its
// axis) lit from direction (lx, 0.3, 1).
float cylinder_shade(float s, float lx) {
  s = std::clamp(s, -1.f, 1.f);
  const float nx = s, nz = std::sqrt(std::max(0.f, 1.f - s * s));
  const float norm = std::sqrt(lx * lx + 0.09f + 1.f);
  return 0.25f + 0.75f * std::max(0.f, (nx * lx + nz) / norm);
}

Material textured(const Garment& g, float u, float v) {
  const auto cell = [&](float x) { return static_cast<int>(std::floor(x / g.period)) & 1; };
  switch (g.texture) {
    case Texture::kPlain: return g.base;
    case Texture::kHorizontalStripes: return cell(v) ? g.second : g.base;
    case Texture::kVerticalStripes: return cell(u + 1.f) ? g.second : g.base;
    case Texture::kChecks: return (cell(v) ^ cell(u + 1.f)) ? g.second : g.base;
    case Texture::kChestPrint:
      return (std::abs(u) < 0.05f && v > 0.22f && v < 0.31f) ? g.second : g.base;
  }
  return g.base;
}

struct Pose {
  float phase;     // walking: -1..1, legs and arms swing
  bool mirrored;   // facing the other way: bag and light sides swap
  float light_x;   // light direction across the image
};

// The surface at person coordinates (u across, v down; both in person
// heights, v = 0 at the top of the head, 1 at the soles), or none.
bool person_surface(const PedestrianIdentity& p, const Pose& pose, float u, float v, Surface* out) {
  if (v < 0.f || v > 1.f || std::abs(u) > 0.4f) return false;
  const float side = p.bag_on_left != pose.mirrored ? -1.f : 1.f;
  const float lx = pose.light_x;
  float t = 0;
  // Shoulder bag and its strap lie over the torso.
  if (p.bag == BagStyle::kShoulderBag) {
    const float bx0 = side * (p.waist - 0.02f), bx1 = side * (p.waist + 0.08f);
    if (v > 0.42f && v < 0.56f && u > std::min(bx0, bx1) && u < std::max(bx0, bx1)) {
      *out = {p.bag_material, cylinder_shade((u - (bx0 + bx1) / 2) / 0.06f, lx)};
      return true;
    }
    if (segment_distance(u, v, -side * p.shoulder * 0.8f, 0.16f, side * p.waist, 0.44f, &t) < 0.008f) {
      *out = {p.bag_material, 0.8f};
      return true;
    }
  }
  // Head (hair on top, or long hair down to the shoulders), then the neck.
  const float hr = p.head, hy = p.head + 0.005f;
  const float du = u / (hr * 0.8f), dv = (v - hy) / hr;
  if (du * du + dv * dv <= 1.f) {
    const bool hair = dv < -0.35f || (p.long_hair && std::abs(du) > 0.75f);
    *out = {hair ? p.hair : p.skin, cylinder_shade(du, lx)};
    return true;
  }
  if (p.long_hair && std::abs(u) < hr * 0.85f && v > hy && v < 0.24f && std::abs(u) > hr * 0.45f) {
    *out = {p.hair, cylinder_shade(u / (hr * 0.85f), lx)};
    return true;
  }
  if (std::abs(u) < 0.022f && v > hy && v < 0.16f) {
    *out = {p.skin, cylinder_shade(u / 0.022f, lx)};
    return true;
  }
  // Arms swing opposite to each other with the walking phase.
  for (int a = -1; a <= 1; a += 2) {
    const float ax = a * (p.shoulder + 0.012f), ay = 0.165f;
    const float angle = a * 0.05f + pose.phase * a * 0.22f;
    const float bx = ax + 0.32f * std::sin(angle), by = ay + 0.32f * std::cos(angle);
    const float d = segment_distance(u, v, ax, ay, bx, by, &t);
    if (d < 0.024f) {
      const float sleeve_end = p.short_sleeves ? 0.35f : 0.88f;
      const Material m = t < sleeve_end ? textured(p.upper, u, v) : p.skin;
      *out = {m, cylinder_shade(d / 0.024f * (u < ax + (bx - ax) * t ? -1.f : 1.f), lx)};
      return true;
    }
  }
  // Torso: a trapezoid from the shoulders to the waist.
  if (v >= 0.15f && v <= p.torso_end) {
    const float f = (v - 0.15f) / (p.torso_end - 0.15f);
    const float half = p.shoulder + (p.waist - p.shoulder) * f;
    if (std::abs(u) <= half) {
      *out = {textured(p.upper, u, v), cylinder_shade(u / half, lx)};
      return true;
    }
    if (p.bag == BagStyle::kBackpack && v > 0.17f && v < 0.45f) {
      const float inner = side * half, outer = side * (half + 0.05f);
      if (u > std::min(inner, outer) && u < std::max(inner, outer)) {
        *out = {p.bag_material, cylinder_shade((u - outer) / 0.05f, lx)};
        return true;
      }
    }
  }
  // Legs from the hips to the ankles, then the shoes.
  const float leg_w = p.waist * 0.48f;
  for (int l = -1; l <= 1; l += 2) {
    const float hx = l * (p.leg_gap / 2 + leg_w / 2), hy0 = p.torso_end - 0.02f;
    const float fx = hx + l * pose.phase * 0.07f, fy = 0.93f;
    const float d = segment_distance(u, v, hx, hy0, fx, fy, &t);
    if (d < leg_w / 2 && v <= fy) {
      const bool bare = p.shorts && v > p.torso_end + 0.15f;
      *out = {bare ? p.skin : textured(p.lower, u, v), cylinder_shade(d / (leg_w / 2), lx)};
      return true;
    }
    const float sx = (u - fx - 0.012f * (pose.mirrored ? -1.f : 1.f)) / 0.042f, sy = (v - 0.955f) / 0.04f;
    if (sx * sx + sy * sy <= 1.f) {
      *out = {p.shoes, cylinder_shade(sx, lx)};
      return true;
    }
  }
  return false;
}

struct Box {
  float x0, y0, x1, y1;
  Material material;
};

Material background_material(SeededRandom& rng, bool outdoor) {
  Material m;
  if (outdoor && rng.chance(0.4)) {  // vegetation: dark green, bright in NIR
    m.rgb = {0.06f, static_cast<float>(rng.uniform(0.15, 0.3)), 0.05f};
    m.nir = static_cast<float>(rng.uniform(0.6, 0.85));
    m.thermal = 0.35f;
    return m;
  }
  const float g = static_cast<float>(rng.uniform(0.15, 0.7));
  m.rgb = {g * static_cast<float>(rng.uniform(0.8, 1.2)), g, g * static_cast<float>(rng.uniform(0.8, 1.2))};
  m.nir = std::clamp(g + static_cast<float>(rng.normal(0.0, 0.15)), 0.05f, 0.9f);
  m.thermal = static_cast<float>(rng.uniform(0.2, 0.4));
  return m;
}

}  // namespace

CameraModel sysu_camera(int camid) {
  CameraModel c;
  c.id = camid;
  switch (camid) {
    case 1: c.illuminant = {1.0f, 0.85f, 0.62f}; c.intensity = 1.0f; c.noise = 0.012f; break;   // warm indoor
    case 2: c.illuminant = {0.88f, 1.0f, 0.95f}; c.intensity = 0.9f; c.noise = 0.015f; break;   // fluorescent
    case 3: c.spectrum = Spectrum::kNearInfrared; c.intensity = 1.1f; c.noise = 0.03f; c.spot = 0.45f;
            c.resolution = 1.25f; break;
    case 4: c.illuminant = {0.95f, 1.0f, 1.1f}; c.intensity = 1.3f; c.outdoor = true; c.noise = 0.01f; break;
    case 5: c.illuminant = {0.9f, 0.95f, 1.05f}; c.intensity = 0.85f; c.outdoor = true; c.noise = 0.018f; break;
    default: c.id = 6; c.spectrum = Spectrum::kNearInfrared; c.intensity = 0.9f; c.outdoor = true; c.noise = 0.04f;
             c.spot = 0.7f; c.resolution = 1.25f; break;
  }
  return c;
}

CameraModel regdb_camera(int camid) {
  CameraModel c;
  c.id = camid;
  c.outdoor = true;
  if (camid == 2) {
    c.spectrum = Spectrum::kThermal;
    c.noise = 0.02f;
  } else {
    c.illuminant = {0.95f, 1.0f, 1.05f};
    c.intensity = 1.1f;
  }
  return c;
}

CameraModel llcm_camera(int camid, bool infrared) {
  CameraModel c;
  c.id = camid;  // one scene per camera, whichever mode records it
  c.outdoor = camid > 4;
  if (infrared) {
    c.spectrum = Spectrum::kNearInfrared;
    c.intensity = 0.8f + 0.05f * static_cast<float>(camid % 4);
    c.noise = 0.035f;
    c.spot = 0.4f + 0.05f * static_cast<float>(camid % 3);
  } else {
    // Low light: a third to a half of the SYSU cameras' exposure, sodium
    // (warm) or LED (cold) street lighting, more sensor noise.
    const bool sodium = camid % 2 == 1;
    c.illuminant = sodium ? std::array<float, 3>{1.0f, 0.78f, 0.5f} : std::array<float, 3>{0.85f, 0.95f, 1.0f};
    c.intensity = 0.35f + 0.03f * static_cast<float>(camid);
    c.noise = 0.03f;
  }
  return c;
}

ImageU8 render_view(const PedestrianIdentity& person, const CameraModel& camera, uint64_t scene_seed,
                    uint64_t view_seed, int height, int width) {
  SeededRandom scene(scene_seed, static_cast<uint64_t>(camera.id));
  SeededRandom view(view_seed);
  // The camera's fixed scene: a wall or far background, and a floor line.
  const Material far = background_material(scene, camera.outdoor);
  Material floor = background_material(scene, false);
  floor.nir *= 0.8f;
  const float horizon = static_cast<float>(scene.uniform(0.7, 0.85));
  std::vector<Box> clutter;
  const int fixed = 2 + static_cast<int>(scene.below(3));
  const int moving = static_cast<int>(view.below(3));  // things that come and go per view
  for (int i = 0; i < fixed + moving; ++i) {
    SeededRandom& r = i < fixed ? scene : view;
    const float x0 = static_cast<float>(r.uniform(-0.2, 1.0)), y0 = static_cast<float>(r.uniform(0.0, 0.7));
    clutter.push_back({x0, y0, x0 + static_cast<float>(r.uniform(0.1, 0.5)), y0 + static_cast<float>(r.uniform(0.1, 0.6)),
                       background_material(r, camera.outdoor)});
  }

  Pose pose{static_cast<float>(view.uniform(-1.0, 1.0)), view.chance(0.5), static_cast<float>(view.uniform(-0.8, 0.8))};
  const float person_h = static_cast<float>(view.uniform(0.8, 0.95)) * height;
  const float top = static_cast<float>(view.uniform(0.02, 1.0 - person_h / height - 0.01)) * height;
  const float cx = width * (0.5f + static_cast<float>(view.uniform(-0.08, 0.08)));
  const float omega = camera.intensity * static_cast<float>(view.uniform(0.75, 1.25));
  const float exposure = 1.15f;
  const int channels = camera.spectrum == Spectrum::kVisible ? 3 : 1;

  ImageU8 img(height, width, channels);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      float u = (x + 0.5f - cx) / person_h;
      const float v = (y + 0.5f - top) / person_h;
      if (pose.mirrored) u = -u;
      Surface s;
      if (!person_surface(person, pose, u, v, &s)) {
        const float fx = (x + 0.5f) / width, fy = (y + 0.5f) / height;
        s = {fy > horizon ? floor : far, 0.85f + 0.15f * fy};
        for (const auto& b : clutter) {
          if (fx >= b.x0 && fx < b.x1 && fy >= b.y0 && fy < b.y1 && fy <= horizon + 0.05f) s.material = b.material;
        }
      }
      const float dx = (x + 0.5f) / width - 0.5f, dy = (y + 0.5f) / height - 0.5f;
      float value[3];
      if (camera.spectrum == Spectrum::kVisible) {
        for (int c = 0; c < 3; ++c) value[c] = s.shade * omega * camera.illuminant[c] * s.material.rgb[c];
      } else if (camera.spectrum == Spectrum::kNearInfrared) {
        const float spot = 1.f - camera.spot * std::min(1.f, 2.f * (dx * dx + dy * dy));
        value[0] = s.shade * omega * spot * s.material.nir;
      } else {
        value[0] = s.material.thermal * (0.85f + 0.15f * s.shade);
      }
      uint8_t* out = img.at(y, x);
      for (int c = 0; c < channels; ++c) {
        const float linear = std::clamp(value[c] * exposure + static_cast<float>(view.normal(0.0, camera.noise)), 0.f, 1.f);
        out[c] = static_cast<uint8_t>(std::lround(255.f * std::pow(linear, 1.f / 2.2f)));
      }
    }
  }
  return img;
}

}  // namespace rfm::dataset::synthetic
