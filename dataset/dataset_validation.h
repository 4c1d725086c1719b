#pragma once
// The checks that need more than a listing: every image decoded (in
// parallel), and every identity seen in both modalities.  With the SKIP
// policy a corrupt image is dropped from the listing and counted; with
// FAIL it is an error naming the file.

#include "dataset/image_record.h"
#include "dataset/validation_report.h"

namespace rfm::dataset {

enum class CorruptPolicy { kFail, kSkip };

struct ImageCheckOptions {
  CorruptPolicy policy = CorruptPolicy::kFail;
  int threads = 2;  // decoding threads, >= 1
};

// Decodes every record; returns the listing without the skipped ones.
DatasetListing check_images(const DatasetListing& listing, const ImageCheckOptions& options, ValidationReport& report);

// A training identity needs images in both modalities (cross-modality
// batches, the cross-centre loss); a test identity seen in one modality is
// only a warning (it can be a query or a gallery entry, not both).
void check_identities(const DatasetListing& listing, ValidationReport& report);

}  // namespace rfm::dataset
