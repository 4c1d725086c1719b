#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <vector>

#include "trainer/augment/ltg.h"
#include "trainer/kernels/ltg_memory_grid.h"
#include "trainer/augment/ltg_preview.h"
#include "trainer/augment/png_image.h"

using namespace rfm::augment;
using rfm::kernels::LtgMemoryGrid;
using rfm::kernels::SplitMix64;

namespace {

torch::Tensor random_images(int64_t b, int64_t h, int64_t w, uint64_t seed) {
  auto gen = at::detail::createCPUGenerator(seed);
  return torch::rand({b, 3, h, w}, gen);
}

std::vector<uint64_t> seeds_for(int64_t b, uint64_t base) {
  std::vector<uint64_t> s;
  for (int64_t i = 0; i < b; ++i) s.push_back(rfm::dataset::mix64(base, i));
  return s;
}

// The option sets every implementation is checked on bit for bit: the
// default Beta, a constant factor that ends after many rectangles, and the
// rectangle guard (t_min unreachable in float).
std::vector<LtgOptions> bit_exactness_option_sets() {
  std::vector<LtgOptions> sets(3);
  sets[0].probability = 0.8;
  sets[1].probability = 1.0;
  sets[1].factor = FactorDistribution::kConstant;
  sets[1].constant = 0.7;
  sets[2].probability = 1.0;
  sets[2].t_min = 1e-30;
  sets[2].max_rectangles = 7;
  return sets;
}

}  // namespace

TEST(Ltg, BatchedEqualsReferenceBitForBit) {
  LtgOptions options;
  const auto images = random_images(24, 48, 24, 3);
  const auto seeds = seeds_for(24, 11);
  const auto batched = ltg_batched(images, options, seeds);
  int touched = 0;
  for (int64_t b = 0; b < 24; ++b) {
    const auto ref = ltg_reference(images[b], options, seeds[b]);
    ASSERT_EQ(ref.applied, batched.plans[b].apply) << b;
    ASSERT_EQ(static_cast<int>(ref.rectangles.size()), batched.rectangles_used_on_host()[b]) << b;
    for (size_t j = 0; j < ref.rectangles.size(); ++j) {
      const auto& planned = batched.plans[b].rectangles[j];
      EXPECT_EQ(ref.rectangles[j].rect.x, planned.x);
      EXPECT_EQ(ref.rectangles[j].rect.y, planned.y);
      EXPECT_EQ(ref.rectangles[j].rect.width, planned.width);
      EXPECT_EQ(ref.rectangles[j].rect.fraction[2], planned.fraction[2]);
    }
    EXPECT_TRUE(torch::equal(ref.image, batched.images[b])) << "image " << b;
    touched += ref.applied;
  }
  EXPECT_GT(touched, 0);
  EXPECT_LT(touched, 24);
}

// The CPU path's stopping rule looks at M only inside the rectangle just
// written, and any other way of finding min(M) (such as over the cells the
// earlier rectangles cut out of the new one, tried in bench/results/JOURNAL.md)
// must give the same decisions.  Small images make rectangles overlap in
// many ways (edges shared, nested, one inside another); the number of
// rectangles each image gets, which that rule decides, and the pixels must
// match the reference at every t_min.
TEST(Ltg, CpuStoppingRuleMatchesReferenceOnOverlappingRectangles) {
  const auto images = random_images(160, 12, 8, 41);
  const auto seeds = seeds_for(160, 43);
  for (double t_min : {0.005, 0.02, 0.1, 0.3}) {
    LtgOptions options;
    options.probability = 1.0;
    options.t_min = t_min;
    const auto cpu = ltg_batched_cpu(images, options, seeds);
    int overlapping_stops = 0, several = 0;
    for (int64_t b = 0; b < 160; ++b) {
      const auto ref = ltg_reference(images[b], options, seeds[b]);
      ASSERT_EQ(static_cast<int>(ref.rectangles.size()), cpu.rectangles_used_on_host()[b]) << "t_min " << t_min << ", image " << b;
      EXPECT_TRUE(torch::equal(ref.image, cpu.images[b])) << "t_min " << t_min << ", image " << b;
      const auto& rects = cpu.plans[b].rectangles;
      several += rects.size() > 1;
      if (rects.size() > 1) {
        const auto& last = rects.back();
        for (size_t j = 0; j + 1 < rects.size(); ++j) {
          const auto& q = rects[j];
          if (q.x < last.x + last.width && last.x < q.x + q.width && q.y < last.y + last.height &&
              last.y < q.y + q.height) {
            ++overlapping_stops;
            break;
          }
        }
      }
    }
    // The cases that exercise the cells: many images end on a rectangle
    // that overlaps earlier ones.
    EXPECT_GT(several, 40) << t_min;
    EXPECT_GT(overlapping_stops, 20) << t_min;
  }
}

