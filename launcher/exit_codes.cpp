#include "launcher/exit_codes.h"

#include <iostream>

#include "control/message_auth.h"
#include "dataset/dataset_source.h"
#include "dataset/image_codec.h"
#include "evaluation/npy_file.h"
#include "proto/config_loader.h"
#include "sampler/identity_batch_sampler.h"
#include "trainer/engine/trainer.h"
#include "trainer/model_io/model_checkpoint.h"

namespace rfm::launcher {
namespace {

// A dataset, image file, pack or sampler problem: the data is at fault, not
// the run.
bool is_dataset_failure(const std::exception& e) {
  return dynamic_cast<const dataset::DatasetError*>(&e) || dynamic_cast<const dataset::ImageFileError*>(&e) ||
         dynamic_cast<const sampler::SamplerError*>(&e);
}

}  // namespace

int report_failure(const std::string& prefix, const Command* command, const std::vector<Command>& commands) {
  try {
    throw;
  } catch (const UsageError& e) {
    std::cerr << "rfm: " << prefix << e.what() << "\n" << (command ? command_usage(*command) : general_usage(commands));
    return kExitUsage;
  } catch (const config::ConfigError& e) {
    std::cerr << prefix << e.what() << "\n";
    return kExitUsage;
  } catch (const control::SecretError& e) {
    // How the job was started, not what it ran into: a restart would meet it again.
    std::cerr << "rfm: " << prefix << e.what() << "\n";
    return kExitUsage;
  } catch (const engine::NonFiniteLossError& e) {
    std::cerr << "rfm: " << prefix << e.what() << "; stopped (the last checkpoint is kept)\n";
    return kExitNonFinite;
  } catch (const model_io::CheckpointError& e) {
    std::cerr << "rfm: " << prefix << e.what() << "\n";
    return kExitBadInput;
  } catch (const evaluation::NpyError& e) {
    std::cerr << "rfm: " << prefix << e.what() << "\n";
    return kExitBadInput;
  } catch (const std::exception& e) {
    std::cerr << "rfm: " << prefix << e.what() << "\n";
    return is_dataset_failure(e) ? kExitBadDataset : 1;
  }
}

}  // namespace rfm::launcher
