#include "launcher/model_export_command.h"

#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <stdexcept>

#include "launcher/commands.h"
#include "trainer/model/state_dict_export.h"
#include "trainer/model_io/config_bridge.h"
#include "trainer/model_io/model_checkpoint.h"

namespace rfm::launcher {
namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

template <typename Values>
std::string joined(const Values& values, const char* fallback) {
  if (values.empty()) return fallback;
  std::ostringstream s;
  s << std::setprecision(9);  // a float's every digit: Python normalises as we do
  for (int i = 0; i < values.size(); ++i) s << (i ? " " : "") << values.Get(i);
  return s.str();
}

// A JSON object of string values (the .pth's sidecar).
std::string json_object(const std::map<std::string, std::string>& values) {
  std::ostringstream s;
  s << "{\n";
  size_t i = 0;
  for (const auto& [k, v] : values) {
    s << "  \"" << k << "\": \"";
    for (const char c : v) {
      if (c == '"' || c == '\\') s << '\\';
      s << c;
    }
    s << "\"" << (++i < values.size() ? "," : "") << "\n";
  }
  s << "}\n";
  return s.str();
}

}  // namespace

std::map<std::string, std::string> export_metadata(const config::RunConfig& config, const std::string& checkpoint,
                                                   int64_t step) {
  const auto& m = config.model();
  const auto& d = config.data();
  return {
      {"format", "pt"},  // what the safetensors library's PyTorch side expects
      {"rfm.architecture", model_io::architecture_text(m)},
      {"rfm.depth", std::to_string(m.depth())},
      {"rfm.last_stride", std::to_string(m.last_stride())},
      {"rfm.num_parts", std::to_string(m.num_parts())},
      {"rfm.part_dim", std::to_string(m.part_dim())},
      {"rfm.num_classes", std::to_string(m.num_classes())},
      {"rfm.attention", lower(config::ModelConfig::Attention_Name(m.attention()))},
      {"rfm.mam_part_source", lower(config::ModelConfig::PartSource_Name(m.mam_part_source()))},
      {"rfm.mam_reweighting", lower(config::ModelConfig::Reweighting_Name(m.mam_reweighting()))},
      {"rfm.metric_feature", lower(config::ModelConfig::MetricFeature_Name(m.metric_feature()))},
      {"rfm.height", std::to_string(d.height())},
      {"rfm.width", std::to_string(d.width())},
      {"rfm.mean", joined(d.mean(), "0.485 0.456 0.406")},
      {"rfm.std", joined(d.std(), "0.229 0.224 0.225")},
      {"rfm.flip_average", config.evaluation().flip_average() ? "true" : "false"},
      {"rfm.checkpoint", checkpoint},
      {"rfm.step", std::to_string(step)},
      {"rfm.config_name", config.name()},
  };
}

int run_export_command(const std::string& checkpoint, const std::string& format, const std::string& out,
                       std::ostream& log) {
  if (checkpoint.empty()) throw std::invalid_argument("export needs --checkpoint FILE");
  if (out.empty()) throw std::invalid_argument("export needs --out FILE");
  if (format != "safetensors" && format != "pth") {
    throw std::invalid_argument("--format must be safetensors or pth, got '" + format + "'" +
                                (format == "onnx" ? " (for ONNX, run python/export_onnx.py on the safetensors file)" : ""));
  }
  const auto info = model_io::read_checkpoint_info(checkpoint);
  model::RfmModel model(model_io::model_options(info.config));
  model_io::load_model_weights(checkpoint, model);
  const auto tensors = model::module_state_dict(*model);
  const auto metadata = export_metadata(info.config, checkpoint, info.step);
  if (const auto parent = std::filesystem::path(out).parent_path(); !parent.empty()) {
    std::filesystem::create_directories(parent);
  }
  if (format == "safetensors") {
    model::write_safetensors(out, tensors, metadata);
  } else {
    model::write_torch_save(out, tensors);
    std::ofstream sidecar(out + ".json", std::ios::trunc);
    sidecar << json_object(metadata);
    if (!sidecar) throw std::runtime_error(out + ".json: cannot write");
  }
  int64_t values = 0;
  for (const auto& [name, t] : tensors) values += t.numel();
  log << "wrote " << out << (format == "pth" ? " and " + out + ".json" : std::string()) << ": " << tensors.size()
      << " tensors, " << values << " values, step " << info.step << " of '" << info.config.name() << "' ("
      << metadata.at("rfm.architecture") << ")\n";
  return 0;
}

Command export_command() {
  Command c;
  c.name = "export";
  c.summary = "--checkpoint FILE --format safetensors|pth --out FILE: the model's state dict for PyTorch "
              "(python/rfm_model.py loads it)";
  c.options = {{"--checkpoint", "FILE", "the model checkpoint", false},
               {"--format", "F", "safetensors or pth", false},
               {"--out", "FILE", "the exported file", false}};
  c.run = [](const ParsedArguments& args) {
    if (!args.has("--checkpoint")) throw UsageError("export needs one --checkpoint FILE");
    try {
      return run_export_command(args.value("--checkpoint"), args.value("--format"), args.value("--out"), std::cout);
    } catch (const std::invalid_argument& e) {
      throw UsageError(e.what());
    }
  };
  return c;
}

}  // namespace rfm::launcher