// With 2 intra-op threads both take images (at::parallel_for, built without
// -fopenmp in this project, had run the whole batch on one thread), and the
// images are those of one thread.
TEST(Ltg, CpuPathSplitsTheBatchOverItsThreads) {
  const int threads_before = torch::get_num_threads();
  LtgOptions options;
  options.probability = 1.0;
  const auto images = random_images(24, 32, 16, 41);
  const auto seeds = seeds_for(24, 42);
  torch::set_num_threads(1);
  auto one = images.clone();
  int used_one = 0;
  ltg_batched_cpu_in_place(one, options, seeds, &used_one);
  torch::set_num_threads(2);
  auto two = images.clone();
  int used_two = 0;
  const auto plans = ltg_batched_cpu_in_place(two, options, seeds, &used_two);
  torch::set_num_threads(threads_before);
  EXPECT_EQ(used_one, 1);
  EXPECT_EQ(used_two, 2);
  EXPECT_TRUE(torch::equal(one, two));
  EXPECT_FALSE(torch::equal(images, two));
  for (const auto& plan : plans) EXPECT_FALSE(plan.rectangles.empty());
}

// The CPU path (per image, checking t_min inside the rectangle) and the
// tensor path (the CUDA rounds) against the reference, with several intra-op
// threads splitting the batch, on several option sets: the default Beta, a
// constant factor that ends after many rectangles, and the rectangle guard.
TEST(Ltg, CpuAndTensorPathsEqualReferenceBitForBit) {
  const int threads_before = torch::get_num_threads();
  torch::set_num_threads(2);
  const std::vector<LtgOptions> option_sets = bit_exactness_option_sets();
  for (size_t k = 0; k < option_sets.size(); ++k) {
    const auto& options = option_sets[k];
    const auto images = random_images(13, 40, 20, 20 + k);
    const auto seeds = seeds_for(13, 30 + k);
    const auto cpu = ltg_batched_cpu(images, options, seeds);
    const auto tensor = ltg_batched_tensor(images, options, seeds);
    int rectangles = 0;
    for (int64_t b = 0; b < 13; ++b) {
      const auto ref = ltg_reference(images[b], options, seeds[b]);
      ASSERT_EQ(static_cast<int>(ref.rectangles.size()), cpu.rectangles_used_on_host()[b]) << k << "/" << b;
      ASSERT_EQ(static_cast<int>(ref.rectangles.size()), tensor.rectangles_used_on_host()[b]) << k << "/" << b;
      ASSERT_EQ(cpu.plans[b].rectangles.size(), ref.rectangles.size());
      for (size_t j = 0; j < ref.rectangles.size(); ++j) {
        EXPECT_EQ(cpu.plans[b].rectangles[j].x, ref.rectangles[j].rect.x);
        EXPECT_EQ(cpu.plans[b].rectangles[j].height, ref.rectangles[j].rect.height);
      }
      EXPECT_TRUE(torch::equal(ref.image, cpu.images[b])) << "cpu path, options " << k << ", image " << b;
      EXPECT_TRUE(torch::equal(ref.image, tensor.images[b])) << "tensor path, options " << k << ", image " << b;
      rectangles += static_cast<int>(ref.rectangles.size());
    }
    EXPECT_GT(rectangles, 13) << k;
    if (k == 2) {
      EXPECT_EQ(rectangles, 13 * 7);
    }
  }
  // The input is left as it was (both paths work on a copy).
  const auto images = random_images(2, 16, 8, 9);
  const auto copy = images.clone();
  ltg_batched_cpu(images, option_sets[1], {1, 2});
  EXPECT_TRUE(torch::equal(images, copy));
  torch::set_num_threads(threads_before);
}

