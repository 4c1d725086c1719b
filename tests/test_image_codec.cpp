// Image codecs and resizing: round trips, hand-built files, damaged files.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "dataset/bmp_codec.h"
#include "dataset/image_codec.h"
#include "dataset/image_resize.h"
#include "tests/temp_dir.h"

namespace rfm::dataset {
namespace {

ImageU8 pattern(int h, int w, int c) {
  ImageU8 img(h, w, c);
  for (size_t i = 0; i < img.pixels.size(); ++i) img.pixels[i] = static_cast<uint8_t>((i * 37 + i / 7) % 256);
  return img;
}

TEST(ImageCodec, BmpRoundTripIsExactWithRowPadding) {
  const auto img = pattern(5, 7, 3);  // 21 bytes a row: padded to 24
  const auto back = decode_bmp(encode_bmp(img), "x.bmp");
  EXPECT_EQ(back.height, 5);
  EXPECT_EQ(back.width, 7);
  EXPECT_EQ(back.pixels, img.pixels);
}

TEST(ImageCodec, GreyBmpDecodesToEqualChannels) {
  const auto grey = pattern(4, 3, 1);
  const auto back = decode_bmp(encode_bmp(grey), "g.bmp");
  ASSERT_EQ(back.channels, 3);
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 3; ++x)
      for (int c = 0; c < 3; ++c) EXPECT_EQ(back.at(y, x)[c], grey.at(y, x)[0]);
}

TEST(ImageCodec, HandBuiltTopDown32BitBitfieldsBmp) {
  // 2x1 pixels, BITMAPINFOHEADER, BI_BITFIELDS with masks R=0xFF0000,
  // G=0xFF00, B=0xFF, height -1 (top-down).
  std::vector<uint8_t> b = {'B', 'M', 0, 0, 0, 0, 0, 0, 0, 0, 66, 0, 0, 0,   // file header, data at 66
                            40, 0, 0, 0, 2, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF,  // size 40, w 2, h -1
                            1, 0, 32, 0, 3, 0, 0, 0, 8, 0, 0, 0,              // planes, bpp 32, BITFIELDS, image size
                            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,   // dpi, colours
                            0, 0, 0xFF, 0, 0, 0xFF, 0, 0, 0xFF, 0, 0, 0,      // masks R, G, B
                            10, 20, 30, 0, 200, 100, 50, 0};                   // pixels BGRA
  const auto img = decode_bmp(b, "h.bmp");
  ASSERT_EQ(img.width, 2);
  ASSERT_EQ(img.height, 1);
  EXPECT_EQ(img.at(0, 0)[0], 30);
  EXPECT_EQ(img.at(0, 0)[1], 20);
  EXPECT_EQ(img.at(0, 0)[2], 10);
  EXPECT_EQ(img.at(0, 1)[0], 50);
  EXPECT_EQ(img.at(0, 1)[2], 200);
}

TEST(ImageCodec, PngRoundTripIsExact) {
  const auto img = pattern(9, 6, 3);
  const auto back = decode_image(encode_png(img), "p.png");
  EXPECT_EQ(back.pixels, img.pixels);
}

TEST(ImageCodec, JpegRoundTripIsClose) {
  ImageU8 img(32, 16, 3);
  for (int y = 0; y < 32; ++y)
    for (int x = 0; x < 16; ++x)
      for (int c = 0; c < 3; ++c) img.at(y, x)[c] = static_cast<uint8_t>(40 + 5 * y + 3 * x + 20 * c);
  const auto back = decode_image(encode_jpeg(img, 95), "j.jpg");
  ASSERT_EQ(back.height, 32);
  double err = 0;
  for (size_t i = 0; i < img.pixels.size(); ++i) err += std::abs(img.pixels[i] - back.pixels[i]);
  EXPECT_LT(err / img.pixels.size(), 2.0);
}

TEST(ImageCodec, DamagedFilesAreErrorsNamingTheFile) {
  const auto jpeg = encode_jpeg(pattern(32, 32, 3), 90);
  const std::vector<uint8_t> truncated(jpeg.begin(), jpeg.begin() + static_cast<long>(jpeg.size() / 2));
  EXPECT_THROW(
      {
        try {
          decode_image(truncated, "cam1/0001/0001.jpg");
        } catch (const ImageFileError& e) {
          EXPECT_EQ(std::string(e.what()).rfind("cam1/0001/0001.jpg: corrupt JPEG", 0), 0u) << e.what();
          throw;
        }
      },
      ImageFileError);
  auto bmp = encode_bmp(pattern(8, 8, 3));
  bmp.resize(bmp.size() - 10);
  EXPECT_THROW(decode_image(bmp, "t.bmp"), ImageFileError);
  EXPECT_THROW(decode_image({'G', 'I', 'F', '8'}, "x.gif"), ImageFileError);
  EXPECT_THROW(decode_image({}, "empty.jpg"), ImageFileError);
  EXPECT_THROW(read_image_file("/nonexistent/a.jpg"), ImageFileError);
}

// A JPEG of a few hundred bytes whose frame header claims 40000 x 40000
// pixels (4.8 GB as RGB) is refused before anything is allocated; so are a
// PNG and a BMP that claim more than kMaxImagePixels.
TEST(ImageCodec, HeadersClaimingHugeImagesAreRefusedBeforeAllocating) {
  auto jpeg = encode_jpeg(pattern(8, 8, 3), 90);
  size_t sof = 2;
  while (sof + 9 < jpeg.size() && !(jpeg[sof] == 0xFF && (jpeg[sof + 1] == 0xC0 || jpeg[sof + 1] == 0xC2))) ++sof;
  ASSERT_LT(sof + 9, jpeg.size());
  for (const size_t at : {sof + 5, sof + 7}) {  // height, then width, big-endian
    jpeg[at] = 40000 >> 8;
    jpeg[at + 1] = 40000 & 0xFF;
  }
  try {
    decode_image(jpeg, "huge.jpg");
    ADD_FAILURE() << "a 40000 x 40000 JPEG was accepted";
  } catch (const ImageFileError& e) {
    EXPECT_EQ(std::string(e.what()), "huge.jpg: corrupt JPEG: size 40000x40000 is more than the 67108864 pixels an "
                                     "image may have");
  }
  auto bmp = encode_bmp(pattern(2, 2, 3));
  const uint32_t side = 9000;  // 81 Mpx
  for (const size_t at : {size_t{18}, size_t{22}}) std::memcpy(&bmp[at], &side, 4);
  EXPECT_THROW(decode_image(bmp, "huge.bmp"), ImageFileError);
  EXPECT_TRUE(image_size_problem(8192, 8192).empty());
  EXPECT_FALSE(image_size_problem(8193, 8192).empty());
  EXPECT_FALSE(image_size_problem(65536, 1).empty());
}

TEST(ImageCodec, WriteImageFileChoosesTheFormatByExtension) {
  rfm::testing::TempDir dir;
  const auto img = pattern(6, 4, 3);
  for (const char* name : {"a.png", "a.bmp"}) {
    write_image_file(dir.str(name), img);
    EXPECT_EQ(read_image_file(dir.str(name)).pixels, img.pixels) << name;
  }
  write_image_file(dir.str("a.jpg"), img);
  EXPECT_EQ(read_file_bytes(dir.str("a.jpg"))[0], 0xFF);
  EXPECT_THROW(write_image_file(dir.str("a.gif"), img), std::invalid_argument);
}

TEST(ImageResize, ConstantStaysConstantAndSameSizeIsIdentity) {
  ImageU8 flat(37, 23, 3, 77);
  for (auto [h, w] : {std::pair{16, 8}, std::pair{64, 32}, std::pair{37, 23}, std::pair{100, 11}}) {
    const auto r = resize_bilinear(flat, h, w);
    ASSERT_EQ(r.height, h);
    for (auto v : r.pixels) ASSERT_EQ(v, 77);
  }
  const auto img = pattern(10, 10, 3);
  EXPECT_EQ(resize_bilinear(img, 10, 10).pixels, img.pixels);
}

TEST(ImageResize, ShrinkingMatchesTorchAntialiasedBilinear) {
  const auto img = pattern(96, 48, 3);
  const auto ours = resize_bilinear(img, 32, 16);
  auto t = torch::from_blob(const_cast<uint8_t*>(img.pixels.data()), {1, 96, 48, 3}, torch::kUInt8)
               .permute({0, 3, 1, 2})
               .to(torch::kFloat);
  auto ref = torch::nn::functional::interpolate(
      t, torch::nn::functional::InterpolateFuncOptions()
             .size(std::vector<int64_t>{32, 16})
             .mode(torch::kBilinear)
             .align_corners(false)
             .antialias(true));
  ref = ref.round().clamp(0, 255).permute({0, 2, 3, 1}).contiguous().to(torch::kUInt8);
  const auto* r = ref.data_ptr<uint8_t>();
  int max_diff = 0;
  for (size_t i = 0; i < ours.pixels.size(); ++i) max_diff = std::max(max_diff, std::abs(ours.pixels[i] - r[i]));
  EXPECT_LE(max_diff, 1);
}

// The separable filter as first written (per pixel, per channel, lround),
// kept as the reference the fast resize must equal bit for bit.
struct Filter1d {
  std::vector<std::vector<std::pair<int, float>>> taps;  // per output: (input index, weight)
};
Filter1d filter_1d(int in, int out) {
  const double scale = static_cast<double>(in) / out, support = std::max(scale, 1.0);
  Filter1d f;
  for (int o = 0; o < out; ++o) {
    const double centre = (o + 0.5) * scale;
    const int lo = std::max(0, static_cast<int>(centre - support + 0.5));
    const int hi = std::min(in, static_cast<int>(centre + support + 0.5));
    std::vector<double> w;
    double total = 0;
    for (int i = lo; i < hi; ++i) {
      const double d = std::abs((i + 0.5 - centre) * (1.0 / support));
      w.push_back(d < 1.0 ? 1.0 - d : 0.0);
      total += w.back();
    }
    f.taps.emplace_back();
    for (size_t k = 0; k < w.size(); ++k) {
      f.taps.back().emplace_back(lo + static_cast<int>(k), static_cast<float>(total > 0 ? w[k] / total : 0.0));
    }
  }
  return f;
}
ImageU8 textbook_resize(const ImageU8& img, int h, int w) {
  const auto fx = filter_1d(img.width, w), fy = filter_1d(img.height, h);
  const int c = img.channels;
  std::vector<float> rows(static_cast<size_t>(img.height) * w * c);
  for (int y = 0; y < img.height; ++y)
    for (int x = 0; x < w; ++x)
      for (int ch = 0; ch < c; ++ch) {
        float acc = 0;
        for (auto [i, wt] : fx.taps[x]) acc += wt * img.at(y, i)[ch];
        rows[(static_cast<size_t>(y) * w + x) * c + ch] = acc;
      }
  ImageU8 out(h, w, c);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int ch = 0; ch < c; ++ch) {
        float acc = 0;
        for (auto [i, wt] : fy.taps[y]) acc += wt * rows[(static_cast<size_t>(i) * w + x) * c + ch];
        out.at(y, x)[ch] = static_cast<uint8_t>(std::clamp(std::lround(acc), 0L, 255L));
      }
  return out;
}

