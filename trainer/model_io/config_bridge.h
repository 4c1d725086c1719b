#pragma once
// The one place where the protobuf run description becomes the Options of
// the model, augmentation and loss modules (which know nothing of protobuf).

#include "rfm_config.pb.h"
#include "trainer/augment/ltg.h"
#include "trainer/loss/rfm_loss.h"
#include "trainer/model/rfm_model.h"

namespace rfm::model_io {

model::RfmModelOptions model_options(const config::RunConfig& config);
kernels::Conv3x3Policy conv3x3_policy(const config::CpuKernelsConfig& cpu_kernels);
augment::LtgOptions ltg_options(const config::LtgConfig& ltg);
loss::RfmLossOptions loss_options(const config::LossConfig& loss);

}  // namespace rfm::model_io