TEST(Ltg, ValuesStayInUnitRangeAndLoopReachesTmin) {
  LtgOptions options;
  options.probability = 1.0;
  const auto images = random_images(16, 64, 32, 5);
  const auto result = ltg_batched(images, options, seeds_for(16, 2));
  EXPECT_GE(result.images.min().item<float>(), 0.0f);
  EXPECT_LE(result.images.max().item<float>(), 1.0f);
  for (int64_t b = 0; b < 16; ++b) {
    // Every image ended because min(M) <= t_min, not at the guard.
    EXPECT_LT(result.rectangles_used_on_host()[b], options.max_rectangles) << b;
    const auto ref = ltg_reference(images[b], options, rfm::dataset::mix64(2, b));
    torch::Tensor m = torch::ones({3, 64, 32});
    for (const auto& r : ref.rectangles) {
      for (int c = 0; c < 3; ++c) {
        m[c].narrow(0, r.rect.y, r.rect.height).narrow(1, r.rect.x, r.rect.width).mul_(r.alpha[c]);
      }
    }
    EXPECT_LE(m.min().item<float>(), 1e-6f) << b;
  }
}

TEST(Ltg, OneRectangleScalesEachChannelByExactlyOneFactor) {
  LtgOptions options;
  options.probability = 1.0;
  options.max_rectangles = 1;
  const auto images = random_images(8, 40, 20, 9);
  const auto seeds = seeds_for(8, 4);
  const auto out = ltg_batched(images, options, seeds);
  for (int64_t b = 0; b < 8; ++b) {
    ASSERT_EQ(out.rectangles_used_on_host()[b], 1);
    const auto& r = out.plans[b].rectangles[0];
    for (int64_t c = 0; c < 3; ++c) {
      auto in_region = images[b][c].narrow(0, r.y, r.height).narrow(1, r.x, r.width);
      auto out_region = out.images[b][c].narrow(0, r.y, r.height).narrow(1, r.x, r.width);
      const float alpha = r.fraction[c] / in_region.max().item<float>();  // alpha_max * f_g
      EXPECT_TRUE(torch::equal(out_region, (in_region * alpha).clamp_max(1.0f)));
      EXPECT_LE(alpha * in_region.max().item<float>(), 1.0f + 1e-6f);
    }
    // Outside the rectangle: bit-identical.
    auto mask = torch::ones({40, 20}, torch::kBool);
    mask.narrow(0, r.y, r.height).narrow(1, r.x, r.width).fill_(false);
    EXPECT_TRUE(torch::equal(images[b].masked_select(mask), out.images[b].masked_select(mask)));
  }
}

TEST(Ltg, PixelsOutsideEveryRectangleAreBitIdentical) {
  LtgOptions options;
  const auto images = random_images(32, 48, 24, 13);
  const auto out = ltg_batched(images, options, seeds_for(32, 6));
  for (int64_t b = 0; b < 32; ++b) {
    auto untouched = torch::ones({48, 24}, torch::kBool);
    for (int j = 0; j < out.rectangles_used_on_host()[b]; ++j) {
      const auto& r = out.plans[b].rectangles[j];
      untouched.narrow(0, r.y, r.height).narrow(1, r.x, r.width).fill_(false);
    }
    EXPECT_TRUE(torch::equal(images[b].masked_select(untouched), out.images[b].masked_select(untouched))) << b;
    if (!out.plans[b].apply) {
      EXPECT_TRUE(torch::equal(images[b], out.images[b]));
    }
  }
}