TEST(ImageResize, EqualsTheTextbookLoopBitForBit) {
  torch::manual_seed(3);
  for (int c = 1; c <= 4; ++c) {
    // Up, down, mixed, and the loader's sizes (SYSU's 288x144 and 360x180 to 384x192).
    for (auto [ih, iw, oh, ow] : {std::array{288, 144, 384, 192}, std::array{360, 180, 384, 192},
                                  std::array{97, 41, 32, 16}, std::array{20, 50, 61, 7}, std::array{5, 3, 128, 64}}) {
      ImageU8 img(ih, iw, c);
      const auto noise = torch::randint(0, 256, {static_cast<int64_t>(img.pixels.size())}, torch::kUInt8);
      std::memcpy(img.pixels.data(), noise.data_ptr<uint8_t>(), img.pixels.size());
      // Saturated patches drive sums to the ends of [0, 255], where rounding and clamping meet.
      for (int y = 0; y < ih / 3; ++y) std::memset(img.at(y, 0), y % 2 ? 255 : 0, static_cast<size_t>(iw) * c);
      const auto fast = resize_bilinear(img, oh, ow);
      ASSERT_EQ(fast.pixels, textbook_resize(img, oh, ow).pixels) << ih << "x" << iw << "x" << c << " to " << oh << "x" << ow;
    }
  }
}


