#include "ttt/modules/transformer.hpp"

#include <fmt/format.h>

#include "ops/eltwise/eltwise.hpp"
#include "ops/slice/slice.hpp"
#include "ttt/activation_arena.hpp"
#include "ttt/error.hpp"
#include "ttt/profiler.hpp"
#include "ttt/thread_pool.hpp"

namespace ttt {
namespace {

std::shared_ptr<const WeightSource> sub_source(const std::shared_ptr<const WeightSource>& base, const std::string& prefix) {
  if (!base) return nullptr;
  return std::make_shared<PrefixedWeightSource>(base, prefix);
}

Shape rows_shape(Mode mode, int64_t batch, int64_t seq, int64_t width) {
  return mode == Mode::prefill ? Shape{batch, seq, width} : Shape{1, batch, width};
}

}  // namespace

// ---------------------------------------------------------------------------------------
// DecoderLayer
// ---------------------------------------------------------------------------------------

struct DecoderLayer::Plan {
  ops::BinaryArgs attn_add, mlp_add;
  OpConfig c_attn_add, c_mlp_add;
  TensorSpec o_attn_add, o_mlp_add;
  Tensor t_attn_add, t_mlp_add, v_attn_add, v_mlp_add;
};

DecoderLayer::DecoderLayer(DecoderLayerSpec spec, std::shared_ptr<Device> device, ModuleHardwareConfig hw,
                           std::shared_ptr<const WeightSource> reference, std::string path, WeightLoader loader)
    : Module(std::move(path), std::move(device), std::move(hw)), spec_(spec) {
  spec_.validate();
  {
    ChildScope scope;
    attention_norm_ = std::make_unique<RMSNorm>(spec_.attention_norm, device_ptr(), hw_config(),
                                                sub_source(reference, "input_layernorm."), child_path("attention_norm"), loader);
    attention_ = std::make_unique<MultiHeadAttention>(spec_.attention, device_ptr(), hw_config(),
                                                      sub_source(reference, "self_attn."), child_path("attention"), loader);
    mlp_norm_ = std::make_unique<RMSNorm>(spec_.mlp_norm, device_ptr(), hw_config(),
                                          sub_source(reference, "post_attention_layernorm."), child_path("mlp_norm"), loader);
    mlp_ = std::make_unique<MLP>(spec_.mlp, device_ptr(), hw_config(), sub_source(reference, "mlp."), child_path("mlp"),
                                 loader);
  }
  add_child(attention_norm_.get());
  add_child(attention_.get());
  add_child(mlp_norm_.get());
  add_child(mlp_.get());
  apply_hardware_configs(hw_config().shapes);
}

DecoderLayer::~DecoderLayer() = default;

std::vector<std::pair<std::string, OpShape>> DecoderLayer::describe_ops(Mode mode, const ModuleShapes& s) const {
  const int64_t rows = mode == Mode::prefill ? s.prefill_batch * s.prefill_seq : s.decode_batch;
  const OpShape add{OpKind::eltwise, TensorGroup::ACTIVATION, rows, 1, spec_.attention.hidden_dim};
  return {{"attention_residual", add}, {"mlp_residual", add}};
}

DecoderLayer::Plan DecoderLayer::make_plan(Mode mode, const Shape& x_shape) const {
  const DeviceSpec& d = device().spec();
  Plan p;
  p.c_attn_add = op(mode, "attention_residual").config;
  p.c_mlp_add = op(mode, "mlp_residual").config;
  const TensorSpec x = activation_spec(child_path("input"), x_shape, d);
  p.attn_add = ops::BinaryArgs{x, x, ops::BinaryOpType::ADD, UnaryActivation::NONE};
  p.o_attn_add = ops::BinaryOp::output_spec(p.attn_add, p.c_attn_add);
  p.o_attn_add.name = child_path("attention_residual.out");
  p.mlp_add = ops::BinaryArgs{p.o_attn_add, p.o_attn_add, ops::BinaryOpType::ADD, UnaryActivation::NONE};
  p.o_mlp_add = ops::BinaryOp::output_spec(p.mlp_add, p.c_mlp_add);
  p.o_mlp_add.name = child_path("mlp_residual.out");
  return p;
}

void DecoderLayer::check_ops(Mode mode, const ModuleShapes& s, std::vector<ResolvedOp>& resolved,
                             ValidationReport& report) const {
  const bool pre = mode == Mode::prefill;
  for (auto& r : resolved) {
    try {
      const Plan p = make_plan(mode, rows_shape(mode, pre ? s.prefill_batch : s.decode_batch, pre ? s.prefill_seq : 1,
                                                spec_.attention.hidden_dim));
      const ops::BinaryArgs& a = r.name == "attention_residual" ? p.attn_add : p.mlp_add;
      ops::BinaryOp::validate(a, r.config, device().spec());
      r.cost = ops::BinaryOp::cost(a, r.config, device().spec());
      r.output_bytes = ops::BinaryOp::output_spec(a, r.config).bytes();
    } catch (const Error& e) {
      report.add(path(), r.name, e.detail());
    }
  }
}

void DecoderLayer::reserve_buffers(Mode mode, ActivationArena& arena) {
  const ModuleShapes& s = shapes();
  const bool pre = mode == Mode::prefill;
  auto p = std::make_unique<Plan>(make_plan(mode, rows_shape(mode, pre ? s.prefill_batch : s.decode_batch,
                                                             pre ? s.prefill_seq : 1, spec_.attention.hidden_dim)));
  arena.reserve(p->o_attn_add);
  arena.reserve(p->o_mlp_add);
  plans_[static_cast<int>(mode)] = std::move(p);
}

void DecoderLayer::bind_buffers(Mode mode, ActivationArena& arena) {
  Plan& p = *plans_[static_cast<int>(mode)];
  p.t_attn_add = arena.get(p.o_attn_add.name);
  p.t_mlp_add = arena.get(p.o_mlp_add.name);
}

Tensor& DecoderLayer::forward_prefill(const Tensor& x, int64_t first_user) {
  prepare_forward(Mode::prefill);
  TTT_CHECK(compiled(Mode::prefill), InvalidConfig, "layer '{}': call compile before forward_prefill", path());
  Plan& p = *plans_[0];
  ops::ExecContext ctx{device(), ThreadPool::global()};
  const Tensor& h1 = attention_norm_->forward_prefill(x);
  const Tensor& a = attention_->forward_prefill(h1, first_user);
  const bool full = x.shape() == p.attn_add.a.shape;
  Plan v = full ? Plan{} : make_plan(Mode::prefill, x.shape());
  Plan& use = full ? p : v;
  Tensor& r1 = full ? p.t_attn_add : (p.v_attn_add = p.t_attn_add.view(v.o_attn_add.shape));
  use.attn_add.a.dtype = x.dtype();
  use.attn_add.a.layout = x.layout();
  use.attn_add.b.dtype = a.dtype();
  use.attn_add.b.layout = a.layout();
  {
    ProfileScope profile(op(Mode::prefill, "attention_residual").path);
    ops::BinaryOp::run(use.attn_add, x, a, r1, use.c_attn_add, ctx);
  }
  const Tensor& h2 = mlp_norm_->forward_prefill(r1);
  const Tensor& m = mlp_->forward_prefill(h2);
  Tensor& r2 = full ? p.t_mlp_add : (p.v_mlp_add = p.t_mlp_add.view(v.o_mlp_add.shape));
  use.mlp_add.b.dtype = m.dtype();
  use.mlp_add.b.layout = m.layout();
  {
    ProfileScope profile(op(Mode::prefill, "mlp_residual").path);
    ops::BinaryOp::run(use.mlp_add, r1, m, r2, use.c_mlp_add, ctx);
  }
  return r2;
}

Tensor& DecoderLayer::forward_decode(const Tensor& x, Positions positions) {
  prepare_forward(Mode::decode);
  TTT_CHECK(compiled(Mode::decode), InvalidConfig, "layer '{}': call compile_decode before forward_decode", path());
  Plan& p = *plans_[1];
  ops::ExecContext ctx{device(), ThreadPool::global()};
  const Tensor& h1 = attention_norm_->forward_decode(x);
  const Tensor& a = attention_->forward_decode(h1, positions);
  {
    ProfileScope profile(op(Mode::decode, "attention_residual").path);
    ops::BinaryOp::run(p.attn_add, x, a, p.t_attn_add, p.c_attn_add, ctx);
  }
  const Tensor& h2 = mlp_norm_->forward_decode(p.t_attn_add);
  const Tensor& m = mlp_->forward_decode(h2);
  {
    ProfileScope profile(op(Mode::decode, "mlp_residual").path);
    ops::BinaryOp::run(p.mlp_add, p.t_attn_add, m, p.t_mlp_add, p.c_mlp_add, ctx);
  }
  return p.t_mlp_add;
}

// ---------------------------------------------------------------------------------------
// Transformer
// ---------------------------------------------------------------------------------------

struct Transformer::Plan {
  ops::SelectRowsArgs select;
  OpConfig c_select;
  TensorSpec o_select;
  Tensor t_select;
};

Transformer::Transformer(TransformerSpec spec, std::shared_ptr<Device> device, ModuleHardwareConfig hw,
                         std::shared_ptr<const WeightSource> reference, WeightLoader loader)
    : Module("", std::move(device), std::move(hw)), spec_(std::move(spec)) {
  spec_.validate();
  {
    ChildScope scope;
    embedding_ = std::make_unique<Embedding>(spec_.embedding, device_ptr(), hw_config(),
                                             sub_source(reference, "model.embed_tokens."), "embedding", loader);
    for (int64_t i = 0; i < spec_.num_layers; ++i) {
      layers_.push_back(std::make_unique<DecoderLayer>(spec_.layer, device_ptr(), hw_config(),
                                                       sub_source(reference, fmt::format("model.layers.{}.", i)),
                                                       fmt::format("layers.{}", i), loader));
    }
    norm_ = std::make_unique<RMSNorm>(spec_.final_norm, device_ptr(), hw_config(), sub_source(reference, "model.norm."),
                                      "norm", loader);
    const std::string head_prefix =
        spec_.lm_head.tied_to_embedding || (reference && !reference->has("lm_head.weight")) ? "model.embed_tokens." : "lm_head.";
    lm_head_ = std::make_unique<LMHead>(spec_.lm_head, device_ptr(), hw_config(), sub_source(reference, head_prefix),
                                        "lm_head", loader);
  }
  add_child(embedding_.get());
  for (auto& l : layers_) add_child(l.get());
  add_child(norm_.get());
  add_child(lm_head_.get());
  apply_hardware_configs(hw_config().shapes);
}

Transformer::~Transformer() = default;

std::vector<std::pair<std::string, OpShape>> Transformer::describe_ops(Mode mode, const ModuleShapes& s) const {
  if (mode == Mode::decode) return {};
  return {{"select_rows", OpShape{OpKind::eltwise, TensorGroup::ACTIVATION, s.prefill_batch, 1,
                                  spec_.embedding.dim}}};
}

void Transformer::check_ops(Mode mode, const ModuleShapes& s, std::vector<ResolvedOp>& resolved,
                            ValidationReport& report) const {
  (void)mode;
  for (auto& r : resolved) {
    try {
      const ops::SelectRowsArgs a{activation_spec("norm.out", Shape{s.prefill_batch, s.prefill_seq, spec_.embedding.dim},
                                                  device().spec())};
      ops::SelectRowsOp::validate(a, r.config, device().spec());
      r.cost = ops::SelectRowsOp::cost(a, r.config, device().spec());
      r.output_bytes = ops::SelectRowsOp::output_spec(a, r.config).bytes();
    } catch (const Error& e) {
      report.add(path(), r.name, e.detail());
    }
  }
}

void Transformer::reserve_buffers(Mode mode, ActivationArena& arena) {
  if (mode == Mode::decode) return;
  const ModuleShapes& s = shapes();
  auto p = std::make_unique<Plan>();
  p->c_select = op(Mode::prefill, "select_rows").config;
  p->select = ops::SelectRowsArgs{activation_spec("norm.out", Shape{s.prefill_batch, s.prefill_seq, spec_.embedding.dim},
                                                  device().spec())};
  p->o_select = ops::SelectRowsOp::output_spec(p->select, p->c_select);
  p->o_select.name = "select_rows.out";
  arena.reserve(p->o_select);
  plan_ = std::move(p);
}

void Transformer::bind_buffers(Mode mode, ActivationArena& arena) {
  if (mode == Mode::prefill) plan_->t_select = arena.get(plan_->o_select.name);
}

Tensor& Transformer::forward_prefill(std::span<const int32_t> ids, int64_t batch, int64_t first_user) {
  prepare_forward(Mode::prefill);
  TTT_CHECK(compiled(Mode::prefill), InvalidConfig, "transformer: call compile(PrefillShape) before forward_prefill");
  const Tensor* h = &embedding_->forward_prefill(ids, batch);
  for (auto& l : layers_) h = &l->forward_prefill(*h, first_user);
  const Tensor& normed = norm_->forward_prefill(*h);
  Plan& p = *plan_;
  ops::ExecContext ctx{device(), ThreadPool::global()};
  const int64_t seq = normed.shape()[1];
  last_rows_.assign(static_cast<std::size_t>(batch), static_cast<int32_t>(seq - 1));
  ops::SelectRowsArgs args{normed.spec()};
  Tensor rows = p.t_select.view(Shape{batch, 1, spec_.embedding.dim});
  {
    ProfileScope profile(op(Mode::prefill, "select_rows").path);
    ops::SelectRowsOp::run(args, normed, last_rows_, rows, p.c_select, ctx);
  }
  return lm_head_->forward_prefill(rows);
}

Tensor& Transformer::forward_decode(std::span<const int32_t> ids, Positions positions) {
  prepare_forward(Mode::decode);
  TTT_CHECK(compiled(Mode::decode), InvalidConfig, "transformer: call compile_decode(DecodeShape) before forward_decode");
  TTT_CHECK(ids.size() == positions.size(), ShapeMismatch, "transformer: {} token ids but {} positions", ids.size(),
            positions.size());
  const Tensor* h = &embedding_->forward_decode(ids);
  for (auto& l : layers_) h = &l->forward_decode(*h, positions);
  const Tensor& normed = norm_->forward_decode(*h);
  return lm_head_->forward_decode(normed);
}

}  // namespace ttt
