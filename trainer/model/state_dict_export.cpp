#include "trainer/model/state_dict_export.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace rfm::model {
namespace {

struct DtypeName {
  torch::ScalarType type;
  const char* name;
};
// safetensors' dtype names.
constexpr DtypeName kDtypes[] = {{torch::kFloat64, "F64"}, {torch::kFloat32, "F32"}, {torch::kFloat16, "F16"},
                                 {torch::kBFloat16, "BF16"}, {torch::kInt64, "I64"},  {torch::kInt32, "I32"},
                                 {torch::kInt16, "I16"},     {torch::kInt8, "I8"},    {torch::kUInt8, "U8"},
                                 {torch::kBool, "BOOL"}};

const char* dtype_name(torch::ScalarType type, const std::string& tensor, const std::string& path) {
  for (const auto& d : kDtypes) {
    if (d.type == type) return d.name;
  }
  throw std::runtime_error(path + ": " + tensor + " has dtype " + c10::toString(type) + ", which safetensors cannot hold");
}

// A JSON string literal.
std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (const unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char u[8];
          std::snprintf(u, sizeof(u), "\\u%04x", c);
          out += u;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

torch::Tensor cpu_contiguous(const torch::Tensor& t) { return t.detach().to(torch::kCPU).contiguous(); }

// Writes `bytes` to `path` through a temporary file, so that an
// interrupted export leaves no half file under the name.
void write_file(const std::string& path, const std::string& head, const std::vector<torch::Tensor>& tensors) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw std::runtime_error(path + ": cannot write");
    out.write(head.data(), static_cast<std::streamsize>(head.size()));
    for (const auto& t : tensors) out.write(static_cast<const char*>(t.data_ptr()), static_cast<std::streamsize>(t.nbytes()));
    if (!out) throw std::runtime_error(path + ": write failed");
  }
  std::filesystem::rename(tmp, path);
}

}  // namespace

NamedTensors module_state_dict(const torch::nn::Module& module) {
  NamedTensors out;
  for (const auto& p : module.named_parameters()) out.emplace_back(p.key(), p.value());
  for (const auto& b : module.named_buffers()) out.emplace_back(b.key(), b.value());
  return out;
}

void write_safetensors(const std::string& path, const NamedTensors& tensors,
                       const std::map<std::string, std::string>& metadata) {
  std::vector<torch::Tensor> data;
  std::ostringstream header;
  header << "{";
  bool first = true;
  if (!metadata.empty()) {
    header << "\"__metadata__\":{";
    for (const auto& [k, v] : metadata) {
      header << (first ? "" : ",") << quoted(k) << ":" << quoted(v);
      first = false;
    }
    header << "}";
  }
  uint64_t offset = 0;
  bool comma = !metadata.empty();
  for (const auto& [name, tensor] : tensors) {
    const auto t = cpu_contiguous(tensor);
    header << (comma ? "," : "") << quoted(name) << ":{\"dtype\":\""
           << dtype_name(t.scalar_type(), name, path) << "\",\"shape\":[";
    for (int64_t d = 0; d < t.dim(); ++d) header << (d ? "," : "") << t.size(d);
    header << "],\"data_offsets\":[" << offset << "," << offset + t.nbytes() << "]}";
    offset += t.nbytes();
    data.push_back(t);
    comma = true;
  }
  header << "}";
  std::string json = header.str();
  // The tensors start 8-byte aligned (the format allows trailing spaces).
  while ((8 + json.size()) % 8 != 0) json.push_back(' ');
  std::string head(8, '\0');
  const uint64_t n = json.size();
  for (int i = 0; i < 8; ++i) head[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  write_file(path, head + json, data);
}

void write_torch_save(const std::string& path, const NamedTensors& tensors) {
  c10::Dict<std::string, torch::Tensor> dict;
  for (const auto& [name, tensor] : tensors) dict.insert(name, cpu_contiguous(tensor));
  const std::vector<char> bytes = torch::pickle_save(dict);
  write_file(path, std::string(bytes.begin(), bytes.end()), {});
}

SafetensorsFile read_safetensors(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw StateDictError(path + ": cannot open");
  std::string blob((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto fail = [&](const std::string& why) { return StateDictError(path + ": not a safetensors file: " + why); };
  if (blob.size() < 8) throw fail("shorter than its 8-byte header length");
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= static_cast<uint64_t>(static_cast<unsigned char>(blob[i])) << (8 * i);
  if (n > blob.size() - 8) throw fail("header length " + std::to_string(n) + " past the end of the file");
  google::protobuf::Struct header;
  if (!google::protobuf::util::JsonStringToMessage(blob.substr(8, n), &header).ok()) throw fail("its header is not JSON");
  const uint64_t start = 8 + n, size = blob.size() - start;
  SafetensorsFile file;
  std::vector<std::pair<uint64_t, std::pair<std::string, torch::Tensor>>> by_offset;
  for (const auto& [name, value] : header.fields()) {
    if (name == "__metadata__") {
      for (const auto& [k, v] : value.struct_value().fields()) file.metadata[k] = v.string_value();
      continue;
    }
    const auto& f = value.struct_value().fields();
    if (!f.count("dtype") || !f.count("shape") || !f.count("data_offsets")) throw fail(name + ": dtype, shape or data_offsets missing");
    const std::string dtype = f.at("dtype").string_value();
    const DtypeName* type = nullptr;
    for (const auto& d : kDtypes) {
      if (dtype == d.name) type = &d;
    }
    if (!type) throw fail(name + ": unknown dtype '" + dtype + "'");
    std::vector<int64_t> shape;
    for (const auto& d : f.at("shape").list_value().values()) shape.push_back(static_cast<int64_t>(d.number_value()));
    const auto& offsets = f.at("data_offsets").list_value().values();
    if (offsets.size() != 2) throw fail(name + ": data_offsets is not [begin, end]");
    const auto begin = static_cast<uint64_t>(offsets[0].number_value()), end = static_cast<uint64_t>(offsets[1].number_value());
    auto t = torch::empty(shape, torch::TensorOptions().dtype(type->type));
    if (end < begin || end > size || end - begin != t.nbytes()) {
      throw fail(name + ": bytes [" + std::to_string(begin) + ", " + std::to_string(end) + ") do not hold its " +
                 std::to_string(t.nbytes()) + " bytes within the file's " + std::to_string(size));
    }
    std::memcpy(t.data_ptr(), blob.data() + start + begin, t.nbytes());
    by_offset.push_back({begin, {name, t}});
  }
  std::sort(by_offset.begin(), by_offset.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  for (auto& [offset, named] : by_offset) file.tensors.push_back(std::move(named));
  return file;
}

}  // namespace rfm::model