// Every float within 4096 steps of the values where rounding or clamping
// changes its answer, and a sweep of [-2, 260]: the float-only rounding
// equals lround clamped to [0, 255] (the textbook loop's rounding).
TEST(ImageResize, FloatRoundingEqualsLroundClampedNearEveryBoundary) {
  auto expected = [](float x) { return static_cast<int>(std::clamp(std::lround(x), 0L, 255L)); };
  std::vector<float> centres = {0.f, 0.5f, 1.f, 255.f, 256.f, -0.5f};
  for (int k = 0; k <= 256; ++k) centres.push_back(k + 0.5f);
  for (int k = 0; k <= 8; ++k) centres.push_back(std::ldexp(1.f, k) - 0.5f);
  int checked = 0;
  for (float c : centres) {
    float up = c, down = c;
    for (int i = 0; i < 4096; ++i, up = std::nextafter(up, 1e9f), down = std::nextafter(down, -1e9f)) {
      ASSERT_EQ(round_to_u8(up), expected(up)) << std::hexfloat << up;
      ASSERT_EQ(round_to_u8(down), expected(down)) << std::hexfloat << down;
      checked += 2;
    }
  }
  for (float x = -2.f; x < 260.f; x += 1.f / 1024) ASSERT_EQ(round_to_u8(x), expected(x)) << std::hexfloat << x;
  EXPECT_GT(checked, 2'000'000);
}

