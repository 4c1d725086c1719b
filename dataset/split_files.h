#pragma once
// The files the published VI-ReID layouts describe their splits with,
// read the way every reader needs them.  Problems go to `report`, naming
// the file and line; what can be read is returned.

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "dataset/image_record.h"
#include "dataset/validation_report.h"

namespace rfm::dataset {

// A file of comma-separated person ids (SYSU-MM01's exp/*_id.txt, LLCM's
// idx/test_id.txt: one line; several lines and any whitespace accepted).
// An id listed twice, a non-id and an empty file are errors.
std::vector<int64_t> read_id_file(const std::filesystem::path& file, ValidationReport& report);

// A person id as the layouts name its folder: "0042".
std::string pid_folder(int64_t pid);

// An index of 'relative/path label' lines (RegDB's idx/*_{trial}.txt,
// LLCM's idx/train_{vis,nir}.txt): one record per line whose image exists
// under `root`, with the label as person id and `camera(path)` as camera.
void read_path_label_index(const std::filesystem::path& root, const std::filesystem::path& file, Modality modality,
                           Split split, const std::function<int(const std::string& path)>& camera,
                           DatasetListing& listing, ValidationReport& report);

// Empty when `image` is a regular file; otherwise "PATH: no such image",
// with the system's reason where it refused the path (one too long): a
// problem of the line that names it, never an exception.
std::string missing_image(const std::filesystem::path& image);

// The image files of one folder (.jpg .jpeg .png .bmp), sorted by name; an
// unreadable folder is an error, a missing one lists nothing.
std::vector<std::string> image_files_in(const std::filesystem::path& dir, ValidationReport& report);

}  // namespace rfm::dataset
