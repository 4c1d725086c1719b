#include "trainer/model/state_dict_file.h"

#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>

#include <caffe2/serialize/inline_container.h>

#include "dataset/text_fields.h"

namespace rfm::model {
namespace {

// A Python value of the subset torch.save writes.
struct PyValue {
  enum class Kind { kNone, kBool, kInt, kFloat, kString, kTuple, kList, kDict, kGlobal, kTensor, kStorage, kMark };
  Kind kind = Kind::kNone;
  int64_t i = 0;
  double f = 0.0;
  std::string s;                                                      // string, global name
  std::vector<std::shared_ptr<PyValue>> items;                        // tuple, list
  std::vector<std::pair<std::shared_ptr<PyValue>, std::shared_ptr<PyValue>>> dict;
  torch::Tensor tensor;                                               // tensor, storage
};
using Ref = std::shared_ptr<PyValue>;

Ref make(PyValue::Kind kind) {
  auto v = std::make_shared<PyValue>();
  v->kind = kind;
  return v;
}

torch::ScalarType storage_dtype(const std::string& global, const std::string& path) {
  static const std::map<std::string, torch::ScalarType> kTypes = {
      {"torch.FloatStorage", torch::kFloat32},   {"torch.DoubleStorage", torch::kFloat64},
      {"torch.HalfStorage", torch::kFloat16},    {"torch.BFloat16Storage", torch::kBFloat16},
      {"torch.LongStorage", torch::kInt64},      {"torch.IntStorage", torch::kInt32},
      {"torch.ShortStorage", torch::kInt16},     {"torch.CharStorage", torch::kInt8},
      {"torch.ByteStorage", torch::kUInt8},      {"torch.BoolStorage", torch::kBool}};
  auto it = kTypes.find(global);
  if (it == kTypes.end()) {
    throw StateDictError(path + ": unsupported storage type " + dataset::printable_excerpt(global));
  }
  return it->second;
}

class Unpickler {
 public:
  Unpickler(const std::string& path, caffe2::serialize::PyTorchStreamReader& archive, const char* data, size_t size)
      : path_(path), archive_(archive), data_(data), size_(size) {}