// The planar window writer against resize_bilinear and a copy, for every
// channel count, enlarging and shrinking, mirrored or not, with windows
// touching each edge.  Bytes outside the window must stay as they were.
TEST(ImageResize, PlanarWindowEqualsResizeThenCopy) {
  torch::manual_seed(5);
  for (int c = 1; c <= 4; ++c) {
    for (auto [ih, iw, oh, ow] : {std::array{288, 144, 40, 20}, std::array{13, 9, 40, 20}, std::array{97, 41, 40, 20},
                                  std::array{40, 20, 40, 20}}) {
      ImageU8 img(ih, iw, c);
      const auto noise = torch::randint(0, 256, {static_cast<int64_t>(img.pixels.size())}, torch::kUInt8);
      std::memcpy(img.pixels.data(), noise.data_ptr<uint8_t>(), img.pixels.size());
      const auto full = resize_bilinear(img, oh, ow);
      for (auto [r0, r1, c0, c1] : {std::array{0, 40, 0, 20}, std::array{3, 40, 0, 17}, std::array{0, 31, 5, 20},
                                    std::array{7, 8, 9, 10}}) {
        for (bool mirror : {false, true}) {
          // Destination: 2 rows and 3 columns of margin around a 40 x 20 plane, in stride 26.
          const int stride = 26, plane_rows = 44;
          PlanarWindow win;
          win.row_begin = r0;
          win.row_end = r1;
          win.col_begin = c0;
          win.col_end = c1;
          win.row_shift = 2 - r0 / 3;
          win.mirror = mirror;
          win.col_origin = mirror ? 3 + c1 - 1 : 3 - c0 / 2;
          win.row_stride = stride;
          win.plane_stride = static_cast<size_t>(stride) * plane_rows;
          std::vector<uint8_t> planes(win.plane_stride * c, 201);
          std::vector<uint8_t> expected = planes;
          for (int y = r0; y < r1; ++y)
            for (int x = c0; x < c1; ++x)
              for (int ch = 0; ch < c; ++ch) {
                const int col = mirror ? win.col_origin - x : win.col_origin + x;
                expected[ch * win.plane_stride + static_cast<size_t>(y + win.row_shift) * stride + col] =
                    full.at(y, x)[ch];
              }
          resize_bilinear_into_planes(img, oh, ow, win, planes.data());
          ASSERT_EQ(planes, expected) << ih << "x" << iw << "x" << c << " window " << r0 << ".." << r1 << " x " << c0
                                      << ".." << c1 << (mirror ? " mirrored" : "");
        }
      }
    }
  }
  PlanarWindow outside;
  outside.row_end = 41;
  outside.col_end = 20;
  std::vector<uint8_t> sink(3 * 41 * 20);
  EXPECT_THROW(resize_bilinear_into_planes(pattern(8, 8, 3), 40, 20, outside, sink.data()), std::invalid_argument);
}

