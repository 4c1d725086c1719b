#include "trainer/run/loader_batch_source.h"

#include "sampler_state.pb.h"
#include "trainer/model_io/model_checkpoint.h"

namespace rfm::run {

loader::TrainBatch LoaderBatchSource::next(int64_t /*step*/) {
  // The loader was started at the first step and delivers in step order.
  return data_.loader->next();
}

std::string LoaderBatchSource::position_after(int64_t steps_done) const {
  return data_.sampler->state_at_step(steps_done).SerializeAsString();
}

void LoaderBatchSource::check_resume_position(const std::string& position, int64_t steps_done,
                                              const std::string& checkpoint) const {
  if (position.empty()) return;  // written without a sampler (in-memory identities)
  sampler::SamplerState saved;
  if (!saved.ParseFromString(position)) throw model_io::CheckpointError(checkpoint + ": unreadable sampler state");
  const int64_t at = data_.sampler->step_of(saved);  // checks seed, batch shape and dataset
  if (at != steps_done) {
    throw model_io::CheckpointError(checkpoint + ": sampler position " + std::to_string(at) +
                                  " disagrees with step " + std::to_string(steps_done));
  }
}

}  // namespace rfm::run
