#pragma once
// What every fuzz target shares.  The readers under test take a path, as
// the commands call them: each input is written to one file per process (in
// /dev/shm where there is one, so that an iteration costs no disk write) and
// read back from there.  A reader may refuse an input, but only with the
// error a user would see: one line that names the file.

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <string>

namespace rfm::fuzz {

// A folder of this process's own, made once and removed when the process
// exits normally (a crash leaves it, beside the input that caused it).
inline const std::filesystem::path& scratch_folder() {
  struct Folder {
    std::filesystem::path path;
    Folder() {
      const std::filesystem::path base =
          std::filesystem::exists("/dev/shm") ? "/dev/shm" : std::filesystem::temp_directory_path();
      path = base / ("rfm-fuzz-" + std::to_string(::getpid()));
      std::filesystem::create_directories(path);
    }
    ~Folder() {
      std::error_code ignored;
      std::filesystem::remove_all(path, ignored);
    }
  };
  static const Folder folder;
  return folder.path;
}

// Writes `size` bytes at `data` to NAME in the scratch folder; its path.
inline std::string write_input(const std::string& name, const uint8_t* data, size_t size) {
  const auto path = scratch_folder() / name;
  std::ofstream(path, std::ios::binary | std::ios::trunc).write(reinterpret_cast<const char*>(data),
                                                                 static_cast<std::streamsize>(size));
  return path.string();
}

// Aborts (a finding) unless `error`'s message is one line naming `name`:
// an error that does not say which file it is about is a defect too.
inline void expect_named_error(const std::exception& error, const std::string& name) {
  const std::string message = error.what();
  if (message.find(name) == std::string::npos || message.find('\n') != std::string::npos) {
    std::fprintf(stderr, "error message does not name %s on one line: %s\n", name.c_str(), message.c_str());
    std::abort();
  }
}

// A decoded image is whole: as many pixels as its size says, every one
// readable (ASan sees a read past the end).
template <typename Image>
void expect_whole(const Image& image) {
  if (image.height <= 0 || image.width <= 0 || (image.channels != 1 && image.channels != 3) ||
      image.pixels.size() != static_cast<size_t>(image.height) * image.width * image.channels) {
    std::fprintf(stderr, "decoded image of %d x %d x %d holds %zu bytes\n", image.height, image.width, image.channels,
                 image.pixels.size());
    std::abort();
  }
  volatile uint32_t sum = 0;
  for (const uint8_t v : image.pixels) sum = sum + v;
}

}  // namespace rfm::fuzz