// Decoding into a reused image: a larger file after a smaller one and the
// other way round give exactly what a fresh decode gives, PNG included.
TEST(ImageCodec, DecodingIntoAReusedImageEqualsAFreshDecode) {
  rfm::testing::TempDir dir;
  const auto big = pattern(30, 20, 3), small = pattern(7, 5, 3);
  write_image_file(dir.str("big.jpg"), big);
  write_image_file(dir.str("small.jpg"), small);
  write_image_file(dir.str("mid.png"), pattern(11, 9, 3));
  ImageU8 reused;
  for (const char* name : {"small.jpg", "big.jpg", "small.jpg", "mid.png", "big.jpg"}) {
    read_image_file_into(dir.str(name), reused);
    const auto fresh = read_image_file(dir.str(name));
    ASSERT_EQ(reused.height, fresh.height) << name;
    ASSERT_EQ(reused.width, fresh.width) << name;
    ASSERT_EQ(reused.pixels, fresh.pixels) << name;
  }
  auto bytes = read_file_bytes(dir.str("big.jpg"));
  bytes.resize(bytes.size() / 2);
  const auto before = read_image_file(dir.str("big.jpg"));
  EXPECT_THROW(decode_image_into(bytes, "half.jpg", reused), ImageFileError);
  const std::string garbage = "\xFF\xD8\xFF garbage";
  EXPECT_THROW(decode_image_into(std::vector<uint8_t>(garbage.begin(), garbage.end()), "garbage.jpg", reused),
               ImageFileError);
  EXPECT_THROW(read_image_file_into(dir.str("missing.jpg"), reused), ImageFileError);
  std::filesystem::create_directory(dir.str("folder.jpg"));
  try {
    read_image_file_into(dir.str("folder.jpg"), reused);
    FAIL() << "a directory decoded";
  } catch (const ImageFileError& e) {
    EXPECT_EQ(std::string(e.what()), dir.str("folder.jpg") + ": not a regular file");
  }
  // The thread's decoder stopped on errors; the next file decodes as before.
  read_image_file_into(dir.str("big.jpg"), reused);
  EXPECT_EQ(reused.pixels, before.pixels);
}

// A grey JPEG kept as one channel is its RGB expansion's every channel; a
// colour JPEG ignores the request.  Reusing one image across both kinds
// resizes its pixels to the channel count.
TEST(ImageCodec, GreyJpegKeptAsOneChannelIsEachChannelOfItsExpansion) {
  rfm::testing::TempDir dir;
  write_image_file(dir.str("grey.jpg"), pattern(23, 17, 1));
  write_image_file(dir.str("colour.jpg"), pattern(9, 6, 3));
  ImageU8 reused;
  for (const char* name : {"grey.jpg", "colour.jpg", "grey.jpg"}) {
    read_image_file_into(dir.str(name), reused, GreyJpeg::kKeepOneChannel);
    const auto rgb = read_image_file(dir.str(name));
    ASSERT_EQ(rgb.channels, 3) << name;
    ASSERT_EQ(reused.height, rgb.height) << name;
    ASSERT_EQ(reused.width, rgb.width) << name;
    if (std::string(name) == "colour.jpg") {
      ASSERT_EQ(reused.channels, 3);
      EXPECT_EQ(reused.pixels, rgb.pixels);
      continue;
    }
    ASSERT_EQ(reused.channels, 1);
    ASSERT_EQ(reused.pixels.size(), static_cast<size_t>(23 * 17));
    bool varied = false;
    for (size_t i = 0; i < reused.pixels.size(); ++i) {
      for (int c = 0; c < 3; ++c) ASSERT_EQ(rgb.pixels[3 * i + static_cast<size_t>(c)], reused.pixels[i]) << i;
      varied = varied || reused.pixels[i] != reused.pixels[0];
    }
    EXPECT_TRUE(varied);
  }
}

}  // namespace
}  // namespace rfm::dataset
