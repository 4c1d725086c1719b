#include "trainer/engine/trainer.h"

#include "trainer/engine/model_checkpoint.h"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <thread>

#include "proto/config_loader.h"
#include "trainer/augment/ltg.h"
#include "trainer/engine/config_bridge.h"
#include "loader/training_data.h"
#include "trainer/model/pretrained_weights.h"

namespace rfm::engine {

int configure_threads(int threads) {
  const int n = threads > 0 ? threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  torch::set_num_threads(n);
  return n;
}

double peak_rss_mib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  }
  return 0.0;
}

Trainer::Trainer(const config::RunConfig& config, std::shared_ptr<comm::BatchCollectives> collectives)
    : config_(config), collectives_(std::move(collectives)), device_(config.train().device()) {
  model_ = model::RfmModel(model_options(config));
  if (!config.model().pretrained().empty()) model::load_torchvision_backbone(model_, config.model().pretrained());
  model_->to(device_);

  // Two groups: the (pretrained) backbone at lr * backbone_lr_multiplier, the rest at lr.
  std::vector<torch::Tensor> backbone, head;
  for (auto& p : model_->named_parameters()) (model_->is_pretrained_tensor(p.key()) ? backbone : head).push_back(p.value());
  const auto& o = config.optimizer();
  auto options = torch::optim::SGDOptions(o.lr()).momentum(o.momentum()).weight_decay(o.weight_decay()).nesterov(o.nesterov());
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(backbone, std::make_unique<torch::optim::SGDOptions>(options));
  groups.emplace_back(head, std::make_unique<torch::optim::SGDOptions>(options));
  group_lr_scale_ = {o.backbone_lr_multiplier(), 1.0};
  optimizer_ = std::make_unique<torch::optim::SGD>(groups, options);

  schedule_.base_lr = o.lr();
  schedule_.warmup_epochs = config.schedule().warmup_epochs();
  schedule_.warmup_factor = config.schedule().warmup_factor();
  schedule_.milestones.assign(config.schedule().milestones().begin(), config.schedule().milestones().end());
  schedule_.gamma = config.schedule().gamma();
  loss_options_ = loss_options(config.loss());

  const auto& d = config.data();
  mean_ = torch::tensor(std::vector<float>(d.mean().begin(), d.mean().end())).view({1, 3, 1, 1}).to(device_);
  std_ = torch::tensor(std::vector<float>(d.std().begin(), d.std().end())).view({1, 3, 1, 1}).to(device_);
}

torch::Tensor Trainer::normalize(const torch::Tensor& images) const { return (images - mean_) / std_; }

torch::Tensor Trainer::augment(const TrainBatch& batch, const torch::Tensor& images, int64_t step_index,
                               int64_t* rectangles) const {
  *rectangles = 0;
  const auto& l = config_.ltg();
  if (!l.enabled()) return images;
  const auto options = ltg_options(l);
  const uint64_t step_seed = augment::mix_seed(config_.train().seed(), static_cast<uint64_t>(step_index));
  const auto rows = batch.global_rows.defined() ? batch.global_rows.to(torch::kCPU) : torch::arange(images.size(0));
  std::vector<uint64_t> seeds;
  for (int64_t i = 0; i < images.size(0); ++i) {
    seeds.push_back(augment::mix_seed(step_seed, static_cast<uint64_t>(rows[i].item<int64_t>())));
  }
  if (l.implementation() == config::LtgConfig::REFERENCE) {
    std::vector<torch::Tensor> out;
    auto cpu = images.to(torch::kCPU);
    for (int64_t i = 0; i < images.size(0); ++i) {
      auto r = augment::ltg_reference(cpu[i], options, seeds[i]);
      *rectangles += static_cast<int64_t>(r.rectangles.size());
      out.push_back(r.image);
    }
    return torch::stack(out).to(images.device());
  }
  auto result = augment::ltg_batched(images, options, seeds);
  for (int used : result.rectangles_used) *rectangles += used;
  return result.images;
}

StepStats Trainer::step(const TrainBatch& batch, int64_t step_index, double epoch) {
  const auto start = std::chrono::steady_clock::now();
  StepStats stats;
  stats.step = step_index;
  stats.images = batch.images.size(0);
  stats.lr = schedule_.at(epoch);
  for (size_t g = 0; g < optimizer_->param_groups().size(); ++g) {
    static_cast<torch::optim::SGDOptions&>(optimizer_->param_groups()[g].options()).lr(stats.lr * group_lr_scale_[g]);
  }

  model_->train();
  // Non-blocking: from the loader's page-locked memory the copies overlap
  // with the work already queued on the device.
  auto images = batch.images.to(device_, /*non_blocking=*/true);
  auto labels = batch.labels.to(device_, /*non_blocking=*/true);
  auto modality = batch.modality.to(device_, /*non_blocking=*/true);
  if (images.scalar_type() == torch::kUInt8) images = images.to(torch::kFloat32).div_(255.0);
  images = normalize(augment(batch, images, step_index, &stats.ltg_rectangles));

  auto output = model_->forward(images, modality);
  auto terms = loss::rfm_loss(output, labels, modality, loss_options_, *collectives_);
  stats.total = terms.total.item<double>();
  stats.id = terms.id.item<double>();
  stats.triplet = terms.triplet.item<double>();
  stats.centre = terms.centre.item<double>();
  stats.modality_id = terms.modality_id.item<double>();
  if (!std::isfinite(stats.total)) {
    std::ostringstream msg;
    msg << "step " << step_index << ": non-finite loss " << stats.total << " (id " << stats.id << ", triplet "
        << stats.triplet << ", centre " << stats.centre << ", modality id " << stats.modality_id << ")";
    throw NonFiniteLossError(msg.str());
  }
  optimizer_->zero_grad();
  terms.total.backward();
  const double clip = config_.optimizer().grad_clip_norm();
  const double grad_norm = torch::nn::utils::clip_grad_norm_(model_->parameters(), clip > 0 ? clip : 1e30);
  if (!std::isfinite(grad_norm)) {
    throw NonFiniteLossError("step " + std::to_string(step_index) + ": non-finite gradient norm");
  }
  optimizer_->step();
  stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return stats;
}

