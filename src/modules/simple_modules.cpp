#include "ttt/modules/simple_modules.hpp"

#include "ops/embedding/embedding.hpp"
#include "ops/matmul/matmul.hpp"
#include "ops/norm/norm.hpp"
#include "ttt/activation_arena.hpp"
#include "ttt/error.hpp"
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
  gamma_ = loader_(*reference_, WeightRequest{child_path("weight"), {"weight"}, false, dt, Layout::ROW_MAJOR},
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
  table_ = loader_(*reference_, WeightRequest{child_path("weight"), {"weight"}, false, dt, Layout::ROW_MAJOR},
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

std::vector<std::pair<std::string, OpShape>> LMHead::describe_ops(Mode mode, const ModuleShapes& s) const {
  // Prefill computes logits for the last position of each user only.
  const int64_t rows = mode == Mode::prefill ? prefill_matmul_rows(s.prefill_batch, 1, device().spec()) : s.decode_batch;
  return {{"lm_head_matmul", OpShape{OpKind::matmul, TensorGroup::LM_HEAD, rows, spec_.dim, spec_.vocab_size}}};
}

LMHead::Plan LMHead::make_plan(Mode mode, const Shape& x_shape) const {
  const DeviceSpec& d = device().spec();
  Plan p;
  p.config = op(mode, "lm_head_matmul").config;
  const DataType dt = p.config.weights_dtype.value_or(DataType::BFLOAT16);
  p.args = ops::MatmulArgs{activation_spec(child_path("input"), x_shape, d),
                           TensorSpec{child_path("weight"), Shape{spec_.dim, spec_.vocab_size}, dt,
                                      weight_layout(dt, d), kDramInterleaved},
                           std::nullopt, UnaryActivation::NONE};
  p.out = ops::MatmulOp::output_spec(p.args, p.config);
  p.out.name = child_path("lm_head_matmul.out");
  return p;
}

void LMHead::check_ops(Mode mode, const ModuleShapes& s, std::vector<ResolvedOp>& resolved, ValidationReport& report) const {
  for (auto& r : resolved) {
    try {
      const Plan p = make_plan(mode, rows_shape(mode, mode == Mode::prefill ? s.prefill_batch : s.decode_batch, 1, spec_.dim));
      ops::MatmulOp::validate(p.args, p.config, device().spec());
      r.cost = ops::MatmulOp::cost(p.args, p.config, device().spec());
      r.weight_bytes = p.args.weight.bytes();
      r.output_bytes = p.out.bytes();
    } catch (const Error& e) {
      report.add(path(), r.name, e.detail());
    }
  }
}

void LMHead::on_configs_applied() {
  if (!reference_) return;
  const DataType dt = shared_weights_dtype(*this, "lm_head_matmul");
  const Layout layout = weight_layout(dt, device().spec());
  if (weight_.defined() && weight_.dtype() == dt && weight_.layout() == layout) return;
  weight_ = loader_(*reference_, WeightRequest{child_path("lm_head_matmul.weight"), {"weight"}, true, dt, layout},
                    device().spec());
}

void LMHead::reserve_buffers(Mode mode, ActivationArena& arena) {
  const ModuleShapes& s = shapes();
  auto p = std::make_unique<Plan>(
      make_plan(mode, rows_shape(mode, mode == Mode::prefill ? s.prefill_batch : s.decode_batch, 1, spec_.dim)));
  arena.reserve(p->out);
  plans_[static_cast<int>(mode)] = std::move(p);
}

void LMHead::bind_buffers(Mode mode, ActivationArena& arena) {
  Plan& p = *plans_[static_cast<int>(mode)];
  p.t_out = arena.get(p.out.name);
}

Tensor& LMHead::forward(Mode mode, const Tensor& x) {
  require_compiled(*this, mode, "LMHead");
  TTT_CHECK(weight_.defined(), InvalidConfig, "LMHead '{}' has no weights", path());
  Plan& p = *plans_[static_cast<int>(mode)];
  ops::ExecContext ctx{device(), ThreadPool::global()};
  if (x.shape() == p.args.x.shape && x.dtype() == p.args.x.dtype && x.layout() == p.args.x.layout) {
    {
      ProfileScope profile(op(mode, "lm_head_matmul").path);
      ops::MatmulOp::run(p.args, x, weight_, nullptr, p.t_out, p.config, ctx);
    }
    return p.t_out;
  }
  Plan v = make_plan(mode, x.shape());
  v.args.x.dtype = x.dtype();
  v.args.x.layout = x.layout();
  p.t_view = p.t_out.view(ops::MatmulOp::output_spec(v.args, v.config).shape);
  {
    ProfileScope profile(op(mode, "lm_head_matmul").path);
    ops::MatmulOp::run(v.args, x, weight_, nullptr, p.t_view, v.config, ctx);
  }
  return p.t_view;
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
