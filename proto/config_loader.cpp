#include "proto/config_loader.h"

#include <fstream>
#include <iostream>
#include <sstream>
#include <utility>

#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/text_format.h>

#include "proto/config_validation.h"

namespace rfm::config {
namespace {

namespace pb = google::protobuf;

// Collects the first parse error with its position (1-based, as editors count).
class FirstErrorCollector : public pb::io::ErrorCollector {
 public:
#if GOOGLE_PROTOBUF_VERSION >= 4022000
  void RecordError(int line, pb::io::ColumnNumber column, absl::string_view message) override {
    record(line, column, std::string(message));
  }
#else
  void AddError(int line, pb::io::ColumnNumber column, const std::string& message) override {
    record(line, column, message);
  }
#endif
  bool has_error() const { return has_error_; }
  int line() const { return line_; }
  int column() const { return column_; }
  const std::string& message() const { return message_; }

 private:
  void record(int line, int column, const std::string& message) {
    if (has_error_) return;
    has_error_ = true;
    line_ = line + 1;
    column_ = column + 1;
    message_ = message;
  }
  bool has_error_ = false;
  int line_ = 0;
  int column_ = 0;
  std::string message_;
};

std::string trim(const std::string& s) {
  const auto first = s.find_first_not_of(" \t");
  if (first == std::string::npos) return "";
  const auto last = s.find_last_not_of(" \t");
  return s.substr(first, last - first + 1);
}

std::string quote_string(const std::string& value) {
  if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') && value.back() == value.front()) {
    return value;
  }
  std::string out = "\"";
  for (char c : value) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::vector<std::string> split_list(const std::string& value) {
  std::vector<std::string> items;
  std::string body = trim(value);
  if (body.size() >= 2 && body.front() == '[' && body.back() == ']') body = body.substr(1, body.size() - 2);
  std::stringstream stream(body);
  std::string item;
  while (std::getline(stream, item, ',')) {
    item = trim(item);
    if (!item.empty()) items.push_back(item);
  }
  return items;
}

}  // namespace

void parse_text_format(const std::string& text, const std::string& source, google::protobuf::Message* message) {
  pb::TextFormat::Parser parser;
  FirstErrorCollector errors;
  parser.RecordErrorsTo(&errors);
  if (!parser.ParseFromString(text, message)) {
    std::ostringstream msg;
    msg << source << ":" << errors.line() << ":" << errors.column() << ": "
        << (errors.has_error() ? errors.message() : "malformed text format");
    throw ConfigError(msg.str());
  }
}

RunConfig parse_config_text(const std::string& text, const std::string& source) {
  RunConfig config;
  parse_text_format(text, source, &config);
  return config;
}

RunConfig read_config_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(path + ": cannot open the configuration file");
  std::ostringstream text;
  text << in.rdbuf();
  return parse_config_text(text.str(), path);
}

void apply_override(RunConfig& config, const std::string& assignment) {
  const auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0) {
    throw ConfigError("--set " + assignment + ": expected path.to.field=value");
  }
  const std::string path = trim(assignment.substr(0, eq));
  const std::string value = trim(assignment.substr(eq + 1));

  std::vector<std::string> parts;
  {
    std::stringstream stream(path);
    std::string part;
    while (std::getline(stream, part, '.')) parts.push_back(part);
  }

  // Walk the descriptors so an unknown path is named before any parsing.
  const pb::Descriptor* descriptor = RunConfig::descriptor();
  pb::Message* message = &config;
  const pb::FieldDescriptor* field = nullptr;
  for (size_t i = 0; i < parts.size(); ++i) {
    field = descriptor->FindFieldByName(parts[i]);
    if (field == nullptr) {
      throw ConfigError("--set " + path + ": '" + descriptor->full_name() + "' has no field '" + parts[i] + "'");
    }
    const bool last = i + 1 == parts.size();
    if (!last) {
      if (field->cpp_type() != pb::FieldDescriptor::CPPTYPE_MESSAGE || field->is_repeated()) {
        throw ConfigError("--set " + path + ": '" + parts[i] + "' is not a message field");
      }
      message = message->GetReflection()->MutableMessage(message, field);
      descriptor = field->message_type();
    } else if (field->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE) {
      throw ConfigError("--set " + path + ": is a message; set one of its fields");
    }
  }

  std::vector<std::string> values = field->is_repeated() ? split_list(value) : std::vector<std::string>{value};
  std::string snippet;
  for (auto& v : values) {
    if (field->cpp_type() == pb::FieldDescriptor::CPPTYPE_STRING) v = quote_string(v);
    snippet += field->name() + ": " + v + "\n";
  }
  if (field->is_repeated()) message->GetReflection()->ClearField(message, field);

  pb::TextFormat::Parser parser;
  FirstErrorCollector errors;
  parser.RecordErrorsTo(&errors);
  if (!parser.MergeFromString(snippet, message)) {
    throw ConfigError("--set " + path + "=" + value + ": " +
                      (errors.has_error() ? errors.message() : "invalid value"));
  }
}

