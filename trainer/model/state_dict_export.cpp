#include "trainer/model/state_dict_export.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <caffe2/serialize/inline_container.h>

#include <algorithm>
#include <climits>
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

// torch's storage class of a dtype, as torch.save names it in a pickle.
const char* storage_name(torch::ScalarType type, const std::string& tensor, const std::string& path) {
  switch (type) {
    case torch::kFloat32: return "FloatStorage";
    case torch::kFloat64: return "DoubleStorage";
    case torch::kFloat16: return "HalfStorage";
    case torch::kBFloat16: return "BFloat16Storage";
    case torch::kInt64: return "LongStorage";
    case torch::kInt32: return "IntStorage";
    case torch::kInt16: return "ShortStorage";
    case torch::kInt8: return "CharStorage";
    case torch::kUInt8: return "ByteStorage";
    case torch::kBool: return "BoolStorage";
    default:
      throw std::runtime_error(path + ": " + tensor + " has dtype " + c10::toString(type) + ", which .pth cannot hold");
  }
}

// Pickle protocol 2, the few opcodes a state dict needs.
class PickleWriter {
 public:
  PickleWriter() { out_ = {static_cast<char>(0x80), 2}; }  // PROTO 2
  void op(char code) { out_.push_back(code); }
  void global(const std::string& module, const std::string& name) { out_ += "c" + module + "\n" + name + "\n"; }
  void string(const std::string& s) {  // BINUNICODE
    op('X');
    u32(static_cast<uint32_t>(s.size()));
    out_ += s;
  }
  void integer(int64_t v) {
    if (v >= INT32_MIN && v <= INT32_MAX) {  // BININT
      op('J');
      u32(static_cast<uint32_t>(static_cast<int32_t>(v)));
    } else {  // LONG1: 8 bytes, little-endian two's complement
      op(static_cast<char>(0x8a));
      out_.push_back(8);
      for (int i = 0; i < 8; ++i) out_.push_back(static_cast<char>((static_cast<uint64_t>(v) >> (8 * i)) & 0xff));
    }
  }
  const std::string& bytes() const { return out_; }

 private:
  void u32(uint32_t v) {
    for (int i = 0; i < 4; ++i) out_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  }
  std::string out_;
};

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
  // What Python's torch.save(state_dict) writes, byte for byte in kind: a
  // zip archive whose data.pkl (pickle protocol 2) builds an OrderedDict of
  // torch._utils._rebuild_tensor_v2 calls on storages kept as the records
  // data/<key>.  torch.load's default weights-only unpickler accepts every
  // global in it; TorchScript's pickler (torch::pickle_save) would tag the
  // dict with torch.jit._pickle.restore_type_tag, which it refuses.
  PickleWriter pickle;
  pickle.global("collections", "OrderedDict");
  pickle.op(')');  // EMPTY_TUPLE
  pickle.op('R');  // REDUCE: OrderedDict()
  pickle.op('(');  // MARK: the items
  std::vector<torch::Tensor> storages;
  for (const auto& [name, tensor] : tensors) {
    const auto t = cpu_contiguous(tensor);
    const std::string key = std::to_string(storages.size());
    pickle.string(name);
    pickle.global("torch._utils", "_rebuild_tensor_v2");
    pickle.op('(');
    pickle.op('(');  // the persistent id: ('storage', torch.XStorage, key, 'cpu', numel)
    pickle.string("storage");
    pickle.global("torch", storage_name(t.scalar_type(), name, path));
    pickle.string(key);
    pickle.string("cpu");
    pickle.integer(t.numel());
    pickle.op('t');  // TUPLE
    pickle.op('Q');  // BINPERSID
    pickle.integer(0);  // storage offset
    pickle.op('(');
    for (const int64_t d : t.sizes()) pickle.integer(d);
    pickle.op('t');
    pickle.op('(');
    for (const int64_t d : t.strides()) pickle.integer(d);
    pickle.op('t');
    pickle.op(static_cast<char>(0x89));  // NEWFALSE: requires_grad
    pickle.global("collections", "OrderedDict");
    pickle.op(')');
    pickle.op('R');  // backward hooks: OrderedDict()
    pickle.op('t');
    pickle.op('R');  // _rebuild_tensor_v2(...)
    storages.push_back(t);
  }
  pickle.op('u');  // SETITEMS
  pickle.op('.');  // STOP

  const std::string tmp = path + ".tmp";
  try {
    // The archive's folder is named after the file, as torch.save names it.
    caffe2::serialize::PyTorchStreamWriter writer(tmp);
    writer.writeRecord("data.pkl", pickle.bytes().data(), pickle.bytes().size());
    writer.writeRecord("byteorder", "little", 6);
    for (size_t i = 0; i < storages.size(); ++i) {
      writer.writeRecord("data/" + std::to_string(i), storages[i].data_ptr(), storages[i].nbytes());
    }
    writer.writeEndOfFile();  // and the version record
    if (!writer.finalized()) throw std::runtime_error("not finalised");
  } catch (const std::exception& e) {
    std::filesystem::remove(tmp);
    throw std::runtime_error(path + ": cannot write: " + e.what());
  }
  std::filesystem::rename(tmp, path);
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