  Ref run() {
    while (true) {
      const uint8_t op = byte();
      switch (op) {
        case 0x80: byte(); break;                                   // PROTO
        case 0x95: skip(8); break;                                  // FRAME
        case '.': return pop();                                     // STOP
        case 'c': {                                                 // GLOBAL
          auto g = make(PyValue::Kind::kGlobal);
          const std::string module = line();  // two statements: operand order is unspecified
          g->s = module + "." + line();
          push(g);
          break;
        }
        case 0x93: {                                                // STACK_GLOBAL
          auto name = pop();
          auto module = pop();
          auto g = make(PyValue::Kind::kGlobal);
          g->s = module->s + "." + name->s;
          push(g);
          break;
        }
        case 'q': memo_[byte()] = top(); break;                     // BINPUT
        case 'r': memo_[u32()] = top(); break;                      // LONG_BINPUT
        case 0x94: memo_[memo_.size()] = top(); break;              // MEMOIZE
        case 'h': push(memo(byte())); break;                        // BINGET
        case 'j': push(memo(u32())); break;                         // LONG_BINGET
        case '(': push(make(PyValue::Kind::kMark)); break;          // MARK
        case ')': push(make(PyValue::Kind::kTuple)); break;         // EMPTY_TUPLE
        case 't': push(collect(PyValue::Kind::kTuple)); break;      // TUPLE
        case 0x85: tuple_of(1); break;                              // TUPLE1
        case 0x86: tuple_of(2); break;                              // TUPLE2
        case 0x87: tuple_of(3); break;                              // TUPLE3
        case ']': push(make(PyValue::Kind::kList)); break;          // EMPTY_LIST
        case 'l': push(collect(PyValue::Kind::kList)); break;       // LIST
        case 'a': {                                                 // APPEND
          auto v = pop();
          top()->items.push_back(v);
          break;
        }
        case 'e': {                                                 // APPENDS
          auto items = collect(PyValue::Kind::kList);
          for (auto& v : items->items) top()->items.push_back(v);
          break;
        }
        case '}': push(make(PyValue::Kind::kDict)); break;          // EMPTY_DICT
        case 's': {                                                 // SETITEM
          auto v = pop();
          auto k = pop();
          top()->dict.emplace_back(k, v);
          break;
        }
        case 'u': {                                                 // SETITEMS
          auto pairs = collect(PyValue::Kind::kList);
          for (size_t n = 0; n + 1 < pairs->items.size(); n += 2) top()->dict.emplace_back(pairs->items[n], pairs->items[n + 1]);
          break;
        }
        case 'J': push_int(static_cast<int32_t>(u32())); break;     // BININT
        case 'K': push_int(byte()); break;                          // BININT1
        case 'M': push_int(u16()); break;                           // BININT2
        case 0x8a: {                                                // LONG1
          const uint8_t n = byte();
          if (pos_ + n > size_) fail("truncated pickle");
          int64_t value = 0;
          for (uint8_t b = 0; b < n && b < 8; ++b) value |= static_cast<int64_t>(static_cast<uint8_t>(data_[pos_ + b])) << (8 * b);
          if (n > 0 && n < 8 && (static_cast<uint8_t>(data_[pos_ + n - 1]) & 0x80)) value -= int64_t{1} << (8 * n);
          skip(n);
          push_int(value);
          break;
        }
        case 'G': {                                                 // BINFLOAT (big-endian)
          uint64_t bits = 0;
          for (int b = 0; b < 8; ++b) bits = (bits << 8) | byte();
          auto v = make(PyValue::Kind::kFloat);
          std::memcpy(&v->f, &bits, sizeof bits);
          push(v);
          break;
        }
        case 'X': push_string(u32()); break;                        // BINUNICODE
        case 0x8c: push_string(byte()); break;                      // SHORT_BINUNICODE
        case 'N': push(make(PyValue::Kind::kNone)); break;          // NONE
        case 0x88: push_bool(true); break;                          // NEWTRUE
        case 0x89: push_bool(false); break;                         // NEWFALSE
        case 'Q': push(load_storage(pop())); break;                 // BINPERSID
        case 'R': {                                                 // REDUCE
          auto args = pop();
          auto callable = pop();
          push(reduce(callable, args));
          break;
        }
        case 'b': {                                                 // BUILD
          // The state of an OrderedDict is its __dict__ ({"_metadata": ...});
          // a state dict needs none of it.  Anything else is not a state dict.
          auto state = pop();
          if (top()->kind != PyValue::Kind::kDict && top()->kind != PyValue::Kind::kTensor) {
            fail("BUILD applied to an object that is neither a dict nor a tensor");
          }
          break;
        }
        default: {
          char hex[8];
          std::snprintf(hex, sizeof hex, "0x%02x", op);
          fail(std::string("unsupported pickle opcode ") + hex + " at byte " + std::to_string(pos_ - 1));
        }
      }
    }
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw StateDictError(path_ + ": " + dataset::printable_excerpt(what));
  }

