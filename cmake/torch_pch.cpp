// Anchor translation unit of the shared precompiled torch header (see RfmTorch.cmake).
#include <torch/torch.h>
