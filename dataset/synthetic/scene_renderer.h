#pragma once
// Renders one view of a synthetic pedestrian with the Lambertian model of
// Eq. 1: a pixel is sigma(x, y) * omega * E_j * M_j(material), with sigma
// the cosine between the surface normal (a cylinder across each body part)
// and the light, omega the illumination intensity, E_j the illuminant's
// relative power in channel j and M_j the material's reflectance.  Visible
// cameras render R, G, B; near-infrared cameras one channel (their own NIR
// illuminator falls off from the image centre); a thermal camera (RegDB)
// renders emission, which does not depend on the light.  Each view draws
// its own pose (walking phase, facing), scale, position, light direction,
// illumination, background clutter and sensor noise.

#include <array>
#include <cstdint>

#include "dataset/image.h"
#include "dataset/synthetic/pedestrian.h"

namespace rfm::dataset::synthetic {

enum class Spectrum { kVisible, kNearInfrared, kThermal };

struct CameraModel {
  int id = 1;
  Spectrum spectrum = Spectrum::kVisible;
  std::array<float, 3> illuminant{1.f, 1.f, 1.f};  // E_R, E_G, E_B (visible)
  float intensity = 1.f;   // omega
  bool outdoor = false;
  float noise = 0.01f;     // sensor noise, standard deviation in [0, 1] units
  float spot = 0.f;        // NIR illuminator falloff towards the corners
  float resolution = 1.f;  // rendered size relative to the dataset's
};

// SYSU-MM01's six cameras: 1, 2 indoor visible; 3 indoor NIR; 4, 5 outdoor
// visible; 6 outdoor NIR.
CameraModel sysu_camera(int camid);
// RegDB's pair: 1 visible, 2 thermal.
CameraModel regdb_camera(int camid);
// LLCM's nine cameras, each recording both modalities of one scene: low-light
// visible (dim, warm or cold street lighting, noisy) or its NIR mode.
CameraModel llcm_camera(int camid, bool infrared);

// One view; single-channel for NIR and thermal cameras.  `scene_seed` fixes
// the camera's background layout, `view_seed` everything of this view.
ImageU8 render_view(const PedestrianIdentity& person, const CameraModel& camera, uint64_t scene_seed,
                    uint64_t view_seed, int height, int width);

}  // namespace rfm::dataset::synthetic
