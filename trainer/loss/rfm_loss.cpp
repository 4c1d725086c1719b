#include "trainer/loss/rfm_loss.h"

namespace rfm::loss {

RfmLossTerms rfm_loss(const model::RfmOutput& output, const torch::Tensor& labels, const torch::Tensor& modality,
                      const RfmLossOptions& options, comm::BatchCollectives& collectives) {
  const auto& f = output.metric_features;
  auto zero = torch::zeros({}, f.options());
  RfmLossTerms terms;
  terms.id = identity_loss(output.part_logits, labels, options.label_smoothing, collectives).sum();
  terms.triplet = options.triplet ? triplet_loss(f, labels, options.triplet_margin, collectives).sum() : zero;
  switch (options.centre) {
    case CentreLossKind::kNone: terms.centre = zero; break;
    case CentreLossKind::kCrossCenter:
      terms.centre = cross_center_loss(f, labels, modality, options.centre_options, collectives).sum();
      break;
    case CentreLossKind::kCenter:
      terms.centre = center_loss(f, labels, modality, options.centre_options, collectives).sum();
      break;
    case CentreLossKind::kHeteroCenter:
      terms.centre = hetero_center_loss(f, labels, modality, options.centre_options, collectives).sum();
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
  terms.visible_id = branch(output.visible_logits, output.visible_index);
  terms.infrared_id = branch(output.infrared_logits, output.infrared_index);
  terms.modality_id = terms.visible_id + terms.infrared_id;
  terms.total = options.modality_id_weight * terms.modality_id + terms.id + terms.triplet +
                options.centre_weight * terms.centre;
  return terms;
}

}  // namespace rfm::loss
