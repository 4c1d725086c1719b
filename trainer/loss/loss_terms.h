#pragma once
// The one ordered list of loss terms.  The loss fills them, the step
// all-reduces them in this order, and every output (train_log.tsv, the JSON
// lines, the console, TensorBoard, Prometheus, the plots) iterates this
// list, so a new term is one enumerator and one row below (plus the code
// that computes it).

#include <array>
#include <cstddef>

namespace rfm::loss {

enum LossTerm : std::size_t {
  kTotalLoss,
  kIdLoss,
  kTripletLoss,
  kCentreLoss,
  kModalityIdLoss,
  kVisibleIdLoss,
  kInfraredIdLoss,
};

struct LossTermInfo {
  LossTerm term;
  const char* name;         // the column, JSON key, TensorBoard tag and Prometheus label
  const char* description;  // in the paper's terms
  // A part of another term (MAM's two branches make modality_id): the
  // console and the plots leave it out, the files keep it.
  bool detail;
};

inline constexpr LossTermInfo kLossTerms[] = {
    {kTotalLoss, "total", "Eq. 9: w_m modality_id + id + triplet + lambda centre", false},
    {kIdLoss, "id", "sum over parts of L_id^k", false},
    {kTripletLoss, "triplet", "sum over parts of L_tri^k", false},
    {kCentreLoss, "centre", "sum over parts of L_c^k, before lambda", false},
    {kModalityIdLoss, "modality_id", "L_id^v + L_id^n (MAM)", false},
    {kVisibleIdLoss, "visible_id", "L_id^v, 0 without MAM", true},
    {kInfraredIdLoss, "infrared_id", "L_id^n, 0 without MAM", true},
};
inline constexpr std::size_t kLossTermCount = std::size(kLossTerms);

constexpr bool loss_terms_in_enum_order() {
  for (std::size_t i = 0; i < kLossTermCount; ++i) {
    if (kLossTerms[i].term != i) return false;
  }
  return true;
}
static_assert(loss_terms_in_enum_order(), "kLossTerms rows must follow the LossTerm enumerators");

// One value per loss term, indexed by LossTerm.
template <typename T>
struct PerLossTerm {
  std::array<T, kLossTermCount> values{};

  T& operator[](LossTerm term) { return values[term]; }
  const T& operator[](LossTerm term) const { return values[term]; }
};

}  // namespace rfm::loss
