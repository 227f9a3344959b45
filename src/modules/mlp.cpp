#include "ttt/modules/mlp.hpp"

#include <fmt/format.h>

#include "ops/eltwise/eltwise.hpp"
#include "ops/matmul/matmul.hpp"
#include "chip_join.hpp"
#include "ttt/activation_arena.hpp"
#include "ttt/error.hpp"
#include "ttt/modules/tensor_parallel.hpp"
#include "ttt/profiler.hpp"
#include "ttt/thread_pool.hpp"

namespace ttt {

struct MLP::Plan {
  ops::MatmulArgs ff1, ff3, ff2;
  ops::BinaryArgs mul;
  OpConfig c1, c3, cm, c2;
  TensorSpec o1, o3, om, o2;
  Tensor t1, t3, tm, t2;
  Tensor t2_view;  // the output seen at a shorter prompt length
};

// What compile made for a mode: one plan per chip and the all_reduce of the chips'
// partial ff2 outputs (split columns only).
struct MLP::Compiled {
  std::vector<std::unique_ptr<Plan>> plans;
  ChipJoin join;
};

namespace {

UnaryActivation unary_of(MlpActivation a) {
  switch (a) {
    case MlpActivation::silu: return UnaryActivation::SILU;
    case MlpActivation::gelu: return UnaryActivation::GELU;
    case MlpActivation::relu: return UnaryActivation::RELU;
  }
  return UnaryActivation::NONE;
}

Shape rows_shape(Mode mode, int64_t batch, int64_t seq, int64_t width) {
  return mode == Mode::prefill ? Shape{batch, seq, width} : Shape{1, batch, width};
}

TensorSpec weight_spec(const std::string& name, int64_t k, int64_t n, const OpConfig& c, const DeviceSpec& d) {
  return matmul_weight_spec(name, k, n, c.weights_dtype.value_or(DataType::BFLOAT16), d);
}

}  // namespace

MLP::MLP(MLPSpec spec, std::shared_ptr<Device> device, ModuleHardwareConfig hw,
         std::shared_ptr<const WeightSource> reference, std::string path, WeightLoader loader)
    : Module(std::move(path), std::move(device), std::move(hw)),
      spec_(spec),
      reference_(std::move(reference)),
      loader_(loader ? std::move(loader) : WeightLoader(convert_weight)) {
  spec_.validate();
  TTT_CHECK(spec_.gated, Unsupported, "MLP '{}': only gated (SwiGLU) MLPs are implemented; got gated = false", this->path());
  TTT_CHECK(!spec_.bias, Unsupported, "MLP '{}': MLP biases are not implemented", this->path());
  apply_hardware_configs(hw_config().shapes);
}

MLP::~MLP() = default;

int MLP::ways() const {
  const DeviceSpec& d = device().spec();
  const OpShape full{OpKind::matmul, TensorGroup::FF1_FF3, 1, spec_.hidden_dim, spec_.intermediate_dim};
  return requested_ways(child_path("ff1_matmul"), "ff1_matmul", full, ChipSplit::COLUMN, d.mesh.chips(), hw_config(), d);
}

std::vector<std::pair<std::string, OpShape>> MLP::describe_ops(Mode mode, const ModuleShapes& s) const {
  const int64_t rows =
      mode == Mode::prefill ? prefill_matmul_rows(s.prefill_batch, s.prefill_seq, device().spec()) : s.decode_batch;
  const int w = ways();
  const int64_t h = spec_.hidden_dim, f = share_of(spec_.intermediate_dim, w);
  OpShape up = with_split(OpShape{OpKind::matmul, TensorGroup::FF1_FF3, rows, h, f}, ChipSplit::COLUMN, w);
  OpShape down = with_split(OpShape{OpKind::matmul, TensorGroup::FF2, rows, f, h}, ChipSplit::ROW, w);
  OpShape mul = with_split(OpShape{OpKind::eltwise, TensorGroup::ACTIVATION, rows, 1, f}, ChipSplit::COLUMN, w);
  std::vector<std::pair<std::string, OpShape>> ops{
      {"ff1_matmul", up}, {"ff3_matmul", up}, {"swiglu_mul", mul}, {"ff2_matmul", down}};
  if (w > 1) ops.push_back({"all_reduce", OpShape{OpKind::all_reduce, TensorGroup::ACTIVATION, rows, 1, h}});
  return ops;
}

MLP::Plan MLP::make_plan(Mode mode, int64_t batch, int64_t seq, int chip, int ways) const {
  const DeviceSpec& d = device().spec();
  const std::string sfx = chip_suffix(chip, ways);
  Plan p;
  p.c1 = op(mode, "ff1_matmul").config;
  p.c3 = op(mode, "ff3_matmul").config;
  p.cm = op(mode, "swiglu_mul").config;
  p.c2 = op(mode, "ff2_matmul").config;
  const int64_t h = spec_.hidden_dim, f = share_of(spec_.intermediate_dim, ways);
  const TensorSpec x = activation_spec(child_path("input"), rows_shape(mode, batch, seq, h), d);
  p.ff1 = ops::MatmulArgs{x, weight_spec(shard_name(child_path("ff1_matmul.weight"), chip, ways), h, f, p.c1, d),
                          std::nullopt, UnaryActivation::NONE};
  p.ff3 = ops::MatmulArgs{x, weight_spec(shard_name(child_path("ff3_matmul.weight"), chip, ways), h, f, p.c3, d),
                          std::nullopt, UnaryActivation::NONE};
  p.o1 = ops::MatmulOp::output_spec(p.ff1, p.c1);
  p.o1.name = child_path("ff1_matmul.out") + sfx;
  p.o3 = ops::MatmulOp::output_spec(p.ff3, p.c3);
  p.o3.name = child_path("ff3_matmul.out") + sfx;
  p.mul = ops::BinaryArgs{p.o1, p.o3, ops::BinaryOpType::MUL, unary_of(spec_.activation)};
  p.om = ops::BinaryOp::output_spec(p.mul, p.cm);
  p.om.name = child_path("swiglu_mul.out") + sfx;
  p.ff2 = ops::MatmulArgs{p.om, weight_spec(shard_name(child_path("ff2_matmul.weight"), chip, ways), f, h, p.c2, d),
                          std::nullopt, UnaryActivation::NONE};
  p.o2 = ops::MatmulOp::output_spec(p.ff2, p.c2);
  p.o2.name = child_path(ways > 1 ? "ff2_matmul.partial" : "ff2_matmul.out") + sfx;
  return p;
}

ChipJoin MLP::make_join(Mode mode, const Plan& chip0, int ways) const {
  ChipJoin join;
  if (ways > 1)
    join.plan(OpKind::all_reduce, chip0.o2, child_path("ff2_matmul.partial"), ways, op(mode, "all_reduce").config,
              child_path("ff2_matmul.out"));
  return join;
}

void MLP::check_ops(Mode mode, const ModuleShapes& s, std::vector<ResolvedOp>& resolved, ValidationReport& report) const {
  const DeviceSpec& d = device().spec();
  const int w = ways();
  for (const auto& r : resolved) check_split(r, path(), "ff1_matmul", "", report);
  Plan p;
  ChipJoin join;
  // make_plan reads ops(mode), which is `resolved` itself at this point.
  try {
    p = make_plan(mode, mode == Mode::prefill ? s.prefill_batch : s.decode_batch, mode == Mode::prefill ? s.prefill_seq : 1,
                  0, w);
    join = make_join(mode, p, w);
  } catch (const Error& e) {
    report.add(path(), "mlp", e.detail());
    return;
  }
  for (auto& r : resolved) {
    try {
      if (r.name == "ff1_matmul" || r.name == "ff3_matmul" || r.name == "ff2_matmul") {
        const ops::MatmulArgs& a = r.name == "ff1_matmul" ? p.ff1 : r.name == "ff3_matmul" ? p.ff3 : p.ff2;
        ops::MatmulOp::validate(a, r.config, d);
        r.cost = ops::MatmulOp::cost(a, r.config, d);
        r.weight_bytes = a.weight.bytes();
        r.output_bytes = ops::MatmulOp::output_spec(a, r.config).bytes();
      } else if (r.name == "swiglu_mul") {
        ops::BinaryOp::validate(p.mul, r.config, d);
        r.cost = ops::BinaryOp::cost(p.mul, r.config, d);
        r.output_bytes = p.om.bytes();
      } else if (r.name == "all_reduce") {
        join.validate(d);
        r.cost = join.cost(d);
        r.output_bytes = join.output().bytes();
      }
    } catch (const Error& e) {
      report.add(path(), r.name, e.detail());
    }
  }
}

void MLP::on_configs_applied() {
  if (!reference_) return;
  const DeviceSpec& d = device().spec();
  // Prefill and decode share one copy of each weight: their configs must agree on it.
  for (const char* name : {"ff1_matmul", "ff3_matmul", "ff2_matmul"}) {
    TTT_CHECK(op(Mode::prefill, name).config.weights_dtype == op(Mode::decode, name).config.weights_dtype,
              InvalidConfig, "{}.{}: prefill and decode configs name different weights_dtype ({} vs {}); one copy of the weights serves both modes",
              path(), name, to_string(op(Mode::prefill, name).config.weights_dtype.value_or(DataType::BFLOAT16)),
              to_string(op(Mode::decode, name).config.weights_dtype.value_or(DataType::BFLOAT16)));
  }
  const int w = ways();
  if (static_cast<int>(chips_.size()) != w) chips_.assign(static_cast<std::size_t>(w), ChipWeights{});
  const int64_t f = share_of(spec_.intermediate_dim, w);
  for (int c = 0; c < w; ++c) {
    ChipWeights& cw = chips_[static_cast<std::size_t>(c)];
    // Chip c's intermediate columns: rows of gate/up_proj and columns of down_proj
    // ([out, in]); a share past the end reads zeros (an uneven split padded).
    auto load = [&](Tensor& dst, const char* op_name, const char* source, int axis, int64_t n) {
      const OpConfig& cfg = op(Mode::decode, op_name).config;
      const DataType dt = cfg.weights_dtype.value_or(DataType::BFLOAT16);
      const Layout layout = weight_layout(dt, d);
      if (dst.defined() && dst.dtype() == dt && dst.layout() == layout) return;  // unchanged
      WeightRequest req{shard_name(child_path(std::string(op_name) + ".weight"), c, w), {source}, true, dt, layout, {}};
      if (w > 1) req.slices = {WeightSlice{axis, c * f, f}};
      req.column_shards = matmul_weight_shards(dt, n, d);
      dst = loader_(*reference_, req, d);
    };
    load(cw.w1, "ff1_matmul", "gate_proj.weight", 0, f);
    load(cw.w3, "ff3_matmul", "up_proj.weight", 0, f);
    load(cw.w2, "ff2_matmul", "down_proj.weight", 1, spec_.hidden_dim);
  }
}

MLP::Compiled& MLP::state(Mode mode) {
  auto& c = state_[static_cast<int>(mode)];
  if (!c) c = std::make_unique<Compiled>();
  return *c;
}

void MLP::reserve_buffers(Mode mode, ActivationArena& arena) {
  const ModuleShapes& s = shapes();
  const int w = ways();
  Compiled& cm = state(mode);
  cm.plans.clear();
  for (int c = 0; c < w; ++c) {
    auto p = std::make_unique<Plan>(make_plan(mode, mode == Mode::prefill ? s.prefill_batch : s.decode_batch,
                                              mode == Mode::prefill ? s.prefill_seq : 1, c, w));
    for (const TensorSpec* t : {&p->o1, &p->o3, &p->om, &p->o2}) arena.reserve(*t, c);
    cm.plans.push_back(std::move(p));
  }
  cm.join = make_join(mode, *cm.plans.front(), w);
  cm.join.reserve(arena);
}

void MLP::bind_buffers(Mode mode, ActivationArena& arena) {
  Compiled& cm = state(mode);
  for (auto& pp : cm.plans) {
    Plan& p = *pp;
    p.t1 = arena.get(p.o1.name);
    p.t3 = arena.get(p.o3.name);
    p.tm = arena.get(p.om.name);
    p.t2 = arena.get(p.o2.name);
  }
  cm.join.bind(arena);
}

Tensor& MLP::run_chip(Mode mode, Plan& p, const Tensor& x, const ChipWeights& w, ops::ExecContext& ctx) {
  if (x.shape() == p.ff1.x.shape && x.dtype() == p.ff1.x.dtype && x.layout() == p.ff1.x.layout) {
    {
      ProfileScope profile(op(mode, "ff1_matmul").path);
      ops::MatmulOp::run(p.ff1, x, w.w1, nullptr, p.t1, p.c1, ctx);
    }
    {
      ProfileScope profile(op(mode, "ff3_matmul").path);
      ops::MatmulOp::run(p.ff3, x, w.w3, nullptr, p.t3, p.c3, ctx);
    }
    {
      ProfileScope profile(op(mode, "swiglu_mul").path);
      ops::BinaryOp::run(p.mul, p.t1, p.t3, p.tm, p.cm, ctx);
    }
    {
      ProfileScope profile(op(mode, "ff2_matmul").path);
      ops::MatmulOp::run(p.ff2, p.tm, w.w2, nullptr, p.t2, p.c2, ctx);
    }
    return p.t2;
  }
  // A shorter prompt than compiled for: views of the same buffers (prefill only).
  TTT_CHECK(mode == Mode::prefill && x.shape().rank() == 3 && x.shape()[0] <= p.ff1.x.shape[0] &&
                x.shape()[1] <= p.ff1.x.shape[1] && x.shape()[2] == spec_.hidden_dim,
            ShapeMismatch, "MLP '{}': input {} does not fit the compiled shape {}", path(), x.shape().str(),
            p.ff1.x.shape.str());
  const int ways = static_cast<int>(chips_.size());
  const int chip = static_cast<int>(&w - chips_.data());
  Plan v = make_plan(mode, x.shape()[0], x.shape()[1], chip, ways);
  v.ff1.x.dtype = v.ff3.x.dtype = x.dtype();
  v.ff1.x.layout = v.ff3.x.layout = x.layout();
  Tensor t1 = p.t1.view(v.o1.shape), t3 = p.t3.view(v.o3.shape), tm = p.tm.view(v.om.shape);
  {
    ProfileScope profile(op(mode, "ff1_matmul").path);
    ops::MatmulOp::run(v.ff1, x, w.w1, nullptr, t1, v.c1, ctx);
  }
  {
    ProfileScope profile(op(mode, "ff3_matmul").path);
    ops::MatmulOp::run(v.ff3, x, w.w3, nullptr, t3, v.c3, ctx);
  }
  {
    ProfileScope profile(op(mode, "swiglu_mul").path);
    ops::BinaryOp::run(v.mul, t1, t3, tm, v.cm, ctx);
  }
  p.t2_view = p.t2.view(v.o2.shape);
  {
    ProfileScope profile(op(mode, "ff2_matmul").path);
    ops::MatmulOp::run(v.ff2, tm, w.w2, nullptr, p.t2_view, v.c2, ctx);
  }
  return p.t2_view;
}

Tensor& MLP::forward(Mode mode, const Tensor& x) {
  TTT_CHECK(compiled(mode), InvalidConfig, "MLP '{}': call {} before forward_{}", path(),
            mode == Mode::prefill ? "compile" : "compile_decode", to_string(mode));
  TTT_CHECK(!chips_.empty() && chips_.front().w1.defined(), InvalidConfig,
            "MLP '{}' has no weights: construct it with reference weights", path());
  Compiled& cm = state(mode);
  ops::ExecContext ctx{device(), ThreadPool::global()};
  Tensor* out = nullptr;
  for (std::size_t c = 0; c < cm.plans.size(); ++c) {
    Tensor& o = run_chip(mode, *cm.plans[c], x, chips_[c], ctx);
    if (c == 0) out = &o;
  }
  if (!cm.join.active()) return *out;
  ProfileScope profile(op(mode, "all_reduce").path);
  if (out == &cm.plans.front()->t2) return cm.join.run(ctx);
  std::vector<Tensor> parts;  // a shorter prompt: views of the partials
  for (const auto& p : cm.plans) parts.push_back(p->t2_view);
  return cm.join.run_views(parts, ctx);
}

Tensor& MLP::forward_prefill(const Tensor& x) {
  prepare_forward(Mode::prefill);
  return forward(Mode::prefill, x);
}
Tensor& MLP::forward_decode(const Tensor& x) {
  prepare_forward(Mode::decode);
  return forward(Mode::decode, x);
}

}  // namespace ttt