std::vector<StepStats> run_training(const config::RunConfig& requested, std::ostream& log) {
  const int threads = configure_threads(requested.train().threads());
  config::RunConfig config = requested;
  const bool random_identities = config.data().source() == config::DataConfig::RANDOM_IDENTITIES;

  // The batches: in-memory identities, or the dataset through the loader.
  std::unique_ptr<RandomIdentityBatches> random;
  loader::TrainingData data;
  int64_t per_epoch = 0;
  if (random_identities) {
    RandomIdentityOptions o;
    o.num_identities = config.model().num_classes();
    o.images_per_identity = config.data().random_images_per_identity();
    o.height = config.data().height();
    o.width = config.data().width();
    o.ids_per_batch = config.data().ids_per_batch();
    o.per_modality = config.data().images_per_modality();
    o.seed = config.train().seed();
    o.horizontal_flip = config.data().horizontal_flip();
    random = std::make_unique<RandomIdentityBatches>(o);
    per_epoch = config.train().steps_per_epoch() > 0 ? config.train().steps_per_epoch() : random->steps_per_epoch();
  } else {
    const bool cuda = torch::Device(config.train().device()).is_cuda();
    data = loader::open_training_data(config, 0, 1, cuda, log);
    const int64_t classes = data.set->num_classes();
    if (config.model().num_classes() == 0) {
      config.mutable_model()->set_num_classes(static_cast<int32_t>(classes));
    } else if (config.model().num_classes() != classes) {
      throw config::ConfigError("model.num_classes = " + std::to_string(config.model().num_classes()) + ": " +
                                data.set->name + " has " + std::to_string(classes) +
                                " training identities; set it to " + std::to_string(classes) + " or 0");
    }
    per_epoch = data.sampler->batches_per_epoch();
    data.loader->start(0);
  }
  auto next_batch = [&](int64_t step) { return random ? random->batch(step) : data.loader->next(); };

  const std::filesystem::path run_dir(config.train().run_dir());
  std::filesystem::create_directories(run_dir);
  {
    std::ofstream cfg(run_dir / "config.pbtxt");
    cfg << config::to_text(config);
  }

  torch::manual_seed(config.train().seed());
  Trainer trainer(config, std::make_shared<comm::LocalCollectives>());
  int64_t total = per_epoch * config.train().epochs();
  if (config.train().max_steps() > 0) total = std::min<int64_t>(total, config.train().max_steps());

  const auto& d = config.data();
  log << "rfm train: " << total << " steps (" << per_epoch << " per epoch), batch " << d.ids_per_batch() << " x ("
      << d.images_per_modality() << "+" << d.images_per_modality() << ") at " << d.height() << "x" << d.width()
      << ", " << config.model().num_classes() << " classes, ResNet-"
      << config.model().depth() << ", " << threads << " threads, device " << config.train().device() << "\n";
  std::ofstream tsv(run_dir / "train_log.tsv");
  tsv << "step\tepoch\tlr\tloss\tid\ttriplet\tcentre\tmodality_id\tseconds\tltg_rectangles\tdata_seconds\n";
  std::vector<StepStats> history;
  for (int64_t s = 0; s < total; ++s) {
    const double epoch = static_cast<double>(s) / static_cast<double>(per_epoch);
    const auto wait_start = std::chrono::steady_clock::now();
    auto batch = next_batch(s);
    const double data_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - wait_start).count();
    auto stats = trainer.step(batch, s, epoch);
    stats.data_seconds = data_seconds;
    history.push_back(stats);
    tsv << s << '\t' << epoch << '\t' << stats.lr << '\t' << stats.total << '\t' << stats.id << '\t' << stats.triplet
        << '\t' << stats.centre << '\t' << stats.modality_id << '\t' << stats.seconds << '\t' << stats.ltg_rectangles
        << '\t' << stats.data_seconds << '\n';
    if (s % config.metrics().log_every_steps() == 0 || s + 1 == total) {
      log << std::fixed << std::setprecision(4) << "step " << s + 1 << "/" << total << " epoch " << epoch << " lr "
          << stats.lr << " loss " << stats.total << " (id " << stats.id << ", triplet " << stats.triplet << ", centre "
          << stats.centre << ", modality id " << stats.modality_id << ") " << std::setprecision(2)
          << stats.images / stats.seconds << " img/s, data wait " << std::setprecision(3) << data_seconds << " s"
          << std::endl;  // flushed: a redirected log shows progress as it happens
      tsv.flush();
    }
  }
  // Issue 5 adds periodic and preemption checkpoints; the final weights are
  // what `rfm evaluate` reads.
  const auto checkpoint = run_dir / config.checkpoint().directory() / "last.pt";
  save_model_checkpoint(checkpoint.string(), trainer.model(), config, total,
                        static_cast<double>(total) / static_cast<double>(per_epoch));
  log << "checkpoint " << checkpoint.string() << "\n";
  double seconds = 0;
  for (const auto& h : history) seconds += h.seconds;
  log << std::fixed << std::setprecision(3) << "done: " << history.size() << " steps, mean step " << seconds / history.size()
      << " s, peak RSS " << std::setprecision(0) << peak_rss_mib() << " MiB; log in " << (run_dir / "train_log.tsv").string()
      << "\n";
  return history;
}

}  // namespace rfm::engine