TEST(Ltg, DrawStatisticsMatchTheAlgorithm) {
  LtgOptions options;  // p = 0.5, area [0.02, 0.4], aspect [0.3, 1/0.3], Beta(0.5, 0.5)
  const int H = 384, W = 192, images = 4000;
  int applied = 0;
  double sum_f = 0, sum_f2 = 0;
  int64_t n_f = 0;
  for (int i = 0; i < images; ++i) {
    const auto plan = plan_ltg(options, rfm::dataset::mix64(77, i), 3, H, W);
    applied += plan.apply;
    for (const auto& r : plan.rectangles) {
      const double area = static_cast<double>(r.width) * r.height / (H * W);
      // Rounding each side to an integer moves the area by at most one row and column.
      EXPECT_GE(area, 0.02 - (r.width + r.height + 1.0) / (H * W));
      EXPECT_LE(area, 0.4 + (r.width + r.height + 1.0) / (H * W));
      const double aspect = static_cast<double>(r.height) / r.width;
      EXPECT_GE(aspect, 0.3 * 0.9);
      EXPECT_LE(aspect, (1 / 0.3) * 1.1);
      EXPECT_LE(r.x + r.width, W);
      EXPECT_LE(r.y + r.height, H);
      for (int c = 0; c < 3; ++c) {
        sum_f += r.fraction[c];
        sum_f2 += r.fraction[c] * r.fraction[c];
        ++n_f;
      }
    }
  }
  // Binomial(4000, 0.5): sd 0.008.
  EXPECT_NEAR(applied / static_cast<double>(images), 0.5, 0.04);
  // Beta(0.5, 0.5): mean 1/2, variance ab / ((a+b)^2 (a+b+1)) = 1/8.
  const double mean = sum_f / n_f;
  EXPECT_NEAR(mean, 0.5, 0.01);
  EXPECT_NEAR(sum_f2 / n_f - mean * mean, 0.125, 0.01);
}

// Beta(1/2, 1/2) is drawn as sin^2(pi U / 2); its CDF is (2 / pi) asin(sqrt x).
TEST(Ltg, BetaHalfFactorsFollowTheArcsineLaw) {
  LtgOptions options;
  options.probability = 1.0;
  std::vector<double> f;
  for (int i = 0; i < 2000; ++i) {
    for (const auto& r : plan_ltg(options, rfm::dataset::mix64(5, i), 3, 128, 64).rectangles) {
      for (int c = 0; c < 3; ++c) f.push_back(r.fraction[c]);
    }
  }
  ASSERT_GT(f.size(), 50000u);
  for (double x : {0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99}) {
    const double below = static_cast<double>(std::count_if(f.begin(), f.end(), [x](double v) { return v <= x; }));
    // Kolmogorov-Smirnov at 1e-3 for n > 50000: 1.95 / sqrt(n) < 0.009.
    EXPECT_NEAR(below / f.size(), 2.0 / std::acos(-1.0) * std::asin(std::sqrt(x)), 0.009) << x;
  }
}

// Other shapes go through two gamma draws: Beta(2, 5) has mean 2/7 and
// variance ab / ((a+b)^2 (a+b+1)) = 10/392.
TEST(Ltg, GeneralBetaFactorsHaveTheirMoments) {
  LtgOptions options;
  options.probability = 1.0;
  options.beta_a = 2.0;
  options.beta_b = 5.0;
  double sum = 0, sum2 = 0;
  int64_t n = 0;
  for (int i = 0; i < 2000; ++i) {
    for (const auto& r : plan_ltg(options, rfm::dataset::mix64(6, i), 3, 128, 64).rectangles) {
      for (int c = 0; c < 3; ++c) {
        sum += r.fraction[c];
        sum2 += r.fraction[c] * r.fraction[c];
        ++n;
      }
    }
  }
  const double mean = sum / n;
  EXPECT_NEAR(mean, 2.0 / 7.0, 0.005);
  EXPECT_NEAR(sum2 / n - mean * mean, 10.0 / 392.0, 0.002);
}

