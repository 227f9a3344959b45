#include "ttt/modules/simple_modules.hpp"

#include "ops/embedding/embedding.hpp"
#include "ops/matmul/matmul.hpp"
#include "ops/norm/norm.hpp"
#include "chip_join.hpp"
#include "ttt/activation_arena.hpp"
#include "ttt/error.hpp"
#include "ttt/modules/tensor_parallel.hpp"
#include "ttt/profiler.hpp"
#include "ttt/thread_pool.hpp"

namespace ttt {
namespace {

Shape rows_shape(Mode mode, int64_t batch, int64_t seq, int64_t width) {
  return mode == Mode::prefill ? Shape{batch, seq, width} : Shape{1, batch, width};
}

void require_compiled(const Module& m, Mode mode, const char* what) {
  TTT_CHECK(m.compiled(mode), InvalidConfig, "{} '{}': call {} before forward_{}", what, m.path(),
            mode == Mode::prefill ? "compile" : "compile_decode", to_string(mode));
}

// Weight dtype of an op: the config's, identical in both modes (one copy serves both).
DataType shared_weights_dtype(const Module& m, const char* op_name) {
  const auto& p = m.op(Mode::prefill, op_name).config.weights_dtype;
  const auto& d = m.op(Mode::decode, op_name).config.weights_dtype;
  TTT_CHECK(p == d, InvalidConfig,
            "{}.{}: prefill and decode configs name different weights_dtype ({} vs {}); one copy of the weights "
            "serves both modes",
            m.path(), op_name, p ? to_string(*p) : "none", d ? to_string(*d) : "none");
  return d.value_or(DataType::BFLOAT16);
}

}  // namespace

// ---------------------------------------------------------------------------------------
// RMSNorm
// ---------------------------------------------------------------------------------------

struct RMSNorm::Plan {
  ops::RmsNormArgs args;
  OpConfig config;
  TensorSpec out;
  Tensor t_out, t_view;
};

RMSNorm::RMSNorm(RMSNormSpec spec, std::shared_ptr<Device> device, ModuleHardwareConfig hw,
                 std::shared_ptr<const WeightSource> reference, std::string path, WeightLoader loader)
    : Module(std::move(path), std::move(device), std::move(hw)),
      spec_(spec),
      reference_(std::move(reference)),
      loader_(loader ? std::move(loader) : WeightLoader(convert_weight)) {
  spec_.validate();
  apply_hardware_configs(hw_config().shapes);
}
RMSNorm::~RMSNorm() = default;

std::vector<std::pair<std::string, OpShape>> RMSNorm::describe_ops(Mode mode, const ModuleShapes& s) const {
  const int64_t rows = mode == Mode::prefill ? s.prefill_batch * s.prefill_seq : s.decode_batch;
  return {{"rms_norm", OpShape{OpKind::rms_norm, TensorGroup::NORM, rows, 1, spec_.dim}}};
}

RMSNorm::Plan RMSNorm::make_plan(Mode mode, const Shape& x_shape) const {
  const DeviceSpec& d = device().spec();
  Plan p;
  p.config = op(mode, "rms_norm").config;
  const DataType gdt = p.config.weights_dtype.value_or(DataType::FLOAT32);
  p.args = ops::RmsNormArgs{activation_spec(child_path("input"), x_shape, d),
                            TensorSpec{child_path("weight"), Shape{spec_.dim}, gdt, Layout::ROW_MAJOR, {}},
                            static_cast<float>(spec_.eps)};
  p.out = ops::RmsNormOp::output_spec(p.args, p.config);
  p.out.name = child_path("rms_norm.out");
  return p;
}

void RMSNorm::check_ops(Mode mode, const ModuleShapes& s, std::vector<ResolvedOp>& resolved, ValidationReport& report) const {
  for (auto& r : resolved) {
    try {
      const Plan p = make_plan(mode, rows_shape(mode, mode == Mode::prefill ? s.prefill_batch : s.decode_batch,
                                                mode == Mode::prefill ? s.prefill_seq : 1, spec_.dim));
      ops::RmsNormOp::validate(p.args, p.config, device().spec());
      r.cost = ops::RmsNormOp::cost(p.args, p.config, device().spec());
      r.weight_bytes = p.args.gamma->bytes();
      r.output_bytes = p.out.bytes();
    } catch (const Error& e) {
      report.add(path(), r.name, e.detail());
    }
  }
}

void RMSNorm::on_configs_applied() {
  if (!reference_) return;
  const DataType dt = shared_weights_dtype(*this, "rms_norm");
  if (gamma_.defined() && gamma_.dtype() == dt) return;
  gamma_ = loader_(*reference_, WeightRequest{child_path("weight"), {"weight"}, false, dt, Layout::ROW_MAJOR, {}},
                   device().spec());
}

void RMSNorm::reserve_buffers(Mode mode, ActivationArena& arena) {
  const ModuleShapes& s = shapes();
  auto p = std::make_unique<Plan>(make_plan(mode, rows_shape(mode, mode == Mode::prefill ? s.prefill_batch : s.decode_batch,
                                                             mode == Mode::prefill ? s.prefill_seq : 1, spec_.dim)));
  arena.reserve(p->out);
  plans_[static_cast<int>(mode)] = std::move(p);
}

void RMSNorm::bind_buffers(Mode mode, ActivationArena& arena) {
  Plan& p = *plans_[static_cast<int>(mode)];
  p.t_out = arena.get(p.out.name);
}

Tensor& RMSNorm::forward(Mode mode, const Tensor& x) {
  require_compiled(*this, mode, "RMSNorm");
  TTT_CHECK(gamma_.defined(), InvalidConfig, "RMSNorm '{}' has no weights: construct it with reference weights", path());
  Plan& p = *plans_[static_cast<int>(mode)];
  ops::ExecContext ctx{device(), ThreadPool::global()};
  if (x.shape() == p.args.input.shape && x.dtype() == p.args.input.dtype && x.layout() == p.args.input.layout) {
    {
      ProfileScope profile(op(mode, "rms_norm").path);
      ops::RmsNormOp::run(p.args, x, &gamma_, p.t_out, p.config, ctx);
    }
    return p.t_out;
  }
  Plan v = make_plan(mode, x.shape());
  v.args.input.dtype = x.dtype();
  v.args.input.layout = x.layout();
  p.t_view = p.t_out.view(ops::RmsNormOp::output_spec(v.args, v.config).shape);
  {
    ProfileScope profile(op(mode, "rms_norm").path);
    ops::RmsNormOp::run(v.args, x, &gamma_, p.t_view, v.config, ctx);
  }
  return p.t_view;
}

Tensor& RMSNorm::forward_prefill(const Tensor& x) {
  prepare_forward(Mode::prefill);
  return forward(Mode::prefill, x);
}
Tensor& RMSNorm::forward_decode(const Tensor& x) {
  prepare_forward(Mode::decode);
  return forward(Mode::decode, x);
}

// ---------------------------------------------------------------------------------------
// Embedding
// ---------------------------------------------------------------------------------------

struct Embedding::Plan {
  ops::EmbeddingArgs args;
  OpConfig config;
  TensorSpec out;
  Tensor t_out, t_view;
};

Embedding::Embedding(EmbeddingSpec spec, std::shared_ptr<Device> device, ModuleHardwareConfig hw,
                     std::shared_ptr<const WeightSource> reference, std::string path, WeightLoader loader)
    : Module(std::move(path), std::move(device), std::move(hw)),
      spec_(spec),
      reference_(std::move(reference)),
      loader_(loader ? std::move(loader) : WeightLoader(convert_weight)) {
  spec_.validate();
  apply_hardware_configs(hw_config().shapes);
}
Embedding::~Embedding() = default;

std::vector<std::pair<std::string, OpShape>> Embedding::describe_ops(Mode mode, const ModuleShapes& s) const {
  const int64_t rows = mode == Mode::prefill ? s.prefill_batch * s.prefill_seq : s.decode_batch;
  return {{"embedding", OpShape{OpKind::embedding, TensorGroup::EMBEDDING, rows, spec_.vocab_size, spec_.dim}}};
}

Embedding::Plan Embedding::make_plan(Mode mode, int64_t batch, int64_t seq) const {
  Plan p;
  p.config = op(mode, "embedding").config;
  const DataType dt = p.config.weights_dtype.value_or(DataType::BFLOAT16);
  const Shape ids = mode == Mode::prefill ? Shape{batch, seq} : Shape{1, batch};
  p.args = ops::EmbeddingArgs{TensorSpec{child_path("ids"), ids, DataType::INT32, Layout::ROW_MAJOR, {}},
                              TensorSpec{child_path("weight"), Shape{spec_.vocab_size, spec_.dim}, dt,
                                         Layout::ROW_MAJOR, kDramInterleaved}};
  p.out = ops::EmbeddingOp::output_spec(p.args, p.config);
  p.out.name = child_path("embedding.out");
  return p;
}

void Embedding::check_ops(Mode mode, const ModuleShapes& s, std::vector<ResolvedOp>& resolved, ValidationReport& report) const {
  for (auto& r : resolved) {
    try {
      const Plan p = make_plan(mode, mode == Mode::prefill ? s.prefill_batch : s.decode_batch,
                               mode == Mode::prefill ? s.prefill_seq : 1);
      ops::EmbeddingOp::validate(p.args, p.config, device().spec());
      r.cost = ops::EmbeddingOp::cost(p.args, p.config, device().spec());
      r.weight_bytes = p.args.table.bytes();
      r.output_bytes = p.out.bytes();
    } catch (const Error& e) {
      report.add(path(), r.name, e.detail());
    }
  }
}

void Embedding::on_configs_applied() {
  if (!reference_) return;
  const DataType dt = shared_weights_dtype(*this, "embedding");
  if (table_.defined() && table_.dtype() == dt) return;
  table_ = loader_(*reference_, WeightRequest{child_path("weight"), {"weight"}, false, dt, Layout::ROW_MAJOR, {}},
                   device().spec());
}

void Embedding::reserve_buffers(Mode mode, ActivationArena& arena) {
  const ModuleShapes& s = shapes();
  auto p = std::make_unique<Plan>(make_plan(mode, mode == Mode::prefill ? s.prefill_batch : s.decode_batch,
                                            mode == Mode::prefill ? s.prefill_seq : 1));
  arena.reserve(p->out);
  plans_[static_cast<int>(mode)] = std::move(p);
}

void Embedding::bind_buffers(Mode mode, ActivationArena& arena) {
  Plan& p = *plans_[static_cast<int>(mode)];
  p.t_out = arena.get(p.out.name);
}

Tensor& Embedding::forward_prefill(std::span<const int32_t> ids, int64_t batch) {
  prepare_forward(Mode::prefill);
  require_compiled(*this, Mode::prefill, "Embedding");
  TTT_CHECK(table_.defined(), InvalidConfig, "Embedding '{}' has no weights", path());
  TTT_CHECK(batch > 0 && static_cast<int64_t>(ids.size()) % batch == 0, ShapeMismatch,
            "Embedding '{}': {} ids do not split into {} users", path(), ids.size(), batch);
  Plan& p = *plans_[0];
  ops::ExecContext ctx{device(), ThreadPool::global()};
  const int64_t seq = static_cast<int64_t>(ids.size()) / batch;
  if (p.args.ids.shape == Shape{batch, seq}) {
    {
      ProfileScope profile(op(Mode::prefill, "embedding").path);
      ops::EmbeddingOp::run(p.args, ids, table_, p.t_out, p.config, ctx);
    }
    return p.t_out;
  }
  TTT_CHECK(batch <= p.args.ids.shape[0] && seq <= p.args.ids.shape[1], ShapeMismatch,
            "Embedding '{}': {} users x {} tokens exceed the compiled {} x {}", path(), batch, seq,
            p.args.ids.shape[0], p.args.ids.shape[1]);
  Plan v = make_plan(Mode::prefill, batch, seq);
  p.t_view = p.t_out.view(v.out.shape);
  {
    ProfileScope profile(op(Mode::prefill, "embedding").path);
    ops::EmbeddingOp::run(v.args, ids, table_, p.t_view, v.config, ctx);
  }
  return p.t_view;
}

Tensor& Embedding::forward_decode(std::span<const int32_t> ids) {
  prepare_forward(Mode::decode);
  require_compiled(*this, Mode::decode, "Embedding");
  TTT_CHECK(table_.defined(), InvalidConfig, "Embedding '{}' has no weights", path());
  Plan& p = *plans_[1];
  TTT_CHECK(static_cast<int64_t>(ids.size()) == p.args.ids.shape[1], ShapeMismatch,
            "Embedding '{}': decode got {} ids for {} users", path(), ids.size(), p.args.ids.shape[1]);
  ops::ExecContext ctx{device(), ThreadPool::global()};
  {
    ProfileScope profile(op(Mode::decode, "embedding").path);
    ops::EmbeddingOp::run(p.args, ids, table_, p.t_out, p.config, ctx);
  }
  return p.t_out;
}

// ---------------------------------------------------------------------------------------
// LMHead
// ---------------------------------------------------------------------------------------

struct LMHead::Plan {
  ops::MatmulArgs args;
  OpConfig config;
  TensorSpec out;
  Tensor t_out, t_view;
};

// What compile made for a mode: one plan per chip and the all_gather of the chips'
// vocabulary slices (split vocabulary only).
struct LMHead::Compiled {
  std::vector<std::unique_ptr<Plan>> plans;
  ChipJoin join;
};

LMHead::LMHead(LMHeadSpec spec, std::shared_ptr<Device> device, ModuleHardwareConfig hw,
               std::shared_ptr<const WeightSource> reference, std::string path, WeightLoader loader)
    : Module(std::move(path), std::move(device), std::move(hw)),
      spec_(spec),
      reference_(std::move(reference)),
      loader_(loader ? std::move(loader) : WeightLoader(convert_weight)) {
  spec_.validate();
  apply_hardware_configs(hw_config().shapes);
}
LMHead::~LMHead() = default;

LMHead::VocabSplit LMHead::split() const {
  const DeviceSpec& d = device().spec();
  const int chips = d.mesh.chips();
  VocabSplit v{1, spec_.vocab_size, {}};
  if (chips <= 1) return v;
  const int64_t share = spec_.vocab_size / chips;
  if (spec_.vocab_size % chips != 0 || (d.is_ttnn() && share % kTileSize != 0)) {
    v.why_not = fmt::format("the vocabulary ({}) does not split into {} equal slices{}", spec_.vocab_size, chips,
                            d.is_ttnn() ? " of whole tiles" : "");
    return v;
  }
  const OpShape full{OpKind::matmul, TensorGroup::LM_HEAD, 1, spec_.dim, spec_.vocab_size};
  if (requested_ways(child_path("lm_head_matmul"), "lm_head_matmul", full, ChipSplit::COLUMN, chips, hw_config(), d) > 1)
    v = VocabSplit{chips, share, {}};
  return v;
}

std::vector<std::pair<std::string, OpShape>> LMHead::describe_ops(Mode mode, const ModuleShapes& s) const {
  // Prefill computes logits for the last position of each user only.
  const int64_t rows = mode == Mode::prefill ? prefill_matmul_rows(s.prefill_batch, 1, device().spec()) : s.decode_batch;
  const VocabSplit v = split();
  std::vector<std::pair<std::string, OpShape>> ops{
      {"lm_head_matmul",
       with_split(OpShape{OpKind::matmul, TensorGroup::LM_HEAD, rows, spec_.dim, v.share}, ChipSplit::COLUMN, v.ways)}};
  if (v.ways > 1)
    ops.push_back({"all_gather", OpShape{OpKind::all_gather, TensorGroup::ACTIVATION, rows, 1, spec_.vocab_size}});
  return ops;
}

LMHead::Plan LMHead::make_plan(Mode mode, const Shape& x_shape, int chip, const VocabSplit& v) const {
  const DeviceSpec& d = device().spec();
  Plan p;
  p.config = op(mode, "lm_head_matmul").config;
  const DataType dt = p.config.weights_dtype.value_or(DataType::BFLOAT16);
  p.args = ops::MatmulArgs{activation_spec(child_path("input"), x_shape, d),
                           matmul_weight_spec(shard_name(child_path("lm_head_matmul.weight"), chip, v.ways), spec_.dim,
                                              v.share, dt, d),
                           std::nullopt, UnaryActivation::NONE};
  p.out = ops::MatmulOp::output_spec(p.args, p.config);
  p.out.name = child_path(v.ways > 1 ? "lm_head_matmul.slice" : "lm_head_matmul.out") + chip_suffix(chip, v.ways);
  return p;
}

ChipJoin LMHead::make_join(Mode mode, const Plan& chip0, int ways) const {
  ChipJoin join;
  if (ways > 1)
    join.plan(OpKind::all_gather, chip0.out, child_path("lm_head_matmul.slice"), ways, op(mode, "all_gather").config,
              child_path("lm_head_matmul.out"));
  return join;
}

void LMHead::check_ops(Mode mode, const ModuleShapes& s, std::vector<ResolvedOp>& resolved, ValidationReport& report) const {
  const VocabSplit v = split();
  for (const auto& r : resolved) check_split(r, path(), "lm_head_matmul", v.why_not, report);
  Plan p;
  ChipJoin join;
  try {
    p = make_plan(mode, rows_shape(mode, mode == Mode::prefill ? s.prefill_batch : s.decode_batch, 1, spec_.dim), 0, v);
    join = make_join(mode, p, v.ways);
  } catch (const Error& e) {
    report.add(path(), "lm_head", e.detail());
    return;
  }
  for (auto& r : resolved) {
    try {
      if (r.name == "lm_head_matmul") {
        ops::MatmulOp::validate(p.args, p.config, device().spec());
        r.cost = ops::MatmulOp::cost(p.args, p.config, device().spec());
        r.weight_bytes = p.args.weight.bytes();
        r.output_bytes = p.out.bytes();
      } else if (r.name == "all_gather") {
        join.validate(device().spec());
        r.cost = join.cost(device().spec());
        r.output_bytes = join.output().bytes();
      }
    } catch (const Error& e) {
      report.add(path(), r.name, e.detail());
    }
  }
}

void LMHead::on_configs_applied() {
  if (!reference_) return;
  const DataType dt = shared_weights_dtype(*this, "lm_head_matmul");
  const Layout layout = weight_layout(dt, device().spec());
  const VocabSplit v = split();
  if (static_cast<int>(weights_.size()) != v.ways) weights_.assign(static_cast<std::size_t>(v.ways), Tensor{});
  for (int c = 0; c < v.ways; ++c) {
    Tensor& w = weights_[static_cast<std::size_t>(c)];
    if (w.defined() && w.dtype() == dt && w.layout() == layout) continue;
    // Chip c's slice of the vocabulary: rows of "weight" ([vocab, dim]).
    WeightRequest req{shard_name(child_path("lm_head_matmul.weight"), c, v.ways), {"weight"}, true, dt, layout, {}};
    if (v.ways > 1) req.slices = {WeightSlice{0, c * v.share, v.share}};
    req.column_shards = matmul_weight_shards(dt, v.share, device().spec());
    w = loader_(*reference_, req, device().spec());
  }
}

LMHead::Compiled& LMHead::state(Mode mode) {
  auto& c = state_[static_cast<int>(mode)];
  if (!c) c = std::make_unique<Compiled>();
  return *c;
}

void LMHead::reserve_buffers(Mode mode, ActivationArena& arena) {
  const ModuleShapes& s = shapes();
  const VocabSplit v = split();
  Compiled& cm = state(mode);
  cm.plans.clear();
  for (int c = 0; c < v.ways; ++c) {
    auto p = std::make_unique<Plan>(make_plan(
        mode, rows_shape(mode, mode == Mode::prefill ? s.prefill_batch : s.decode_batch, 1, spec_.dim), c, v));
    arena.reserve(p->out, c);
    cm.plans.push_back(std::move(p));
  }
  cm.join = make_join(mode, *cm.plans.front(), v.ways);
  cm.join.reserve(arena);
}

void LMHead::bind_buffers(Mode mode, ActivationArena& arena) {
  Compiled& cm = state(mode);
  for (auto& p : cm.plans) p->t_out = arena.get(p->out.name);
  cm.join.bind(arena);
}

Tensor& LMHead::forward(Mode mode, const Tensor& x) {
  require_compiled(*this, mode, "LMHead");
  TTT_CHECK(!weights_.empty() && weights_.front().defined(), InvalidConfig, "LMHead '{}' has no weights", path());
  Compiled& cm = state(mode);
  ops::ExecContext ctx{device(), ThreadPool::global()};
  const Plan& first = *cm.plans.front();
  const bool full = x.shape() == first.args.x.shape && x.dtype() == first.args.x.dtype && x.layout() == first.args.x.layout;
  const VocabSplit v = full ? VocabSplit{} : split();
  for (std::size_t c = 0; c < cm.plans.size(); ++c) {
    Plan& p = *cm.plans[c];
    if (full) {
      ProfileScope profile(op(mode, "lm_head_matmul").path);
      ops::MatmulOp::run(p.args, x, weights_[c], nullptr, p.t_out, p.config, ctx);
      continue;
    }
    Plan pv = make_plan(mode, x.shape(), static_cast<int>(c), v);
    pv.args.x.dtype = x.dtype();
    pv.args.x.layout = x.layout();
    p.t_view = p.t_out.view(ops::MatmulOp::output_spec(pv.args, pv.config).shape);
    ProfileScope profile(op(mode, "lm_head_matmul").path);
    ops::MatmulOp::run(pv.args, x, weights_[c], nullptr, p.t_view, pv.config, ctx);
  }
  Plan& p0 = *cm.plans.front();
  if (!cm.join.active()) return full ? p0.t_out : p0.t_view;
  ProfileScope profile(op(mode, "all_gather").path);
  if (full) return cm.join.run(ctx);
  std::vector<Tensor> parts;  // fewer rows than compiled: views of the slices
  for (const auto& pp : cm.plans) parts.push_back(pp->t_view);
  return cm.join.run_views(parts, ctx);
}

Tensor& LMHead::forward_prefill(const Tensor& x) {
  prepare_forward(Mode::prefill);
  return forward(Mode::prefill, x);
}
Tensor& LMHead::forward_decode(const Tensor& x) {
  prepare_forward(Mode::decode);
  return forward(Mode::decode, x);
}

}  // namespace ttt
