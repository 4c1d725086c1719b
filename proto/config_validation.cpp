#include "proto/config_validation.h"

#include <arpa/inet.h>

#include <cmath>
#include <sstream>

#include "proto/config_loader.h"

namespace rfm::config {
namespace {

class Rules {
 public:
  template <typename T>
  void range(const std::string& path, T value, T lo, T hi, const std::string& allowed) {
    if (!(value >= lo && value <= hi)) fail(path, value, allowed);
  }
  template <typename T>
  void require(bool ok, const std::string& path, T value, const std::string& allowed) {
    if (!ok) fail(path, value, allowed);
  }
  std::vector<std::string> errors;

 private:
  template <typename T>
  void fail(const std::string& path, T value, const std::string& allowed) {
    std::ostringstream msg;
    msg << path << " = " << value << ": " << allowed;
    errors.push_back(msg.str());
  }
};


}  // namespace

int part_feature_height(const ModelConfig& model, int input_height) {
  // The stem and layers 1-3 reduce by 16; layer4 by last_stride more, unless
  // the parts come from the block-3 output (MAM, default reading).
  const bool block3 = model.attention() == ModelConfig::MAM && model.mam_part_source() == ModelConfig::BLOCK3;
  const int stride = block3 ? 16 : 16 * model.last_stride();
  return input_height / stride;
}

std::vector<std::string> validation_errors(const RunConfig& c) {
  Rules r;
  const auto& m = c.model();
  r.require(m.depth() == 18 || m.depth() == 34 || m.depth() == 50, "model.depth", m.depth(), "must be 18, 34 or 50");
  r.require(m.last_stride() == 1 || m.last_stride() == 2, "model.last_stride", m.last_stride(), "must be 1 or 2");
  r.require(!(m.attention() == ModelConfig::MAM && m.last_stride() != 1), "model.last_stride", m.last_stride(),
            "must be 1 with model.attention = MAM (the attention map and block-3 feature share one grid)");
  r.range("model.num_parts", m.num_parts(), 1, 64, "allowed range [1, 64]");
  r.range("model.part_dim", m.part_dim(), 1, 8192, "allowed range [1, 8192]");
  const bool from_files = c.data().source() != DataConfig::RANDOM_IDENTITIES;
  r.require(m.num_classes() >= 2 || (from_files && m.num_classes() == 0), "model.num_classes", m.num_classes(),
            from_files ? "allowed range [2, 10000000], or 0 for the dataset's training identities"
                       : "allowed range [2, 10000000] (0 needs a dataset source)");
  r.require(m.num_classes() <= 10000000, "model.num_classes", m.num_classes(), "allowed range [2, 10000000]");

  const auto& d = c.data();
  r.range("data.height", d.height(), 32, 4096, "allowed range [32, 4096], a multiple of 32");
  r.require(d.height() % 32 == 0, "data.height", d.height(), "must be a multiple of 32");
  r.range("data.width", d.width(), 32, 4096, "allowed range [32, 4096], a multiple of 32");
  r.require(d.width() % 32 == 0, "data.width", d.width(), "must be a multiple of 32");
  if (m.num_parts() >= 1 && d.height() % 32 == 0 && d.height() >= 32) {
    const int hf = part_feature_height(m, d.height());
    r.require(hf % m.num_parts() == 0, "model.num_parts", m.num_parts(),
              "must divide the part feature-map height " + std::to_string(hf) + " (data.height " +
                  std::to_string(d.height()) + ")");
  }
  r.range("data.ids_per_batch", d.ids_per_batch(), 2, 100000, "allowed range [2, 100000] (triplet mining needs negatives)");
  r.range("data.images_per_modality", d.images_per_modality(), 1, 100000, "allowed range [1, 100000]");
  r.require(d.mean_size() == 3, "data.mean (count)", d.mean_size(), "needs 3 values");
  r.require(d.std_size() == 3, "data.std (count)", d.std_size(), "needs 3 values");
  for (int i = 0; i < d.std_size(); ++i) {
    r.require(d.std(i) > 0.f, "data.std[" + std::to_string(i) + "]", d.std(i), "must be > 0");
  }
  r.require(d.source() != DataConfig::RANDOM_IDENTITIES || d.ids_per_batch() <= m.num_classes(), "data.ids_per_batch",
            d.ids_per_batch(), "must be <= model.num_classes (" + std::to_string(m.num_classes()) +
                                   ") for RANDOM_IDENTITIES, whose identities are the classes");
  r.range("data.random_images_per_identity", d.random_images_per_identity(), 1, 100000, "allowed range [1, 100000]");
  r.range("data.loader_threads", d.loader_threads(), 0, 256, "allowed range [0, 256]");
  r.require(d.source() == DataConfig::RANDOM_IDENTITIES || d.source() == DataConfig::MANIFEST || !d.root().empty(),
            "data.root", "\"\"", "must name the dataset directory for data.source " + DataConfig::Source_Name(d.source()));
  r.require(d.source() != DataConfig::MANIFEST || !d.manifest().empty(), "data.manifest", "\"\"",
            "must name the TSV manifest for data.source MANIFEST");
  r.range("data.regdb_trial", d.regdb_trial(), 1, 10, "allowed range [1, 10]");
  r.range("data.pad", d.pad(), 0, 256, "allowed range [0, 256]");
  r.range("data.prefetch_batches", d.prefetch_batches(), 1, 64, "allowed range [1, 64]");

  const auto& y = c.synthetic();
  r.range("synthetic.train_identities", y.train_identities(), 2, 100000, "allowed range [2, 100000]");
  r.range("synthetic.test_identities", y.test_identities(), 1, 100000, "allowed range [1, 100000]");
  r.range("synthetic.val_fraction", y.val_fraction(), 0.f, 0.9f, "allowed range [0, 0.9]");
  r.range("synthetic.images_per_camera", y.images_per_camera(), 1, 1000, "allowed range [1, 1000]");
  r.range("synthetic.height", y.height(), 32, 1024, "allowed range [32, 1024]");
  r.range("synthetic.width", y.width(), 16, 1024, "allowed range [16, 1024]");
  r.range("synthetic.jpeg_quality", y.jpeg_quality(), 1, 100, "allowed range [1, 100]");
  r.range("synthetic.camera_presence", y.camera_presence(), 0.f, 1.f, "allowed range [0, 1]");

  const auto& l = c.ltg();
  r.range("ltg.probability", l.probability(), 0.f, 1.f, "allowed range [0, 1]");
  r.range("ltg.area_min", l.area_min(), 1e-6f, 1.f, "allowed range (0, 1]");
  r.range("ltg.area_max", l.area_max(), 1e-6f, 1.f, "allowed range (0, 1]");
  r.require(l.area_min() <= l.area_max(), "ltg.area_min", l.area_min(),
            "must be <= ltg.area_max (" + std::to_string(l.area_max()) + ")");
  r.range("ltg.aspect_min", l.aspect_min(), 1e-3f, 1.f, "allowed range (0, 1]; aspects are drawn in [r_min, 1/r_min]");
  r.require(l.t_min() > 0.0 && l.t_min() < 1.0, "ltg.t_min", l.t_min(), "allowed range (0, 1)");
  r.require(l.beta_a() > 0.f, "ltg.beta_a", l.beta_a(), "must be > 0");
  r.require(l.beta_b() > 0.f, "ltg.beta_b", l.beta_b(), "must be > 0");
  r.range("ltg.constant", l.constant(), 0.f, 1.f, "allowed range [0, 1]");
  r.range("ltg.max_rectangles", l.max_rectangles(), 1, 4096, "allowed range [1, 4096]");
  r.range("ltg.max_attempts", l.max_attempts(), 1, 10000000, "allowed range [1, 10000000]");

  const auto& s = c.loss();
  r.require(s.label_smoothing() >= 0.f && s.label_smoothing() < 1.f, "loss.label_smoothing", s.label_smoothing(),
            "allowed range [0, 1)");
  r.require(s.triplet_margin() >= 0.f, "loss.triplet_margin", s.triplet_margin(), "must be >= 0");
  r.require(s.center_weight() >= 0.f, "loss.center_weight", s.center_weight(), "lambda must be >= 0");
  r.require(s.modality_id_weight() >= 0.f, "loss.modality_id_weight", s.modality_id_weight(), "must be >= 0");

  const auto& o = c.optimizer();
  r.require(o.lr() > 0.f, "optimizer.lr", o.lr(), "must be > 0");
  r.require(o.momentum() >= 0.f && o.momentum() < 1.f, "optimizer.momentum", o.momentum(), "allowed range [0, 1)");
  r.require(o.weight_decay() >= 0.f, "optimizer.weight_decay", o.weight_decay(), "must be >= 0");
  r.require(!(o.nesterov() && o.momentum() == 0.f), "optimizer.nesterov", "true", "needs optimizer.momentum > 0");
  r.require(o.backbone_lr_multiplier() > 0.f && o.backbone_lr_multiplier() <= 1.f, "optimizer.backbone_lr_multiplier",
            o.backbone_lr_multiplier(), "allowed range (0, 1]");
  r.require(o.grad_clip_norm() >= 0.f, "optimizer.grad_clip_norm", o.grad_clip_norm(), "must be >= 0 (0 disables)");

  const auto& sc = c.schedule();
  r.range("schedule.warmup_epochs", sc.warmup_epochs(), 0, 100000, "allowed range [0, 100000]");
  r.require(sc.warmup_factor() > 0.f && sc.warmup_factor() <= 1.f, "schedule.warmup_factor", sc.warmup_factor(),
            "allowed range (0, 1]");
  r.require(sc.gamma() > 0.f && sc.gamma() <= 1.f, "schedule.gamma", sc.gamma(), "allowed range (0, 1]");
  for (int i = 0; i < sc.milestones_size(); ++i) {
    const std::string path = "schedule.milestones[" + std::to_string(i) + "]";
    r.require(sc.milestones(i) >= 1, path, sc.milestones(i), "must be >= 1");
    if (i > 0) r.require(sc.milestones(i) > sc.milestones(i - 1), path, sc.milestones(i), "milestones must increase strictly");
  }

  const auto& ds = c.distributed();
  r.require(ds.bucket_mb() > 0.f, "distributed.bucket_mb", ds.bucket_mb(), "must be > 0");
  r.require(ds.heartbeat_interval_s() > 0.f, "distributed.heartbeat_interval_s", ds.heartbeat_interval_s(), "must be > 0");
  r.require(ds.rank_timeout_s() > ds.heartbeat_interval_s(), "distributed.rank_timeout_s", ds.rank_timeout_s(),
            "must exceed distributed.heartbeat_interval_s");
  if (!ds.control_address().empty()) {
    in6_addr any{};
    r.require(::inet_pton(AF_INET, ds.control_address().c_str(), &any) == 1 ||
                  ::inet_pton(AF_INET6, ds.control_address().c_str(), &any) == 1,
              "distributed.control_address", "\"" + ds.control_address() + "\"",
              "must be an IPv4 or IPv6 address of this node, or empty");
  }

  const auto& me = c.metrics();
  r.range("metrics.base_port", me.base_port(), 0, 65535, "allowed range [0, 65535]");
  r.range("metrics.log_every_steps", me.log_every_steps(), 1, 100000000, "allowed range [1, 100000000]");
  r.require(me.linger_s() >= 0 && std::isfinite(me.linger_s()), "metrics.linger_s", me.linger_s(), "must be >= 0");

  const auto& ck = c.checkpoint();
  r.require(ck.every_steps() >= 0, "checkpoint.every_steps", ck.every_steps(), "must be >= 0 (0 disables)");
  r.require(ck.every_epochs() >= 0, "checkpoint.every_epochs", ck.every_epochs(), "must be >= 0 (0 disables)");
  r.range("checkpoint.keep_last", ck.keep_last(), 1, 100000, "allowed range [1, 100000]");

  const auto& t = c.train();
  r.range("train.epochs", t.epochs(), 1, 1000000, "allowed range [1, 1000000]");
  r.range("train.steps_per_epoch", t.steps_per_epoch(), 0, 1000000000, "allowed range [0, 1e9] (0: from the dataset)");
  r.require(t.max_steps() >= 0, "train.max_steps", t.max_steps(), "must be >= 0 (0: no cap)");
  r.range("train.threads", t.threads(), 0, 1024, "allowed range [0, 1024] (0: all cores)");
  const std::string& dev = t.device();
  const bool device_ok = dev == "cpu" || dev == "cuda" || (dev.rfind("cuda:", 0) == 0 && dev.size() > 5 &&
                                                           dev.find_first_not_of("0123456789", 5) == std::string::npos);
  r.require(device_ok, "train.device", "\"" + dev + "\"", "must be \"cpu\", \"cuda\" or \"cuda:N\"");
  r.require(!t.run_dir().empty(), "train.run_dir", "\"\"", "must not be empty");
  r.require(t.eval_every_epochs() >= 0, "train.eval_every_epochs", t.eval_every_epochs(), "must be >= 0 (0 disables)");
  r.require(t.precision() != config::TrainConfig::FP16 || dev.rfind("cuda", 0) == 0, "train.precision", "FP16",
            "needs a CUDA train.device (float16 autocast has no CPU kernels; use BF16 on CPU)");
  const double scale = t.loss_scale_initial();
  r.require(scale > 0 && std::isfinite(scale) && std::exp2(std::round(std::log2(scale))) == scale,
            "train.loss_scale_initial", scale, "must be a power of two > 0 (scaling is then exact)");
  r.require(t.loss_scale_growth_interval() >= 1, "train.loss_scale_growth_interval", t.loss_scale_growth_interval(),
            "must be >= 1");


  r.require(c.cpu_kernels().winograd_min_channels() >= 0, "cpu_kernels.winograd_min_channels",
            c.cpu_kernels().winograd_min_channels(), "must be >= 0 (0 disables)");

  const auto& ev = c.evaluation();
  r.range("evaluation.trials", ev.trials(), 1, 100, "allowed range [1, 100]");
  r.range("evaluation.multi_shot_images", ev.multi_shot_images(), 2, 100, "allowed range [2, 100]");
  r.range("evaluation.rerank_k1", ev.rerank_k1(), 1, 1000, "allowed range [1, 1000]");
  r.range("evaluation.rerank_k2", ev.rerank_k2(), 1, ev.rerank_k1(), "allowed range [1, evaluation.rerank_k1]");
  r.range("evaluation.rerank_lambda", ev.rerank_lambda(), 0.f, 1.f, "allowed range [0, 1]");
  r.range("evaluation.batch_size", ev.batch_size(), 1, 4096, "allowed range [1, 4096]");
  r.range("evaluation.max_rank", ev.max_rank(), 20, 1000, "allowed range [20, 1000]");
  r.range("evaluation.rank_list_queries", ev.rank_list_queries(), 0, 100, "allowed range [0, 100]");
  r.range("evaluation.rank_list_size", ev.rank_list_size(), 1, 50, "allowed range [1, 50]");
  for (int i = 0; i < ev.rank_list_query_rows_size(); ++i) {
    r.require(ev.rank_list_query_rows(i) >= 0, "evaluation.rank_list_query_rows[" + std::to_string(i) + "]",
              ev.rank_list_query_rows(i), "must be >= 0");
  }
  r.range("evaluation.decode_threads", ev.decode_threads(), 1, 256, "allowed range [1, 256]");
  return r.errors;
}

void validate(const RunConfig& config) {
  const auto errors = validation_errors(config);
  if (errors.empty()) return;
  std::string joined;
  for (const auto& e : errors) joined += (joined.empty() ? "" : "\n") + std::string("invalid config: ") + e;
  throw ConfigError(joined);
}

}  // namespace rfm::config
