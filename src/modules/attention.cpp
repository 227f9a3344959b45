#include "ttt/modules/attention.hpp"

#include <map>
#include <mutex>

#include <fmt/format.h>

#include "ops/kv_cache/kv_cache.hpp"
#include "ops/matmul/matmul.hpp"
#include "ops/qkv_heads/qkv_heads.hpp"
#include "ops/rotary/rotary.hpp"
#include "ops/sdpa/sdpa.hpp"
#include "ops/sdpa_decode/sdpa_decode.hpp"
#include "ttt/activation_arena.hpp"
#include "ttt/error.hpp"
#include "ttt/profiler.hpp"
#include "ttt/thread_pool.hpp"

namespace ttt {

struct MultiHeadAttention::Plan {
  OpConfig c_qkv, c_heads, c_rot, c_kv, c_sdpa, c_concat, c_out;
  ops::MatmulArgs qkv;
  TensorSpec o_qkv;
  ops::CreateQkvHeadsArgs heads;
  ops::QkvSpecs o_heads;
  ops::RotaryArgs rot_q, rot_k;
  TensorSpec o_rq, o_rk;
  TensorSpec k_cache, v_cache;
  ops::FillCacheArgs fill_k, fill_v;
  ops::UpdateCacheArgs upd_k, upd_v;
  ops::SdpaArgs sdpa;
  ops::SdpaDecodeArgs sdpa_dec;
  TensorSpec o_attn;
  ops::ConcatHeadsArgs concat;
  TensorSpec o_concat;
  ops::MatmulArgs out;
  TensorSpec o_out;
  bool fills_cache = false;
  Tensor t_qkv, t_q, t_k, t_v, t_rq, t_rk, t_attn, t_concat, t_out, t_kc, t_vc;
  Tensor t_out_view;  // the output seen at a shorter prompt length
};

namespace {

ops::RopeParams rope_params(const AttentionSpec& s) {
  ops::RopeParams p;
  p.theta = s.rope_theta;
  if (s.rope_scaling.type == RopeScalingType::llama3) {
    p.llama3 = ops::Llama3RopeScaling{s.rope_scaling.factor, s.rope_scaling.low_freq_factor,
                                      s.rope_scaling.high_freq_factor, s.rope_scaling.original_max_position_embeddings};
  }
  return p;
}

TensorSpec named(TensorSpec s, std::string name) {
  s.name = std::move(name);
  return s;
}

}  // namespace

std::shared_ptr<const ops::RotaryTables> shared_rotary_tables(const AttentionSpec& spec, int64_t length) {
  TTT_CHECK(spec.rope_scaling.type != RopeScalingType::linear, Unsupported,
            "AttentionSpec.rope_scaling: linear scaling is not implemented; supported: none, llama3");
  static std::mutex mutex;
  static std::map<std::string, std::weak_ptr<const ops::RotaryTables>> cache;
  const std::string key = fmt::format("{}:{}:{}:{}:{}:{}:{}:{}", spec.head_size(), length, spec.rope_theta,
                                      to_string(spec.rope_scaling.type), spec.rope_scaling.factor,
                                      spec.rope_scaling.low_freq_factor, spec.rope_scaling.high_freq_factor,
                                      spec.rope_scaling.original_max_position_embeddings);
  std::lock_guard<std::mutex> lock(mutex);
  if (auto hit = cache[key].lock()) return hit;
  auto tables = std::make_shared<const ops::RotaryTables>(
      ops::RotaryTables::build(spec.head_size(), length, rope_params(spec)));
  cache[key] = tables;
  return tables;
}

MultiHeadAttention::MultiHeadAttention(AttentionSpec spec, std::shared_ptr<Device> device, ModuleHardwareConfig hw,
                                       std::shared_ptr<const WeightSource> reference, std::string path,
                                       WeightLoader loader)
    : Module(std::move(path), std::move(device), std::move(hw)),
      spec_(spec),
      reference_(std::move(reference)),
      loader_(loader ? std::move(loader) : WeightLoader(convert_weight)) {
  spec_.validate();
  apply_hardware_configs(hw_config().shapes);
}

MultiHeadAttention::MultiHeadAttention(AttentionSpec spec, std::string_view device, ModuleHardwareConfig hw,
                                       std::shared_ptr<const WeightSource> reference)
    : MultiHeadAttention(spec, Device::open(device), std::move(hw), std::move(reference)) {}

MultiHeadAttention::~MultiHeadAttention() = default;

std::vector<std::pair<std::string, OpShape>> MultiHeadAttention::describe_ops(Mode mode, const ModuleShapes& s) const {
  const bool pre = mode == Mode::prefill;
  const int64_t batch = pre ? s.prefill_batch : s.decode_batch;
  const int64_t seq = pre ? s.prefill_seq : 1;
  const int64_t rows = pre ? prefill_matmul_rows(batch, seq, device().spec()) : batch;
  const int64_t h = spec_.hidden_dim, hd = spec_.head_size(), nh = spec_.num_heads, nkv = spec_.kv_heads();
  OpShape attn{OpKind::sdpa, TensorGroup::KV_CACHE};
  attn.heads = nh, attn.kv_heads = nkv, attn.head_dim = hd, attn.seq = seq, attn.batch = batch;
  attn.kv_seq = pre ? seq : s.cache_len;
  OpShape cache = attn;
  cache.kind = OpKind::kv_cache;
  OpShape heads = attn;
  heads.kind = OpKind::create_heads;
  heads.group = TensorGroup::ACTIVATION;
  OpShape rot = heads;
  rot.kind = OpKind::rotary;
  OpShape concat = heads;
  concat.kind = OpKind::concat_heads;
  return {{"qkv_matmul", OpShape{OpKind::matmul, TensorGroup::WQKV, rows, h, spec_.qkv_size()}},
          {"create_heads", heads},
          {"rotary", rot},
          {"kv_cache", cache},
          {"sdpa", attn},
          {"concat_heads", concat},
          {"out_matmul", OpShape{OpKind::matmul, TensorGroup::WO, rows, spec_.q_size(), h}}};
}

MultiHeadAttention::Plan MultiHeadAttention::make_plan(Mode mode, int64_t batch, int64_t seq, int64_t cache_len) const {
  const DeviceSpec& d = device().spec();
  const bool pre = mode == Mode::prefill;
  Plan p;
  p.c_qkv = op(mode, "qkv_matmul").config;
  p.c_heads = op(mode, "create_heads").config;
  p.c_rot = op(mode, "rotary").config;
  p.c_kv = op(mode, "kv_cache").config;
  p.c_sdpa = op(mode, "sdpa").config;
  p.c_concat = op(mode, "concat_heads").config;
  p.c_out = op(mode, "out_matmul").config;
  const int64_t h = spec_.hidden_dim, hd = spec_.head_size(), nh = spec_.num_heads, nkv = spec_.kv_heads();
  const Shape x_shape = pre ? Shape{batch, seq, h} : Shape{1, batch, h};

  const DataType wdt = p.c_qkv.weights_dtype.value_or(DataType::BFLOAT16);
  std::optional<TensorSpec> bias;
  if (spec_.qkv_bias)
    bias = TensorSpec{child_path("qkv_matmul.bias"), Shape{spec_.qkv_size()}, DataType::FLOAT32, Layout::ROW_MAJOR, {}};
  p.qkv = ops::MatmulArgs{activation_spec(child_path("input"), x_shape, d),
                          TensorSpec{child_path("qkv_matmul.weight"), Shape{h, spec_.qkv_size()}, wdt,
                                     weight_layout(wdt, d), kDramInterleaved},
                          bias, UnaryActivation::NONE};
  p.o_qkv = named(ops::MatmulOp::output_spec(p.qkv, p.c_qkv), child_path("qkv_matmul.out"));

  p.heads = ops::CreateQkvHeadsArgs{p.o_qkv, nh, nkv, hd};
  p.o_heads = pre ? ops::CreateQkvHeadsOp::output_specs(p.heads, p.c_heads)
                  : ops::CreateQkvHeadsDecodeOp::output_specs(p.heads, p.c_heads);
  p.o_heads.q.name = child_path("create_heads.q");
  p.o_heads.k.name = child_path("create_heads.k");
  p.o_heads.v.name = child_path("create_heads.v");

  const int64_t rope_len = std::max(cache_len, seq);
  const auto rmode = pre ? ops::RotaryMode::PREFILL : ops::RotaryMode::DECODE;
  p.rot_q = ops::RotaryArgs{p.o_heads.q, rmode, rope_len};
  p.rot_k = ops::RotaryArgs{p.o_heads.k, rmode, rope_len};
  p.o_rq = named(ops::RotaryOp::output_spec(p.rot_q, p.c_rot), child_path("rotary.q"));
  p.o_rk = named(ops::RotaryOp::output_spec(p.rot_k, p.c_rot), child_path("rotary.k"));

  // The caches are decode buffers, in the kv_cache op's format, sized at compile_decode.
  const OpConfig& kv = op(Mode::decode, "kv_cache").config;
  const int64_t users = shapes().decode_batch;
  p.k_cache = TensorSpec{child_path("k_cache"), Shape{users, nkv, cache_len, hd}, kv.dtype, kv.layout, kv.memory_config};
  p.v_cache = named(p.k_cache, child_path("v_cache"));
  if (pre) {
    p.fill_k = ops::FillCacheArgs{p.k_cache, p.o_rk};
    p.fill_v = ops::FillCacheArgs{p.v_cache, p.o_heads.v};
    p.sdpa = ops::SdpaArgs{p.o_rq, p.o_rk, p.o_heads.v, true, std::nullopt, 0};
    p.o_attn = named(ops::SdpaOp::output_spec(p.sdpa, p.c_sdpa), child_path("sdpa.out"));
    p.concat = ops::ConcatHeadsArgs{p.o_attn};
    p.o_concat = named(ops::ConcatHeadsOp::output_spec(p.concat, p.c_concat), child_path("concat_heads.out"));
  } else {
    p.upd_k = ops::UpdateCacheArgs{p.k_cache, p.o_rk};
    p.upd_v = ops::UpdateCacheArgs{p.v_cache, p.o_heads.v};
    p.sdpa_dec = ops::SdpaDecodeArgs{p.o_rq, p.k_cache, p.v_cache, std::nullopt, cache_len};
    p.o_attn = named(ops::SdpaDecodeOp::output_spec(p.sdpa_dec, p.c_sdpa), child_path("sdpa.out"));
    p.concat = ops::ConcatHeadsArgs{p.o_attn};
    p.o_concat = named(ops::ConcatHeadsDecodeOp::output_spec(p.concat, p.c_concat), child_path("concat_heads.out"));
  }
  const DataType odt = p.c_out.weights_dtype.value_or(DataType::BFLOAT16);
  p.out = ops::MatmulArgs{p.o_concat,
                          TensorSpec{child_path("out_matmul.weight"), Shape{spec_.q_size(), h}, odt,
                                     weight_layout(odt, d), kDramInterleaved},
                          std::nullopt, UnaryActivation::NONE};
  p.o_out = named(ops::MatmulOp::output_spec(p.out, p.c_out), child_path("out_matmul.out"));
  return p;
}

void MultiHeadAttention::check_ops(Mode mode, const ModuleShapes& s, std::vector<ResolvedOp>& resolved,
                                   ValidationReport& report) const {
  const DeviceSpec& d = device().spec();
  const bool pre = mode == Mode::prefill;
  Plan p;
  try {
    p = make_plan(mode, pre ? s.prefill_batch : s.decode_batch, pre ? s.prefill_seq : 1, s.cache_len);
  } catch (const Error& e) {
    report.add(path(), "attention", e.detail());
    return;
  }
  for (auto& r : resolved) {
    try {
      if (r.name == "qkv_matmul" || r.name == "out_matmul") {
        const ops::MatmulArgs& a = r.name == "qkv_matmul" ? p.qkv : p.out;
        ops::MatmulOp::validate(a, r.config, d);
        r.cost = ops::MatmulOp::cost(a, r.config, d);
        r.weight_bytes = a.weight.bytes();
        r.output_bytes = ops::MatmulOp::output_spec(a, r.config).bytes();
      } else if (r.name == "create_heads") {
        if (pre) {
          ops::CreateQkvHeadsOp::validate(p.heads, r.config, d);
          r.cost = ops::CreateQkvHeadsOp::cost(p.heads, r.config, d);
        } else {
          ops::CreateQkvHeadsDecodeOp::validate(p.heads, r.config, d);
          r.cost = ops::CreateQkvHeadsDecodeOp::cost(p.heads, r.config, d);
        }
        r.output_bytes = p.o_heads.q.bytes() + p.o_heads.k.bytes() + p.o_heads.v.bytes();
      } else if (r.name == "rotary") {
        ops::RotaryOp::validate(p.rot_q, r.config, d);
        ops::RotaryOp::validate(p.rot_k, r.config, d);
        r.cost = ops::RotaryOp::cost(p.rot_q, r.config, d);
        r.cost += ops::RotaryOp::cost(p.rot_k, r.config, d);
        r.output_bytes = p.o_rq.bytes() + p.o_rk.bytes();
      } else if (r.name == "kv_cache") {
        if (pre) {
          if (s.prefill_batch <= s.decode_batch) {
            ops::FillCacheOp::validate(p.fill_k, r.config, d);
            r.cost = ops::FillCacheOp::cost(p.fill_k, r.config, d);
            r.cost += ops::FillCacheOp::cost(p.fill_v, r.config, d);
          }
        } else {
          ops::UpdateCacheOp::validate(p.upd_k, r.config, d);
          r.cost = ops::UpdateCacheOp::cost(p.upd_k, r.config, d);
          r.cost += ops::UpdateCacheOp::cost(p.upd_v, r.config, d);
          r.output_bytes = p.k_cache.bytes() + p.v_cache.bytes();
        }
      } else if (r.name == "sdpa") {
        if (pre) {
          ops::SdpaOp::validate(p.sdpa, r.config, d);
          r.cost = ops::SdpaOp::cost(p.sdpa, r.config, d);
        } else {
          ops::SdpaDecodeOp::validate(p.sdpa_dec, r.config, d);
          r.cost = ops::SdpaDecodeOp::cost(p.sdpa_dec, r.config, d);
        }
        r.output_bytes = p.o_attn.bytes();
      } else if (r.name == "concat_heads") {
        if (pre) {
          ops::ConcatHeadsOp::validate(p.concat, r.config, d);
          r.cost = ops::ConcatHeadsOp::cost(p.concat, r.config, d);
        } else {
          ops::ConcatHeadsDecodeOp::validate(p.concat, r.config, d);
          r.cost = ops::ConcatHeadsDecodeOp::cost(p.concat, r.config, d);
        }
        r.output_bytes = p.o_concat.bytes();
      }
    } catch (const Error& e) {
      report.add(path(), r.name, e.detail());
    }
  }
}

void MultiHeadAttention::on_configs_applied() {
  if (!reference_) return;
  const DeviceSpec& d = device().spec();
  for (const char* name : {"qkv_matmul", "out_matmul"}) {
    TTT_CHECK(op(Mode::prefill, name).config.weights_dtype == op(Mode::decode, name).config.weights_dtype,
              InvalidConfig,
              "{}.{}: prefill and decode configs name different weights_dtype; one copy of the weights serves both modes",
              path(), name);
  }
  const DataType qdt = op(Mode::decode, "qkv_matmul").config.weights_dtype.value_or(DataType::BFLOAT16);
  if (!wqkv_.defined() || wqkv_.dtype() != qdt || wqkv_.layout() != weight_layout(qdt, d)) {
    wqkv_ = loader_(*reference_,
                    WeightRequest{child_path("qkv_matmul.weight"), {"q_proj.weight", "k_proj.weight", "v_proj.weight"},
                                  true, qdt, weight_layout(qdt, d)},
                    d);
    if (spec_.qkv_bias)
      bqkv_ = loader_(*reference_,
                      WeightRequest{child_path("qkv_matmul.bias"), {"q_proj.bias", "k_proj.bias", "v_proj.bias"}, false,
                                    DataType::FLOAT32, Layout::ROW_MAJOR},
                      d);
  }
  const DataType odt = op(Mode::decode, "out_matmul").config.weights_dtype.value_or(DataType::BFLOAT16);
  if (!wo_.defined() || wo_.dtype() != odt || wo_.layout() != weight_layout(odt, d))
    wo_ = loader_(*reference_, WeightRequest{child_path("out_matmul.weight"), {"o_proj.weight"}, true, odt,
                                             weight_layout(odt, d)},
                  d);
}

bool MultiHeadAttention::has_weights() const { return wqkv_.defined() && wo_.defined(); }

void MultiHeadAttention::reserve_buffers(Mode mode, ActivationArena& arena) {
  const ModuleShapes& s = shapes();
  const bool pre = mode == Mode::prefill;
  auto p = std::make_unique<Plan>(make_plan(mode, pre ? s.prefill_batch : s.decode_batch, pre ? s.prefill_seq : 1,
                                            s.cache_len));
  for (const TensorSpec* t : {&p->o_qkv, &p->o_heads.q, &p->o_heads.k, &p->o_heads.v, &p->o_rq, &p->o_rk, &p->o_attn,
                              &p->o_concat, &p->o_out})
    arena.reserve(*t);
  rope_ = shared_rotary_tables(spec_, std::max(s.cache_len, s.prefill_seq));
  plans_[static_cast<int>(mode)] = std::move(p);
}

void MultiHeadAttention::bind_buffers(Mode mode, ActivationArena& arena) {
  Plan& p = *plans_[static_cast<int>(mode)];
  p.t_qkv = arena.get(p.o_qkv.name);
  p.t_q = arena.get(p.o_heads.q.name);
  p.t_k = arena.get(p.o_heads.k.name);
  p.t_v = arena.get(p.o_heads.v.name);
  p.t_rq = arena.get(p.o_rq.name);
  p.t_rk = arena.get(p.o_rk.name);
  p.t_attn = arena.get(p.o_attn.name);
  p.t_concat = arena.get(p.o_concat.name);
  p.t_out = arena.get(p.o_out.name);
  if (mode == Mode::decode) {
    p.t_kc = k_cache_;
    p.t_vc = v_cache_;
  }
}

void MultiHeadAttention::reserve_persistent(ActivationArena& arena) {
  const ModuleShapes& s = shapes();
  const Plan p = make_plan(Mode::decode, s.decode_batch, 1, s.cache_len);
  arena.reserve(p.k_cache);
  arena.reserve(p.v_cache);
}

void MultiHeadAttention::bind_persistent(ActivationArena& arena) {
  k_cache_ = arena.get(child_path("k_cache"));
  v_cache_ = arena.get(child_path("v_cache"));
}

const Tensor& MultiHeadAttention::k_cache() const {
  TTT_CHECK(k_cache_.defined(), InvalidConfig, "attention '{}': no KV cache before compile_decode", path());
  return k_cache_;
}

const Tensor& MultiHeadAttention::v_cache() const {
  TTT_CHECK(v_cache_.defined(), InvalidConfig, "attention '{}': no KV cache before compile_decode", path());
  return v_cache_;
}

Tensor& MultiHeadAttention::forward_prefill(const Tensor& x, int64_t first_user) {
  prepare_forward(Mode::prefill);
  TTT_CHECK(compiled(Mode::prefill), InvalidConfig, "attention '{}': call compile before forward_prefill", path());
  TTT_CHECK(has_weights(), InvalidConfig, "attention '{}' has no weights: construct it with reference weights", path());
  Plan& compiled_plan = *plans_[0];
  // A shorter prompt than compiled for runs on views of the same buffers.
  std::unique_ptr<Plan> shorter;
  Plan* pp = &compiled_plan;
  if (!(x.shape() == compiled_plan.qkv.x.shape)) {
    TTT_CHECK(x.shape().rank() == 3 && x.shape()[0] <= compiled_plan.qkv.x.shape[0] &&
                  x.shape()[1] <= compiled_plan.qkv.x.shape[1] && x.shape()[2] == spec_.hidden_dim,
              ShapeMismatch, "attention '{}': input {} does not fit the compiled shape {}", path(), x.shape().str(),
              compiled_plan.qkv.x.shape.str());
    shorter = std::make_unique<Plan>(make_plan(Mode::prefill, x.shape()[0], x.shape()[1], shapes().cache_len));
    Plan& v = *shorter;
    v.t_qkv = compiled_plan.t_qkv.view(v.o_qkv.shape);
    v.t_q = compiled_plan.t_q.view(v.o_heads.q.shape);
    v.t_k = compiled_plan.t_k.view(v.o_heads.k.shape);
    v.t_v = compiled_plan.t_v.view(v.o_heads.v.shape);
    v.t_rq = compiled_plan.t_rq.view(v.o_rq.shape);
    v.t_rk = compiled_plan.t_rk.view(v.o_rk.shape);
    v.t_attn = compiled_plan.t_attn.view(v.o_attn.shape);
    v.t_concat = compiled_plan.t_concat.view(v.o_concat.shape);
    v.t_out = compiled_plan.t_out.view(v.o_out.shape);
    pp = shorter.get();
  }
  Plan& p = *pp;
  p.qkv.x.dtype = x.dtype();
  p.qkv.x.layout = x.layout();
  ops::ExecContext ctx{device(), ThreadPool::global()};
  {
    ProfileScope profile(op(Mode::prefill, "qkv_matmul").path);
    ops::MatmulOp::run(p.qkv, x, wqkv_, spec_.qkv_bias ? &bqkv_ : nullptr, p.t_qkv, p.c_qkv, ctx);
  }
  {
    ProfileScope profile(op(Mode::prefill, "create_heads").path);
    ops::CreateQkvHeadsOp::run(p.heads, p.t_qkv, p.t_q, p.t_k, p.t_v, p.c_heads, ctx);
  }
  {
    ProfileScope profile(op(Mode::prefill, "rotary").path);
    ops::RotaryOp::run_prefill(p.rot_q, *rope_, p.t_q, 0, p.t_rq, p.c_rot, ctx);
  }
  {
    ProfileScope profile(op(Mode::prefill, "rotary").path);
    ops::RotaryOp::run_prefill(p.rot_k, *rope_, p.t_k, 0, p.t_rk, p.c_rot, ctx);
  }
  if (k_cache_.defined()) {
    {
      ProfileScope profile(op(Mode::prefill, "kv_cache").path);
      ops::FillCacheOp::run(p.fill_k, p.t_rk, first_user, 0, k_cache_, p.c_kv, ctx);
    }
    {
      ProfileScope profile(op(Mode::prefill, "kv_cache").path);
      ops::FillCacheOp::run(p.fill_v, p.t_v, first_user, 0, v_cache_, p.c_kv, ctx);
    }
  }
  {
    ProfileScope profile(op(Mode::prefill, "sdpa").path);
    ops::SdpaOp::run(p.sdpa, p.t_rq, p.t_rk, p.t_v, p.t_attn, p.c_sdpa, ctx);
  }
  {
    ProfileScope profile(op(Mode::prefill, "concat_heads").path);
    ops::ConcatHeadsOp::run(p.concat, p.t_attn, p.t_concat, p.c_concat, ctx);
  }
  {
    ProfileScope profile(op(Mode::prefill, "out_matmul").path);
    ops::MatmulOp::run(p.out, p.t_concat, wo_, nullptr, p.t_out, p.c_out, ctx);
  }
  if (shorter) compiled_plan.t_out_view = p.t_out;
  return shorter ? compiled_plan.t_out_view : compiled_plan.t_out;
}

Tensor& MultiHeadAttention::forward_decode(const Tensor& x, Positions positions) {
  prepare_forward(Mode::decode);
  TTT_CHECK(compiled(Mode::decode), InvalidConfig, "attention '{}': call compile_decode before forward_decode", path());
  TTT_CHECK(has_weights(), InvalidConfig, "attention '{}' has no weights: construct it with reference weights", path());
  Plan& p = *plans_[1];
  ops::ExecContext ctx{device(), ThreadPool::global()};
  {
    ProfileScope profile(op(Mode::decode, "qkv_matmul").path);
    ops::MatmulOp::run(p.qkv, x, wqkv_, spec_.qkv_bias ? &bqkv_ : nullptr, p.t_qkv, p.c_qkv, ctx);
  }
  {
    ProfileScope profile(op(Mode::decode, "create_heads").path);
    ops::CreateQkvHeadsDecodeOp::run(p.heads, p.t_qkv, p.t_q, p.t_k, p.t_v, p.c_heads, ctx);
  }
  {
    ProfileScope profile(op(Mode::decode, "rotary").path);
    ops::RotaryOp::run_decode(p.rot_q, *rope_, p.t_q, positions, p.t_rq, p.c_rot, ctx);
  }
  {
    ProfileScope profile(op(Mode::decode, "rotary").path);
    ops::RotaryOp::run_decode(p.rot_k, *rope_, p.t_k, positions, p.t_rk, p.c_rot, ctx);
  }
  {
    ProfileScope profile(op(Mode::decode, "kv_cache").path);
    ops::UpdateCacheOp::run(p.upd_k, p.t_rk, positions, p.t_kc, p.c_kv, ctx);
  }
  {
    ProfileScope profile(op(Mode::decode, "kv_cache").path);
    ops::UpdateCacheOp::run(p.upd_v, p.t_v, positions, p.t_vc, p.c_kv, ctx);
  }
  {
    ProfileScope profile(op(Mode::decode, "sdpa").path);
    ops::SdpaDecodeOp::run(p.sdpa_dec, p.t_rq, p.t_kc, p.t_vc, positions, p.t_attn, p.c_sdpa, ctx);
  }
  {
    ProfileScope profile(op(Mode::decode, "concat_heads").path);
    ops::ConcatHeadsDecodeOp::run(p.concat, p.t_attn, p.t_concat, p.c_concat, ctx);
  }
  {
    ProfileScope profile(op(Mode::decode, "out_matmul").path);
    ops::MatmulOp::run(p.out, p.t_concat, wo_, nullptr, p.t_out, p.c_out, ctx);
  }
  return p.t_out;
}

}  // namespace ttt
