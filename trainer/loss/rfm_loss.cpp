#include "trainer/loss/rfm_loss.h"

namespace rfm::loss {

RfmLossTerms rfm_loss(const model::RfmOutput& output, const torch::Tensor& labels, const torch::Tensor& modality,
                      const RfmLossOptions& options, comm::BatchCollectives& collectives) {
  const auto& f = output.metric_features;
  auto zero = torch::zeros({}, f.options());
  RfmLossTerms terms;
  terms[kIdLoss] = identity_loss(output.part_logits, labels, options.label_smoothing, collectives).sum();
  terms[kTripletLoss] = options.triplet ? triplet_loss(f, labels, options.triplet_margin, collectives).sum() : zero;
  switch (options.centre) {
    case CentreLossKind::kNone: terms[kCentreLoss] = zero; break;
    case CentreLossKind::kCrossCenter:
      terms[kCentreLoss] = cross_center_loss(f, labels, modality, options.centre_options, collectives).sum();
      break;
    case CentreLossKind::kCenter:
      terms[kCentreLoss] = center_loss(f, labels, modality, options.centre_options, collectives).sum();
      break;
    case CentreLossKind::kHeteroCenter:
      terms[kCentreLoss] = hetero_center_loss(f, labels, modality, options.centre_options, collectives).sum();
      break;
  }
  // The modality classifiers see only their modality's rows; a rank without
  // rows of one modality still joins the global count.
  auto branch = [&](const torch::Tensor& logits, const torch::Tensor& index) -> torch::Tensor {
    if (!index.defined()) return zero;
    if (logits.defined()) {
      return identity_loss(logits, labels.index_select(0, index), options.label_smoothing, collectives);
    }
    collectives.all_reduce_sum(torch::zeros({1}, f.options().dtype(torch::kFloat64)));
    return zero;
  };
  terms[kVisibleIdLoss] = branch(output.visible_logits, output.visible_index);
  terms[kInfraredIdLoss] = branch(output.infrared_logits, output.infrared_index);
  terms[kModalityIdLoss] = terms[kVisibleIdLoss] + terms[kInfraredIdLoss];
  terms[kTotalLoss] = options.modality_id_weight * terms[kModalityIdLoss] + terms[kIdLoss] + terms[kTripletLoss] +
                options.centre_weight * terms[kCentreLoss];
  return terms;
}

}  // namespace rfm::loss
