// Image codecs and resizing: round trips, hand-built files, damaged files.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <fstream>

#include "dataset/bmp_codec.h"
#include "dataset/image_codec.h"
#include "dataset/image_resize.h"
#include "tests/temp_dir.h"

namespace rfm::data {
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

}  // namespace
}  // namespace rfm::data