TEST(Ltg, ConstantAndUniformFactors) {
  LtgOptions options;
  options.probability = 1.0;
  options.factor = FactorDistribution::kConstant;
  options.constant = 0.25;
  auto plan = plan_ltg(options, 1, 3, 64, 32);
  ASSERT_FALSE(plan.rectangles.empty());
  for (const auto& r : plan.rectangles) EXPECT_EQ(r.fraction[1], 0.25f);
  options.factor = FactorDistribution::kUniform;
  double sum = 0;
  int n = 0;
  for (int i = 0; i < 200; ++i) {
    for (const auto& r : plan_ltg(options, i, 1, 64, 32).rectangles) {
      sum += r.fraction[0];
      ++n;
    }
  }
  EXPECT_NEAR(sum / n, 0.5, 0.03);
}

TEST(Ltg, BlackRegionStaysBlackAndLoopStillEnds) {
  LtgOptions options;
  options.probability = 1.0;
  const auto black = torch::zeros({1, 3, 32, 16});
  const auto out = ltg_batched(black, options, {5});
  EXPECT_TRUE(torch::equal(out.images, black));
  EXPECT_LT(out.rectangles_used_on_host()[0], options.max_rectangles);
  const auto ref = ltg_reference(black[0], options, 5);
  EXPECT_EQ(static_cast<int>(ref.rectangles.size()), out.rectangles_used_on_host()[0]);
}

TEST(Ltg, GuardCapsRectangles) {
  LtgOptions options;
  options.probability = 1.0;
  options.t_min = 1e-30;  // unreachable in float: only the guard ends the loop
  options.max_rectangles = 5;
  const auto out = ltg_batched(random_images(2, 32, 16, 1), options, {1, 2});
  EXPECT_EQ(out.rectangles_used_on_host()[0], 5);
  EXPECT_EQ(out.rectangles_used_on_host()[1], 5);
}

TEST(Ltg, PreviewWritesAGridThatReadsBack) {
  const std::string path = ::testing::TempDir() + "ltg_preview.png";
  std::vector<torch::Tensor> inputs;
  for (int i = 0; i < 3; ++i) inputs.push_back(draw_test_figure(i, 64, 32));
  write_ltg_preview(path, inputs, LtgOptions{}, 1, 64, 32);
  const auto grid = read_png_rgb(path);
  EXPECT_EQ(grid.size(0), 3);
  EXPECT_EQ(grid.size(1), 2 * (64 + 2) + 2);
  EXPECT_EQ(grid.size(2), 3 * (32 + 2) + 2);
  // The top row holds the inputs (8-bit rounding aside).
  auto first = grid.narrow(1, 2, 64).narrow(2, 2, 32);
  EXPECT_LT((first - inputs[0]).abs().max().item<float>(), 1.0f / 255 + 1e-6f);
}

TEST(Ltg, CorruptPngIsNamed) {
  const std::string path = ::testing::TempDir() + "corrupt.png";
  { std::ofstream(path) << "not a png"; }
  try {
    read_png_rgb(path);
    FAIL() << "expected an error";
  } catch (const rfm::dataset::ImageFileError& e) {
    EXPECT_EQ(std::string(e.what()).rfind(path + ": ", 0), 0u) << e.what();
  }
}

