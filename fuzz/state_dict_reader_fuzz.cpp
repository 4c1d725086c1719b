// The torch.save state-dict reader (torchvision's ImageNet weights: our own
// pickle interpreter on LibTorch's zip reader) on arbitrary bytes.  An
// input that starts as a zip file does ("PK") is the whole file; any other
// is a pickle after its first byte, which the target puts in a valid
// archive beside three storage records (data/0: 6 floats, data/1: 2, data/2:
// 16 bytes), so that mutations reach the interpreter instead of failing the
// archive's checksums.

#include <caffe2/serialize/inline_container.h>

#include <cstdint>
#include <vector>

#include "fuzz/fuzz_support.h"
#include "trainer/model/state_dict_file.h"

namespace {

std::string archive_around(const uint8_t* pickle, size_t size) {
  const std::string path = (rfm::fuzz::scratch_folder() / "input.pth").string();
  caffe2::serialize::PyTorchStreamWriter writer(path);
  writer.writeRecord("data.pkl", pickle, size);
  const std::vector<uint8_t> storage(24, 0x3f);
  writer.writeRecord("data/0", storage.data(), 24);
  writer.writeRecord("data/1", storage.data(), 8);
  writer.writeRecord("data/2", storage.data(), 16);
  writer.writeEndOfFile();
  return path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const bool whole_file = data[0] == 'P';
  const std::string path =
      whole_file ? rfm::fuzz::write_input("input.pth", data, size) : archive_around(data + 1, size - 1);
  try {
    for (const auto& [name, tensor] : rfm::model::read_state_dict_file(path)) {
      // Every tensor it hands out lies within its storage: summing reads all of it.
      if (tensor.defined() && tensor.numel() > 0) (void)tensor.sum().item<double>();
    }
  } catch (const rfm::model::StateDictError& e) {
    rfm::fuzz::expect_named_error(e, path);
  }
  return 0;
}
