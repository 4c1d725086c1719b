#pragma once
// The losses of Section IV-C/E, each returning this rank's share of the
// global-batch loss (comm/batch_collectives.h): summed over ranks, the shares
// equal the loss one process computes on the whole batch.  With LocalCollectives
// they are the plain mini-batch losses.
//
// Shapes: features [N, K, D] (K parts), labels [N] int64, modality [N] int64
// (0 visible, 1 infrared).  Per-part results are [K].

#include <torch/torch.h>

#include "comm/batch_collectives.h"

namespace rfm::loss {

enum class Distance { kEuclidean, kSquaredEuclidean };

// ||a - b|| or ||a - b||^2 over the last dim.  The Euclidean form has
// gradient 0 (not NaN) where a == b, so a sample on its centre costs 0.
torch::Tensor distance(const torch::Tensor& a, const torch::Tensor& b, Distance kind);

// Cross-entropy summed over local samples / global sample count.  logits
// [..., N, C] (leading dims are parts: result has those dims).
torch::Tensor identity_loss(const torch::Tensor& logits, const torch::Tensor& labels, double label_smoothing,
                            comm::BatchCollectives& collectives);

// Batch-hard triplet loss [34] per part: for each local anchor, the farthest
// positive and the nearest negative over the gathered global batch;
// relu(d_ap - d_an + margin) summed over anchors / global anchor count.
torch::Tensor triplet_loss(const torch::Tensor& features, const torch::Tensor& labels, double margin,
                           comm::BatchCollectives& collectives);

// Mini-batch centres per (identity, modality) from global sums and counts.
struct ModalityCentres {
  torch::Tensor centres;  // [U, 2, K, D]; zero where the count is 0
  torch::Tensor counts;   // [U, 2]
  torch::Tensor row;      // [N] the centre row of each local sample
  torch::Tensor global_batch;  // 0-dim, the features' dtype and device: rows over all ranks
};
ModalityCentres modality_centres(const torch::Tensor& features, const torch::Tensor& labels,
                                 const torch::Tensor& modality, comm::BatchCollectives& collectives, bool detach);

struct CentreLossOptions {
  Distance distance = Distance::kEuclidean;
  bool normalize_by_batch = true;  // divide by the global batch size
  bool detach_centres = false;
};

// Eq. 6: 1/2 (sum_v D(f^v, c^n_y) + sum_n D(f^n, c^v_y)); a sample whose
// identity has no image of the other modality in the batch adds nothing.
torch::Tensor cross_center_loss(const torch::Tensor& features, const torch::Tensor& labels,
                                const torch::Tensor& modality, const CentreLossOptions& options,
                                comm::BatchCollectives& collectives);

// Eq. 5 with mini-batch class centres (both modalities): 1/2 sum D(f, c_y).
torch::Tensor center_loss(const torch::Tensor& features, const torch::Tensor& labels, const torch::Tensor& modality,
                          const CentreLossOptions& options, comm::BatchCollectives& collectives);

// Hetero-centre loss [33]: sum over identities with both modalities of
// D(c^v_y, c^n_y).
torch::Tensor hetero_center_loss(const torch::Tensor& features, const torch::Tensor& labels,
                                 const torch::Tensor& modality, const CentreLossOptions& options,
                                 comm::BatchCollectives& collectives);

}  // namespace rfm::loss