// The cell grid that replaced the per-pixel M, against a per-pixel M kept
// beside it: 60 rectangles on a 23 x 17 image (so the grid outgrows its
// first 16 x 16 slots), rectangles touching every edge and repeating
// edges, factors above and below 1.  Every pixel's M and every
// rectangle's minimum must be the same floats; a second image reuses the
// grid from a fresh start.
TEST(Ltg, MemoryGridEqualsPerPixelMemory) {
  constexpr int C = 3, H = 23, W = 17;
  LtgMemoryGrid grid;
  SplitMix64 rng(11);
  auto below = [&](int n) { return static_cast<int>(rng() % static_cast<uint64_t>(n)); };
  for (int image = 0; image < 2; ++image) {
    grid.reset(C, H, W);
    std::vector<float> memory(static_cast<size_t>(C) * H * W, 1.0f);
    for (int k = 0; k < 60; ++k) {
      LtgRectangle r;
      r.x = k % 7 == 0 ? 0 : below(W);
      r.y = k % 5 == 0 ? 0 : below(H);
      r.width = k % 3 == 0 ? W - r.x : 1 + below(W - r.x);
      r.height = k % 4 == 0 ? H - r.y : 1 + below(H - r.y);
      grid.cut(r);
      for (int c = 0; c < C; ++c) {
        const float factor = 0.55f + static_cast<float>(below(1000)) / 1000.0f;
        float lowest = 2.0f;
        for (int y = r.y; y < r.y + r.height; ++y)
          for (int x = r.x; x < r.x + r.width; ++x) {
            float& m = memory[(static_cast<size_t>(c) * H + y) * W + x];
            m = m * factor;
            lowest = std::min(lowest, m);
          }
        ASSERT_EQ(grid.scale(c, factor), lowest) << "image " << image << " rectangle " << k << " channel " << c;
      }
      for (int c = 0; c < C; ++c)
        for (int y = 0; y < H; ++y)
          for (int x = 0; x < W; ++x)
            ASSERT_EQ(grid.at(c, y, x), memory[(static_cast<size_t>(c) * H + y) * W + x])
                << "rectangle " << k << " at " << c << "," << y << "," << x;
    }
    EXPECT_GT(grid.columns(), 16);
    EXPECT_GT(grid.rows(), 16);
  }
}

// The CUDA kernel (one launch for the whole batch) against the reference, bit
// for bit, and against the tensor rounds, on the option sets above plus the
// paper's size.  Runs where a GPU is present and the kernel was built; in
// bench/gpu/run's bench-only build rfm_ltg_bench makes the same comparison
// before it times anything.
TEST(Ltg, CudaKernelEqualsReferenceBitForBit) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  if (!ltg_cuda_kernel_built()) GTEST_SKIP() << "built without the CUDA LTG kernel (no nvcc found)";
#ifdef RFM_HAVE_CUDA_LTG
  const std::vector<LtgOptions> option_sets = bit_exactness_option_sets();
  for (size_t k = 0; k < option_sets.size(); ++k) {
    const auto images = random_images(13, 40, 20, 20 + k);
    const auto seeds = seeds_for(13, 30 + k);
    const auto kernel = ltg_batched_cuda(images.to(torch::kCUDA), option_sets[k], seeds);
    const auto rounds = ltg_batched_tensor(images.to(torch::kCUDA), option_sets[k], seeds);
    const auto out = kernel.images.cpu();
    for (int64_t b = 0; b < 13; ++b) {
      const auto ref = ltg_reference(images[b], option_sets[k], seeds[b]);
      ASSERT_EQ(static_cast<int>(ref.rectangles.size()), kernel.rectangles_used_on_host()[b]) << k << "/" << b;
      ASSERT_EQ(rounds.rectangles_used_on_host()[b], kernel.rectangles_used_on_host()[b]) << k << "/" << b;
      EXPECT_TRUE(torch::equal(ref.image, out[b])) << "options " << k << ", image " << b;
    }
    EXPECT_TRUE(torch::equal(rounds.images.cpu(), out)) << "options " << k;
  }
  LtgOptions paper;
  const auto images = random_images(8, 384, 192, 7);
  const auto seeds = seeds_for(8, 8);
  const auto out = ltg_batched(images.to(torch::kCUDA), paper, seeds);
  for (int64_t b = 0; b < 8; ++b) {
    const auto ref = ltg_reference(images[b], paper, seeds[b]);
    EXPECT_EQ(static_cast<int>(ref.rectangles.size()), out.rectangles_used_on_host()[b]) << b;
    EXPECT_TRUE(torch::equal(ref.image, out.images[b].cpu())) << "384x192 image " << b;
  }
#endif
}