namespace {

// Sets every absent singular field to its default, recursively, so that the
// printed configuration states every value the run uses.
void materialize(pb::Message* message) {
  const pb::Reflection* refl = message->GetReflection();
  const pb::Descriptor* desc = message->GetDescriptor();
  for (int i = 0; i < desc->field_count(); ++i) {
    const pb::FieldDescriptor* f = desc->field(i);
    if (f->is_repeated() || f->options().deprecated()) continue;
    switch (f->cpp_type()) {
      case pb::FieldDescriptor::CPPTYPE_MESSAGE: materialize(refl->MutableMessage(message, f)); break;
      case pb::FieldDescriptor::CPPTYPE_INT32: refl->SetInt32(message, f, refl->GetInt32(*message, f)); break;
      case pb::FieldDescriptor::CPPTYPE_INT64: refl->SetInt64(message, f, refl->GetInt64(*message, f)); break;
      case pb::FieldDescriptor::CPPTYPE_UINT32: refl->SetUInt32(message, f, refl->GetUInt32(*message, f)); break;
      case pb::FieldDescriptor::CPPTYPE_UINT64: refl->SetUInt64(message, f, refl->GetUInt64(*message, f)); break;
      case pb::FieldDescriptor::CPPTYPE_FLOAT: refl->SetFloat(message, f, refl->GetFloat(*message, f)); break;
      case pb::FieldDescriptor::CPPTYPE_DOUBLE: refl->SetDouble(message, f, refl->GetDouble(*message, f)); break;
      case pb::FieldDescriptor::CPPTYPE_BOOL: refl->SetBool(message, f, refl->GetBool(*message, f)); break;
      case pb::FieldDescriptor::CPPTYPE_ENUM: refl->SetEnum(message, f, refl->GetEnum(*message, f)); break;
      case pb::FieldDescriptor::CPPTYPE_STRING: refl->SetString(message, f, refl->GetString(*message, f)); break;
    }
  }
}

}  // namespace

namespace {

// Fields that moved to another section, old path to new (same type and
// meaning); the proto keeps the old names, marked deprecated, so that older
// text still parses.
constexpr std::pair<const char*, const char*> kMovedFields[] = {
    {"train.winograd_min_channels", "cpu_kernels.winograd_min_channels"},
    {"train.winograd_tile", "cpu_kernels.winograd_tile"},
};

// The section message (created when absent) and the field of a
// "section.field" path of kMovedFields.
std::pair<pb::Message*, const pb::FieldDescriptor*> section_field(RunConfig& config, const std::string& path) {
  const auto dot = path.find('.');
  const pb::FieldDescriptor* section = RunConfig::descriptor()->FindFieldByName(path.substr(0, dot));
  pb::Message* message = config.GetReflection()->MutableMessage(&config, section);
  return {message, message->GetDescriptor()->FindFieldByName(path.substr(dot + 1))};
}

bool has_field(const std::pair<pb::Message*, const pb::FieldDescriptor*>& f) {
  return f.first->GetReflection()->HasField(*f.first, f.second);
}

std::string field_text(const std::pair<pb::Message*, const pb::FieldDescriptor*>& f) {
  std::string text;
  pb::TextFormat::PrintFieldValueToString(*f.first, f.second, -1, &text);
  return text;
}

}  // namespace

std::vector<std::string> upgrade_moved_fields(RunConfig& config) {
  std::vector<std::string> warnings;
  for (const auto& [from, to] : kMovedFields) {
    const auto old_field = section_field(config, from);
    if (!has_field(old_field)) continue;
    const auto new_field = section_field(config, to);
    const std::string value = field_text(old_field);
    if (has_field(new_field) && field_text(new_field) != value) {
      throw ConfigError(std::string(from) + " (" + value + ") and " + to + " (" + field_text(new_field) +
                        ") are both set: the field moved to " + to + "; set it there only");
    }
    apply_override(config, std::string(to) + "=" + value);
    old_field.first->GetReflection()->ClearField(old_field.first, old_field.second);
    warnings.push_back(std::string(from) + " moved to " + to + "; read from there");
  }
  return warnings;
}

void materialize_defaults(RunConfig& config) {
  materialize(&config);
  auto* data = config.mutable_data();
  if (data->mean_size() == 0) {
    for (float v : {0.485f, 0.456f, 0.406f}) data->add_mean(v);
  }
  if (data->std_size() == 0) {
    for (float v : {0.229f, 0.224f, 0.225f}) data->add_std(v);
  }
}

RunConfig load_run_config(const std::string& path, const std::vector<std::string>& overrides) {
  RunConfig config = path.empty() ? RunConfig{} : read_config_file(path);
  for (const auto& assignment : overrides) apply_override(config, assignment);
  for (const auto& warning : upgrade_moved_fields(config)) std::cerr << "rfm: warning: " << warning << "\n";
  materialize_defaults(config);
  validate(config);
  return config;
}

std::string to_text(const RunConfig& config) {
  pb::TextFormat::Printer printer;
  std::string out;
  printer.PrintToString(config, &out);
  return out;
}

}  // namespace rfm::config
