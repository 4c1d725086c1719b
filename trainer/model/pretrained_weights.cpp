#include "trainer/model/pretrained_weights.h"

#include <map>
#include <set>
#include <sstream>

namespace rfm::model {
namespace {

std::string shape(const torch::Tensor& t) {
  std::ostringstream s;
  s << t.sizes();
  return s.str();
}

void append_list(std::ostringstream& out, const char* what, const std::vector<std::string>& names) {
  if (names.empty()) return;
  out << "; " << names.size() << " " << what << ": ";
  for (size_t i = 0; i < names.size() && i < 8; ++i) out << (i ? ", " : "") << names[i];
  if (names.size() > 8) out << ", ...";
}

WeightLoadReport checked(WeightLoadReport report, const std::string& path) {
  if (!report.ok()) throw StateDictError(path + ": does not fit the model" + report.describe());
  return report;
}

}  // namespace

std::string WeightLoadReport::describe() const {
  std::ostringstream out;
  out << "; " << copied << " tensors copied";
  append_list(out, "missing", missing);
  append_list(out, "unexpected", unexpected);
  append_list(out, "mis-shaped", mismatched);
  append_list(out, "ignored", ignored);
  return out.str();
}

WeightLoadReport copy_named_tensors(torch::nn::Module& module, const NamedTensors& source,
                                    const std::function<std::vector<std::string>(const std::string&)>& targets_of,
                                    const std::function<bool(const std::string&)>& required) {
  std::map<std::string, torch::Tensor> slots;
  for (auto& p : module.named_parameters()) slots[p.key()] = p.value();
  for (auto& b : module.named_buffers()) slots[b.key()] = b.value();

  WeightLoadReport report;
  std::set<std::string> written;
  torch::NoGradGuard no_grad;
  for (const auto& [key, tensor] : source) {
    if (key.rfind("fc.", 0) == 0) {
      report.ignored.push_back(key);
      continue;
    }
    const auto targets = targets_of(key);
    if (targets.empty()) report.unexpected.push_back(key);
    for (const auto& name : targets) {
      auto slot = slots.find(name);
      if (slot == slots.end()) {
        report.unexpected.push_back(key);
        continue;
      }
      if (slot->second.sizes() != tensor.sizes()) {
        report.mismatched.push_back(key + ": file " + shape(tensor) + " vs model " + shape(slot->second));
        continue;
      }
      slot->second.copy_(tensor);
      written.insert(name);
      ++report.copied;
    }
  }
  for (const auto& [name, tensor] : slots) {
    if (required(name) && !written.count(name)) report.missing.push_back(name);
  }
  return report;
}

WeightLoadReport load_module_state_dict(torch::nn::Module& module, const std::string& path) {
  const auto tensors = read_state_dict_file(path);
  auto report = copy_named_tensors(
      module, tensors, [](const std::string& key) { return std::vector<std::string>{key}; },
      [](const std::string&) { return true; });
  return checked(std::move(report), path);
}

WeightLoadReport load_torchvision_resnet(ResNet& resnet, const std::string& path) {
  return load_module_state_dict(*resnet, path);
}

WeightLoadReport load_torchvision_backbone(RfmModel& model, const std::string& path) {
  const auto tensors = read_state_dict_file(path);
  auto report = copy_named_tensors(
      *model, tensors, [&](const std::string& key) { return model->pretrained_targets(key); },
      [&](const std::string& name) { return model->is_pretrained_tensor(name); });
  return checked(std::move(report), path);
}

}  // namespace rfm::model