  uint8_t byte() {
    if (pos_ >= size_) fail("truncated pickle");
    return static_cast<uint8_t>(data_[pos_++]);
  }
  void skip(size_t n) {
    if (pos_ + n > size_) fail("truncated pickle");
    pos_ += n;
  }
  uint32_t u16() { uint32_t lo = byte(); return lo | (uint32_t{byte()} << 8); }
  uint32_t u32() {
    uint32_t v = 0;
    for (int b = 0; b < 4; ++b) v |= uint32_t{byte()} << (8 * b);
    return v;
  }
  std::string line() {
    std::string s;
    for (char c = static_cast<char>(byte()); c != '\n'; c = static_cast<char>(byte())) s += c;
    return s;
  }
  void push(Ref v) { stack_.push_back(std::move(v)); }
  Ref pop() {
    if (stack_.empty()) fail("pickle stack underflow");
    auto v = stack_.back();
    stack_.pop_back();
    return v;
  }
  Ref top() {
    if (stack_.empty()) fail("pickle stack underflow");
    return stack_.back();
  }
  Ref memo(size_t index) {
    auto it = memo_.find(index);
    if (it == memo_.end()) fail("pickle memo entry " + std::to_string(index) + " is missing");
    return it->second;
  }
  void push_int(int64_t value) {
    auto v = make(PyValue::Kind::kInt);
    v->i = value;
    push(v);
  }
  void push_bool(bool value) {
    auto v = make(PyValue::Kind::kBool);
    v->i = value;
    push(v);
  }
  void push_string(size_t n) {
    if (pos_ + n > size_) fail("truncated pickle");
    auto v = make(PyValue::Kind::kString);
    v->s.assign(data_ + pos_, n);
    pos_ += n;
    push(v);
  }
  Ref collect(PyValue::Kind kind) {
    auto v = make(kind);
    std::vector<Ref> items;
    while (true) {
      auto item = pop();
      if (item->kind == PyValue::Kind::kMark) break;
      items.push_back(item);
    }
    v->items.assign(items.rbegin(), items.rend());
    return v;
  }
  void tuple_of(int n) {
    auto v = make(PyValue::Kind::kTuple);
    v->items.resize(n);
    for (int k = n - 1; k >= 0; --k) v->items[k] = pop();
    push(v);
  }
  std::vector<int64_t> ints(const Ref& tuple) {
    std::vector<int64_t> out;
    for (auto& item : tuple->items) out.push_back(item->i);
    return out;
  }

  // ('storage', torch.XStorage, key, location, numel) -> the record data/<key>.
  Ref load_storage(const Ref& pid) {
    if (pid->kind != PyValue::Kind::kTuple || pid->items.size() < 5 || pid->items[0]->s != "storage") {
      fail("unsupported persistent id (not a tensor storage)");
    }
    const std::string key = pid->items[2]->s;
    auto cached = storages_.find(key);
    if (cached != storages_.end()) return cached->second;
    const auto dtype = storage_dtype(pid->items[1]->s, path_);
    const int64_t numel = pid->items[4]->i;
    const std::string record = "data/" + key;
    if (!archive_.hasRecord(record)) fail("storage record " + record + " is missing");
    auto [ptr, bytes] = archive_.getRecord(record);
    // The record's size bounds the storage before it is allocated: a
    // persistent id that claims 2^60 elements must not reach the allocator.
    const auto item = static_cast<size_t>(c10::elementSize(dtype));
    if (numel < 0 || bytes % item != 0 || static_cast<size_t>(numel) != bytes / item) {
      fail("storage " + record + " holds " + std::to_string(bytes) + " bytes, not " + std::to_string(numel) +
           " elements of " + std::to_string(item) + " bytes");
    }
    auto storage = torch::empty({numel}, torch::TensorOptions().dtype(dtype));
    std::memcpy(storage.data_ptr(), ptr.get(), bytes);
    auto v = make(PyValue::Kind::kStorage);
    v->tensor = storage;
    storages_[key] = v;
    return v;
  }

