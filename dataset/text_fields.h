#pragma once
// Strict parsing of the numbers and tokens in split files and manifests:
// the whole field must be the number, so "12a" is an error, not 12.

#include <cctype>
#include <charconv>
#include <cstdint>
#include <string>
#include <vector>

namespace rfm::dataset {

inline std::string trim_field(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

inline bool parse_int64(const std::string& field, int64_t* value) {
  const std::string t = trim_field(field);
  if (t.empty()) return false;
  const auto r = std::from_chars(t.data(), t.data() + t.size(), *value);
  return r.ec == std::errc() && r.ptr == t.data() + t.size();
}

// Splits on `sep`, keeping empty fields.
inline std::vector<std::string> split_fields(const std::string& line, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    const size_t at = line.find(sep, start);
    out.push_back(line.substr(start, at == std::string::npos ? std::string::npos : at - start));
    if (at == std::string::npos) return out;
    start = at + 1;
  }
}

// Text from a file quoted in an error: one line of printable characters
// (anything else as '?'), cut at 200, whatever bytes the file holds.
inline std::string printable_excerpt(const std::string& text) {
  std::string shown;
  for (const char c : text.substr(0, 200)) shown.push_back(std::isprint(static_cast<unsigned char>(c)) ? c : '?');
  return text.size() > 200 ? shown + "..." : shown;
}

inline bool has_image_extension(const std::string& name) {
  const auto dot = name.rfind('.');
  if (dot == std::string::npos) return false;
  std::string ext = name.substr(dot);
  for (auto& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext == ".jpg" || ext == ".jpeg" || ext == ".png" || ext == ".bmp";
}

}  // namespace rfm::dataset
