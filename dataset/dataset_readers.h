#pragma once
// Listing the images of a dataset in its published layout.  Each reader
// checks what it can without decoding (folders, split files, manifest
// lines, that each listed file exists) and adds what is wrong to `report`,
// naming the file and line; it lists whatever it can.

#include <string>
#include <vector>

#include "dataset/image_record.h"
#include "dataset/validation_report.h"

namespace rfm::dataset {

// SYSU-MM01: cam1..cam6/<pid %04d>/<n>.jpg and exp/{train,val,test}_id.txt.
// Visible cameras 1, 2, 4, 5; infrared 3, 6.  Training identities are
// train_id + val_id when `train_includes_val` (the reference code's
// convention), train_id only otherwise; test_id's images have split kTest.
struct SysuOptions {
  bool train_includes_val = true;
};
DatasetListing list_sysu_mm01(const std::string& root, const SysuOptions& options, ValidationReport& report);
bool sysu_camera_is_infrared(int camid);

// RegDB: Visible/, Thermal/, idx/{train,test}_{visible,thermal}_{trial}.txt
// with 'relative/path label' lines.  Visible images get camera 1, thermal
// camera 2.
DatasetListing list_regdb(const std::string& root, int trial, ValidationReport& report);

// LLCM (ZYK100/LLCM): idx/train_vis.txt and idx/train_nir.txt ('path
// label' lines, paths relative to the root), idx/test_id.txt (comma-separated
// ids), test_vis/cam1..cam9/<pid %04d>/ and test_nir/cam{1,2,4..9}/<pid
// %04d>/.  Each of the nine cameras records both modalities, so visible and
// infrared images share camera ids; the test cameras are the ones the
// reference code walks (llcm_cameras), a training image's camera is the
// digit after "cam" in its path (0 when none).
DatasetListing list_llcm(const std::string& root, ValidationReport& report);
const std::vector<int>& llcm_cameras(Modality modality);

// A TSV manifest: path, pid, camid, modality, split per line (an optional
// header line starting with "path"; '#' starts a comment).  Relative paths
// are resolved against `root`, or the manifest's directory when it is "".
DatasetListing list_manifest(const std::string& manifest, const std::string& root, ValidationReport& report);

}  // namespace rfm::dataset