  Ref reduce(const Ref& callable, const Ref& args) {
    const std::string& name = callable->s;
    if (name == "collections.OrderedDict") return make(PyValue::Kind::kDict);
    if (name == "torch._utils._rebuild_tensor_v2" || name == "torch._utils._rebuild_tensor") {
      if (args->items.size() < 4 || args->items[0]->kind != PyValue::Kind::kStorage) fail("malformed tensor record");
      const auto& storage = args->items[0]->tensor;
      const auto sizes = ints(args->items[2]), strides = ints(args->items[3]);
      const int64_t offset = args->items[1]->i;
      if (sizes.size() != strides.size() || offset < 0) fail("malformed tensor record");
      int64_t last = offset;  // the highest element the view touches
      bool empty = false;
      for (size_t d = 0; d < sizes.size(); ++d) {
        if (sizes[d] < 0 || strides[d] < 0) fail("malformed tensor record");
        empty = empty || sizes[d] == 0;
        int64_t reach = 0;
        if (sizes[d] > 0 && (__builtin_mul_overflow(sizes[d] - 1, strides[d], &reach) ||
                             __builtin_add_overflow(last, reach, &last))) {
          fail("a tensor record reaches past its storage");
        }
      }
      if (!empty && last >= storage.numel()) fail("a tensor record reaches past its storage");
      auto v = make(PyValue::Kind::kTensor);
      v->tensor = storage.as_strided(sizes, strides, offset);
      return v;
    }
    if (name == "torch._utils._rebuild_parameter") {
      if (args->items.empty() || args->items[0]->kind != PyValue::Kind::kTensor) fail("malformed parameter record");
      return args->items[0];
    }
    // TorchScript's pickler (torch::pickle_save, so `rfm export --format
    // pth`) tags a typed dict with its type ("Dict[str, Tensor]"); Python's
    // torch.load returns the dict itself, and so do we.
    if (name == "torch.jit._pickle.restore_type_tag") {
      if (args->items.empty() || args->items[0]->kind != PyValue::Kind::kDict) fail("malformed type tag");
      return args->items[0];
    }
    fail("unsupported object " + name + " (a state-dict file holds tensors only)");
  }

  std::string path_;
  caffe2::serialize::PyTorchStreamReader& archive_;
  const char* data_;
  size_t size_;
  size_t pos_ = 0;
  std::vector<Ref> stack_;
  std::map<size_t, Ref> memo_;
  std::map<std::string, Ref> storages_;
};

bool holds_tensors(const Ref& dict) {
  for (auto& kv : dict->dict) {
    if (kv.second->kind == PyValue::Kind::kTensor) return true;
  }
  return false;
}

}  // namespace

NamedTensors read_state_dict_file(const std::string& path) {
  {
    std::ifstream probe(path, std::ios::binary);
    if (!probe) throw StateDictError(path + ": cannot open the weights file");
    char magic[4] = {};
    probe.read(magic, 4);
    if (probe.gcount() < 4 || std::memcmp(magic, "PK\x03\x04", 4) != 0) {
      throw StateDictError(path + ": not a torch.save zip archive (a pre-1.6 legacy file? re-save it with "
                                  "torch.save(torch.load(f), f) under torch >= 1.6)");
    }
  }
  std::unique_ptr<caffe2::serialize::PyTorchStreamReader> archive;
  try {
    archive = std::make_unique<caffe2::serialize::PyTorchStreamReader>(path);
  } catch (const std::exception& e) {
    throw StateDictError(path + ": corrupt zip archive");
  }
  if (!archive->hasRecord("data.pkl")) throw StateDictError(path + ": no data.pkl record (not a torch.save file)");
  Ref root;
  try {
    auto [pickle, size] = archive->getRecord("data.pkl");
    Unpickler unpickler(path, *archive, static_cast<const char*>(pickle.get()), size);
    root = unpickler.run();
  } catch (const c10::Error& e) {
    // LibTorch's zip reader refuses a damaged record (its checksum, its
    // size); its message runs over several lines with a backtrace.
    const std::string what = e.what_without_backtrace();
    throw StateDictError(path + ": corrupt zip archive (" + what.substr(0, what.find('\n')) + ")");
  }
  if (root->kind != PyValue::Kind::kDict) throw StateDictError(path + ": the top-level object is not a dict");
  if (!holds_tensors(root)) {
    for (auto& kv : root->dict) {
      if ((kv.first->s == "state_dict" || kv.first->s == "model") && kv.second->kind == PyValue::Kind::kDict) {
        root = kv.second;
        break;
      }
    }
  }
  NamedTensors tensors;
  for (auto& kv : root->dict) {
    if (kv.second->kind != PyValue::Kind::kTensor) {
      throw StateDictError(path + ": entry '" + dataset::printable_excerpt(kv.first->s) + "' is not a tensor");
    }
    tensors.emplace_back(kv.first->s, kv.second->tensor);
  }
  return tensors;
}

}  // namespace rfm::model
