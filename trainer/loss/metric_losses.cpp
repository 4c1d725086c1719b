#include "trainer/loss/metric_losses.h"

#include <limits>

namespace rfm::loss {
namespace {

// The global batch size as a 0-dim tensor in `like`'s dtype, on its device:
// no host synchronisation (exact: batch sizes are far below 2^24).
torch::Tensor global_count(int64_t local, const torch::Tensor& like, comm::BatchCollectives& collectives) {
  auto n = collectives.all_reduce_sum(torch::full({1}, static_cast<double>(local), like.options().dtype(torch::kFloat64)));
  return n.to(like.scalar_type()).reshape({});
}

}  // namespace

torch::Tensor distance(const torch::Tensor& a, const torch::Tensor& b, Distance kind) {
  auto d2 = (a - b).pow(2).sum(-1);
  if (kind == Distance::kSquaredEuclidean) return d2;
  // sqrt'(0) is infinite; the masked branch keeps both value and gradient at 0.
  auto positive = d2 > 0;
  return torch::where(positive, d2.clamp_min(1e-30).sqrt(), torch::zeros_like(d2));
}

torch::Tensor identity_loss(const torch::Tensor& logits, const torch::Tensor& labels, double label_smoothing,
                            comm::BatchCollectives& collectives) {
  const auto n = global_count(labels.size(0), logits, collectives);
  auto log_p = torch::log_softmax(logits, -1);
  auto index = labels.view({1, -1, 1}).expand({log_p.numel() / (log_p.size(-2) * log_p.size(-1)), -1, 1});
  auto flat = log_p.reshape({-1, log_p.size(-2), log_p.size(-1)});
  auto nll = -flat.gather(2, index).squeeze(2);            // [P, N]
  auto smooth = -flat.mean(2);                             // uniform target over the classes
  auto per_sample = (1.0 - label_smoothing) * nll + label_smoothing * smooth;
  auto lead = logits.sizes().vec();
  lead.resize(lead.size() - 2);
  return (per_sample.sum(1) / n).reshape(lead);
}

torch::Tensor triplet_loss(const torch::Tensor& features, const torch::Tensor& labels, double margin,
                           comm::BatchCollectives& collectives) {
  const auto gathered = collectives.all_gather(features);
  const auto all_labels = collectives.all_gather(labels).all;
  const double n = static_cast<double>(all_labels.size(0));
  // [K, N_local, N_all] Euclidean distances, part by part.
  auto anchors = features.transpose(0, 1);
  auto others = gathered.all.transpose(0, 1);
  auto d2 = anchors.pow(2).sum(-1, true) + others.pow(2).sum(-1).unsqueeze(1) -
            2.0 * torch::bmm(anchors, others.transpose(1, 2));
  auto dist = d2.clamp_min(1e-12).sqrt();
  auto same = (labels.view({-1, 1}) == all_labels.view({1, -1})).unsqueeze(0);  // [1, N_local, N_all]
  const double inf = std::numeric_limits<double>::infinity();
  auto hardest_positive = torch::where(same, dist, torch::full({}, -inf, dist.options())).amax(2);
  auto hardest_negative = torch::where(same, torch::full({}, inf, dist.options()), dist).amin(2);
  auto has_negative = (~same).any(2);  // an anchor needs at least one other identity
  auto per_anchor = torch::relu(hardest_positive - hardest_negative + margin);
  per_anchor = torch::where(has_negative, per_anchor, torch::zeros_like(per_anchor));
  return per_anchor.sum(1) / n;
}

ModalityCentres modality_centres(const torch::Tensor& features, const torch::Tensor& labels,
                                 const torch::Tensor& modality, comm::BatchCollectives& collectives, bool detach) {
  const int64_t n = features.size(0);
  auto all_labels = collectives.all_gather(labels).all;
  auto ids = std::get<0>(torch::_unique(all_labels, /*sorted=*/true));
  const int64_t u = ids.size(0);
  auto row = (labels.view({-1, 1}) == ids.view({1, -1})).to(torch::kInt64).argmax(1);
  auto slot = row * 2 + modality;
  auto flat = (detach ? features.detach() : features).reshape({n, -1});
  auto sums = torch::zeros({u * 2, flat.size(1)}, flat.options()).index_add(0, slot, flat);
  auto counts = torch::zeros({u * 2}, flat.options()).index_add(0, slot, torch::ones({n}, flat.options()));
  sums = collectives.all_reduce_sum(sums);
  counts = collectives.all_reduce_sum(counts.detach());
  ModalityCentres out;
  out.counts = counts.view({u, 2});
  auto shape = features.sizes().vec();
  shape[0] = u;
  shape.insert(shape.begin() + 1, 2);
  out.centres = (sums / counts.clamp_min(1.0).unsqueeze(1)).view(shape);
  out.row = row;
  out.global_batch = counts.sum();
  return out;
}

torch::Tensor cross_center_loss(const torch::Tensor& features, const torch::Tensor& labels,
                                const torch::Tensor& modality, const CentreLossOptions& options,
                                comm::BatchCollectives& collectives) {
  auto c = modality_centres(features, labels, modality, collectives, options.detach_centres);
  auto other = 1 - modality;
  auto target = c.centres.index({c.row, other});            // [N, K, D]: the other modality's centre
  auto present = c.counts.index({c.row, other}) > 0;        // [N]
  auto d = distance(features, target, options.distance);    // [N, K]
  d = torch::where(present.unsqueeze(1), d, torch::zeros_like(d));
  auto loss = 0.5 * d.sum(0);
  return options.normalize_by_batch ? loss / c.global_batch : loss;
}

torch::Tensor center_loss(const torch::Tensor& features, const torch::Tensor& labels, const torch::Tensor& modality,
                          const CentreLossOptions& options, comm::BatchCollectives& collectives) {
  auto c = modality_centres(features, labels, modality, collectives, options.detach_centres);
  auto total = c.counts.sum(1).clamp_min(1.0);                                    // [U]
  auto weights = (c.counts / total.unsqueeze(1));                                 // [U, 2]
  auto w_shape = std::vector<int64_t>{c.counts.size(0), 2};
  for (int64_t i = 2; i < c.centres.dim(); ++i) w_shape.push_back(1);
  auto class_centres = (c.centres * weights.view(w_shape)).sum(1);                // [U, K, D]
  auto d = distance(features, class_centres.index_select(0, c.row), options.distance);
  auto loss = 0.5 * d.sum(0);
  return options.normalize_by_batch ? loss / c.global_batch : loss;
}

torch::Tensor hetero_center_loss(const torch::Tensor& features, const torch::Tensor& labels,
                                 const torch::Tensor& modality, const CentreLossOptions& options,
                                 comm::BatchCollectives& collectives) {
  auto c = modality_centres(features, labels, modality, collectives, options.detach_centres);
  auto both = (c.counts > 0).all(1);                                              // [U]
  auto d = distance(c.centres.select(1, 0), c.centres.select(1, 1), options.distance);  // [U, K]
  d = torch::where(both.unsqueeze(1), d, torch::zeros_like(d));
  // Every rank sees the same global centres: each takes 1/world of the loss.
  auto loss = d.sum(0) / static_cast<double>(collectives.world_size());
  return options.normalize_by_batch ? loss / c.global_batch : loss;
}

}  // namespace rfm::loss
