#pragma once
// The total objective of Eq. 8-9:
//   L = w_m (L_id^v + L_id^n) + sum_k (L_id^k + L_tri^k + lambda L_c^k)
// where L_c is the cross-centre loss (or, for Table IV, the centre or
// hetero-centre loss) and L_id^v, L_id^n classify MAM's modality features.

#include <torch/torch.h>

#include "comm/batch_collectives.h"
#include "trainer/loss/loss_terms.h"
#include "trainer/loss/metric_losses.h"
#include "trainer/model/rfm_model.h"

namespace rfm::loss {

enum class CentreLossKind { kNone, kCrossCenter, kCenter, kHeteroCenter };

struct RfmLossOptions {
  double label_smoothing = 0.0;
  bool triplet = true;
  double triplet_margin = 0.3;
  CentreLossKind centre = CentreLossKind::kCrossCenter;
  double centre_weight = 3.0;  // lambda
  CentreLossOptions centre_options;
  double modality_id_weight = 1.0;
};

// Each term (loss_terms.h) is this rank's share (comm/batch_collectives.h),
// summed over parts.
using RfmLossTerms = PerLossTerm<torch::Tensor>;

RfmLossTerms rfm_loss(const model::RfmOutput& output, const torch::Tensor& labels, const torch::Tensor& modality,
                      const RfmLossOptions& options, comm::BatchCollectives& collectives);

}  // namespace rfm::loss
