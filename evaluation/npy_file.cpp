#include "evaluation/npy_file.h"

#include <cctype>
#include <cstring>
#include <fstream>
#include <sstream>

#include "dataset/image_codec.h"
#include "dataset/text_fields.h"

namespace rfm::evaluation {
namespace {

const char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicSize = 6;

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  // `what` quotes parts of the header, which may hold any byte.
  throw NpyError(path + ": not a readable .npy matrix: " + dataset::printable_excerpt(what));
}

std::string header_field(const std::string& header, const std::string& key, const std::string& path) {
  // The header is a Python dict literal: 'key': value, with value a quoted
  // string, True/False or a tuple.  Scanned by hand, in one pass: a regular
  // expression (std::regex recurses per character) is slow on a long header
  // and can exhaust the stack on one of megabytes.
  for (const char quote : {'\'', '"'}) {
    const std::string quoted = std::string(1, quote) + key + quote;
    for (size_t at = header.find(quoted); at != std::string::npos; at = header.find(quoted, at + 1)) {
      size_t v = at + quoted.size();
      while (v < header.size() && std::isspace(static_cast<unsigned char>(header[v]))) ++v;
      if (v >= header.size() || header[v] != ':') continue;
      ++v;
      while (v < header.size() && std::isspace(static_cast<unsigned char>(header[v]))) ++v;
      if (v >= header.size()) break;
      const char first = header[v];
      const char close = first == '\'' ? '\'' : first == '"' ? '"' : first == '(' ? ')' : '\0';
      if (close != '\0') {
        const size_t end = header.find(close, v + 1);
        if (end == std::string::npos) fail(path, "header's '" + key + "' is not closed");
        return header.substr(v, end - v + 1);
      }
      for (const char* word : {"True", "False"}) {
        if (header.compare(v, std::strlen(word), word) == 0) return word;
      }
    }
  }
  fail(path, "header has no '" + key + "'");
}

}  // namespace

void write_npy(const std::string& path, const FloatMatrix& m) {
  if (static_cast<int64_t>(m.values.size()) != m.rows * m.cols) {
    throw std::invalid_argument("write_npy: matrix has " + std::to_string(m.values.size()) + " values for " +
                                std::to_string(m.rows) + " x " + std::to_string(m.cols));
  }
  std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + std::to_string(m.rows) + ", " +
                     std::to_string(m.cols) + "), }";
  // Magic, version and length take 10 bytes; NumPy pads the whole header
  // with spaces to a multiple of 64 and ends it with a newline.
  const size_t unpadded = kMagicSize + 4 + dict.size() + 1;
  dict.append((64 - unpadded % 64) % 64, ' ');
  dict.push_back('\n');
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw NpyError(tmp + ": cannot create");
    out.write(kMagic, kMagicSize);
    const unsigned char version[2] = {1, 0};
    out.write(reinterpret_cast<const char*>(version), 2);
    const uint16_t len = static_cast<uint16_t>(dict.size());
    const unsigned char len_le[2] = {static_cast<unsigned char>(len & 0xff), static_cast<unsigned char>(len >> 8)};
    out.write(reinterpret_cast<const char*>(len_le), 2);
    out.write(dict.data(), static_cast<std::streamsize>(dict.size()));
    // Little-endian hosts only (x86-64, aarch64): the bytes are '<f4' as they are.
    out.write(reinterpret_cast<const char*>(m.values.data()), static_cast<std::streamsize>(m.values.size() * 4));
    if (!out) throw NpyError(tmp + ": write failed");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) throw NpyError(path + ": cannot rename " + tmp);
}

FloatMatrix read_npy(const std::string& path) {
  std::vector<uint8_t> bytes;
  try {
    bytes = dataset::read_file_bytes(path);
  } catch (const std::exception& e) {
    throw NpyError(e.what());
  }
  if (bytes.size() < kMagicSize + 4 || std::memcmp(bytes.data(), kMagic, kMagicSize) != 0) fail(path, "bad magic");
  const int major = bytes[6];
  size_t header_len = 0, header_start = 0;
  if (major == 1) {
    header_len = bytes[8] | (static_cast<size_t>(bytes[9]) << 8);
    header_start = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) fail(path, "truncated header");
    header_len = bytes[8] | (static_cast<size_t>(bytes[9]) << 8) | (static_cast<size_t>(bytes[10]) << 16) |
                 (static_cast<size_t>(bytes[11]) << 24);
    header_start = 12;
  } else {
    fail(path, "unsupported version " + std::to_string(major));
  }
  if (header_start + header_len > bytes.size()) fail(path, "truncated header");
  const std::string header(bytes.begin() + static_cast<long>(header_start),
                           bytes.begin() + static_cast<long>(header_start + header_len));
  std::string descr = header_field(header, "descr", path);
  descr = descr.substr(1, descr.size() - 2);
  const bool fortran = header_field(header, "fortran_order", path) == "True";
  const std::string shape_text = header_field(header, "shape", path);
  std::vector<int64_t> shape;
  {
    std::string inner = shape_text.substr(1, shape_text.size() - 2);
    std::stringstream ss(inner);
    std::string item;
    while (std::getline(ss, item, ',')) {
      if (item.find_first_not_of(" ") == std::string::npos) continue;
      try {
        shape.push_back(std::stoll(item));
      } catch (const std::exception&) {
        fail(path, "bad shape " + shape_text);
      }
    }
  }
  if (shape.size() != 1 && shape.size() != 2) fail(path, "shape " + shape_text + " is not 1-D or 2-D");
  const int64_t rows = shape[0], cols = shape.size() == 2 ? shape[1] : 1;
  if (rows < 0 || cols < 0) fail(path, "negative shape " + shape_text);
  size_t item = 0;
  if (descr == "<f4" || descr == "|f4") item = 4;
  else if (descr == "<f8") item = 8;
  else fail(path, "dtype '" + descr + "' (expected '<f4' or '<f8')");
  const size_t data_start = header_start + header_len;
  const size_t data_bytes = bytes.size() - data_start;
  // The shape's product, checked against the data before it is multiplied
  // out: a header that claims 2^62 x 4 values must not wrap around.
  const bool fits = cols == 0 || static_cast<size_t>(rows) <= data_bytes / item / static_cast<size_t>(cols);
  const size_t count = fits ? static_cast<size_t>(rows) * static_cast<size_t>(cols) : 0;
  if (!fits || data_bytes != count * item) {
    fail(path, "the data (" + std::to_string(data_bytes) + " bytes) is not the " + shape_text + " " + descr +
                   " values the header declares");
  }
  FloatMatrix m;
  m.rows = rows;
  m.cols = cols;
  m.values.resize(count);
  const uint8_t* src = bytes.data() + data_start;
  for (size_t i = 0; i < count; ++i) {
    // Fortran order stores columns one after another.
    const size_t dst = fortran ? (i % static_cast<size_t>(rows)) * static_cast<size_t>(cols) + i / static_cast<size_t>(rows) : i;
    if (item == 4) {
      std::memcpy(&m.values[dst], src + i * 4, 4);
    } else {
      double d;
      std::memcpy(&d, src + i * 8, 8);
      m.values[dst] = static_cast<float>(d);
    }
  }
  return m;
}

}  // namespace rfm::evaluation
