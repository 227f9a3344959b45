#include "ttt/modules/attention.hpp"

#include <map>
#include <mutex>

#include <fmt/format.h>

#include "ops/ccl/ccl.hpp"
#include "ops/kv_cache/kv_cache.hpp"
#include "ops/matmul/matmul.hpp"
#include "ops/qkv_heads/qkv_heads.hpp"
#include "ops/rotary/rotary.hpp"
#include "ops/sdpa/sdpa.hpp"
#include "ops/sdpa_decode/sdpa_decode.hpp"
#include "chip_join.hpp"
#include "ttt/activation_arena.hpp"
#include "ttt/error.hpp"
#include "ttt/modules/tensor_parallel.hpp"
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

// What compile made for a mode: one plan per chip and the all_reduce that sums the
// chips' partial outputs (split heads only).
struct MultiHeadAttention::Compiled {
  std::vector<std::unique_ptr<Plan>> plans;
  ChipJoin join;
};

MultiHeadAttention::Compiled& MultiHeadAttention::state(Mode mode) {
  auto& c = state_[static_cast<int>(mode)];
  if (!c) c = std::make_unique<Compiled>();
  return *c;
}

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

HeadSplit MultiHeadAttention::split() const {
  const DeviceSpec& d = device().spec();
  HeadSplit hs = split_heads(spec_.num_heads, spec_.kv_heads(), d.mesh.chips());
  const OpShape full{OpKind::matmul, TensorGroup::WQKV, 1, spec_.hidden_dim, spec_.qkv_size()};
  if (requested_ways(child_path("qkv_matmul"), "qkv_matmul", full, ChipSplit::COLUMN, hs.ways, hw_config(), d) == 1) {
    const std::string why_not = hs.why_not;
    hs = split_heads(spec_.num_heads, spec_.kv_heads(), 1);
    hs.why_not = why_not;
  }
  return hs;
}

std::vector<std::pair<std::string, OpShape>> MultiHeadAttention::describe_ops(Mode mode, const ModuleShapes& s) const {
  const bool pre = mode == Mode::prefill;
  const int64_t batch = pre ? s.prefill_batch : s.decode_batch;
  const int64_t seq = pre ? s.prefill_seq : 1;
  const int64_t rows = pre ? prefill_matmul_rows(batch, seq, device().spec()) : batch;
  const HeadSplit hs = split();
  const int w = hs.ways;
  const int64_t h = spec_.hidden_dim, hd = spec_.head_size(), nh = hs.q_heads, nkv = hs.kv_heads;
  OpShape attn{OpKind::sdpa, TensorGroup::KV_CACHE};
  attn.heads = nh, attn.kv_heads = nkv, attn.head_dim = hd, attn.seq = seq, attn.batch = batch;
  attn.kv_seq = pre ? seq : s.cache_len;
  attn = with_split(attn, ChipSplit::COLUMN, w);
  OpShape cache = attn;
  cache.kind = OpKind::kv_cache;
  OpShape heads = attn;
  heads.kind = OpKind::create_heads;
  heads.group = TensorGroup::ACTIVATION;
  OpShape rot = heads;
  rot.kind = OpKind::rotary;
  OpShape concat = heads;
  concat.kind = OpKind::concat_heads;
  std::vector<std::pair<std::string, OpShape>> ops{
      {"qkv_matmul", with_split(OpShape{OpKind::matmul, TensorGroup::WQKV, rows, h, (nh + 2 * nkv) * hd},
                                ChipSplit::COLUMN, w)},
      {"create_heads", heads},
      {"rotary", rot},
      {"kv_cache", cache},
      {"sdpa", attn},
      {"concat_heads", concat},
      {"out_matmul", with_split(OpShape{OpKind::matmul, TensorGroup::WO, rows, nh * hd, h}, ChipSplit::ROW, w)}};
  if (w > 1) ops.push_back({"all_reduce", OpShape{OpKind::all_reduce, TensorGroup::ACTIVATION, rows, 1, h}});
  return ops;
}

MultiHeadAttention::Plan MultiHeadAttention::make_plan(Mode mode, int64_t batch, int64_t seq, int64_t cache_len,
                                                      const HeadSplit& hs, int chip) const {
  const DeviceSpec& d = device().spec();
  const bool pre = mode == Mode::prefill;
  const std::string sfx = chip_suffix(chip, hs.ways);
  auto tname = [&](const char* name) { return child_path(name) + sfx; };
  Plan p;
  p.c_qkv = op(mode, "qkv_matmul").config;
  p.c_heads = op(mode, "create_heads").config;
  p.c_rot = op(mode, "rotary").config;
  p.c_kv = op(mode, "kv_cache").config;
  p.c_sdpa = op(mode, "sdpa").config;
  p.c_concat = op(mode, "concat_heads").config;
  p.c_out = op(mode, "out_matmul").config;
  const int64_t h = spec_.hidden_dim, hd = spec_.head_size(), nh = hs.q_heads, nkv = hs.kv_heads;
  const int64_t qkv = (nh + 2 * nkv) * hd;
  const Shape x_shape = pre ? Shape{batch, seq, h} : Shape{1, batch, h};

  const DataType wdt = p.c_qkv.weights_dtype.value_or(DataType::BFLOAT16);
  std::optional<TensorSpec> bias;
  if (spec_.qkv_bias)
    bias = TensorSpec{shard_name(child_path("qkv_matmul.bias"), chip, hs.ways), Shape{qkv}, DataType::FLOAT32,
                      Layout::ROW_MAJOR, {}};
  p.qkv = ops::MatmulArgs{activation_spec(child_path("input"), x_shape, d),
                          matmul_weight_spec(shard_name(child_path("qkv_matmul.weight"), chip, hs.ways), h, qkv, wdt, d),
                          bias, UnaryActivation::NONE};
  p.o_qkv = named(ops::MatmulOp::output_spec(p.qkv, p.c_qkv), tname("qkv_matmul.out"));

  p.heads = ops::CreateQkvHeadsArgs{p.o_qkv, nh, nkv, hd};
  p.o_heads = pre ? ops::CreateQkvHeadsOp::output_specs(p.heads, p.c_heads)
                  : ops::CreateQkvHeadsDecodeOp::output_specs(p.heads, p.c_heads);
  p.o_heads.q.name = tname("create_heads.q");
  p.o_heads.k.name = tname("create_heads.k");
  p.o_heads.v.name = tname("create_heads.v");

  const int64_t rope_len = std::max(cache_len, seq);
  const auto rmode = pre ? ops::RotaryMode::PREFILL : ops::RotaryMode::DECODE;
  p.rot_q = ops::RotaryArgs{p.o_heads.q, rmode, rope_len};
  p.rot_k = ops::RotaryArgs{p.o_heads.k, rmode, rope_len};
  p.o_rq = named(ops::RotaryOp::output_spec(p.rot_q, p.c_rot), tname("rotary.q"));
  p.o_rk = named(ops::RotaryOp::output_spec(p.rot_k, p.c_rot), tname("rotary.k"));

  // The caches are decode buffers, in the kv_cache op's format, sized at compile_decode;
  // each chip holds the caches of its own KV heads.
  const OpConfig& kv = op(Mode::decode, "kv_cache").config;
  const int64_t users = shapes().decode_batch;
  p.k_cache = TensorSpec{tname("k_cache"), Shape{users, nkv, cache_len, hd}, kv.dtype, kv.layout, kv.memory_config};
  p.v_cache = named(p.k_cache, tname("v_cache"));
  if (pre) {
    p.fill_k = ops::FillCacheArgs{p.k_cache, p.o_rk};
    p.fill_v = ops::FillCacheArgs{p.v_cache, p.o_heads.v};
    p.sdpa = ops::SdpaArgs{p.o_rq, p.o_rk, p.o_heads.v, true, std::nullopt, 0};
    p.o_attn = named(ops::SdpaOp::output_spec(p.sdpa, p.c_sdpa), tname("sdpa.out"));
    p.concat = ops::ConcatHeadsArgs{p.o_attn};
    p.o_concat = named(ops::ConcatHeadsOp::output_spec(p.concat, p.c_concat), tname("concat_heads.out"));
  } else {
    p.upd_k = ops::UpdateCacheArgs{p.k_cache, p.o_rk};
    p.upd_v = ops::UpdateCacheArgs{p.v_cache, p.o_heads.v};
    p.sdpa_dec = ops::SdpaDecodeArgs{p.o_rq, p.k_cache, p.v_cache, std::nullopt, cache_len};
    p.o_attn = named(ops::SdpaDecodeOp::output_spec(p.sdpa_dec, p.c_sdpa), tname("sdpa.out"));
    p.concat = ops::ConcatHeadsArgs{p.o_attn};
    p.o_concat = named(ops::ConcatHeadsDecodeOp::output_spec(p.concat, p.c_concat), tname("concat_heads.out"));
  }
  const DataType odt = p.c_out.weights_dtype.value_or(DataType::BFLOAT16);
  p.out = ops::MatmulArgs{p.o_concat,
                          matmul_weight_spec(shard_name(child_path("out_matmul.weight"), chip, hs.ways), nh * hd, h, odt, d),
                          std::nullopt, UnaryActivation::NONE};
  p.o_out = named(ops::MatmulOp::output_spec(p.out, p.c_out), tname(hs.ways > 1 ? "out_matmul.partial" : "out_matmul.out"));
  return p;
}

ChipJoin MultiHeadAttention::make_join(Mode mode, const Plan& chip0, int ways) const {
  ChipJoin join;
  if (ways > 1)
    join.plan(OpKind::all_reduce, chip0.o_out, child_path("out_matmul.partial"), ways, op(mode, "all_reduce").config,
              child_path("out_matmul.out"));
  return join;
}

void MultiHeadAttention::check_ops(Mode mode, const ModuleShapes& s, std::vector<ResolvedOp>& resolved,
                                   ValidationReport& report) const {
  const DeviceSpec& d = device().spec();
  const bool pre = mode == Mode::prefill;
  const HeadSplit hs = split();
  for (const auto& r : resolved) check_split(r, path(), "qkv_matmul", hs.why_not, report);
  Plan p;
  ChipJoin join;
  try {
    p = make_plan(mode, pre ? s.prefill_batch : s.decode_batch, pre ? s.prefill_seq : 1, s.cache_len, hs, 0);
    join = make_join(mode, p, hs.ways);
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
        r.weight_bytes = a.weight.bytes() + (a.bias ? a.bias->bytes() : 0);
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

void MultiHeadAttention::on_configs_applied() {
  if (!reference_) return;
  const DeviceSpec& d = device().spec();
  for (const char* name : {"qkv_matmul", "out_matmul"}) {
    TTT_CHECK(op(Mode::prefill, name).config.weights_dtype == op(Mode::decode, name).config.weights_dtype,
              InvalidConfig,
              "{}.{}: prefill and decode configs name different weights_dtype; one copy of the weights serves both modes",
              path(), name);
  }
  const HeadSplit hs = split();
  const int w = hs.ways;
  const bool resplit = static_cast<int>(chips_.size()) != w;
  if (resplit) chips_.assign(static_cast<std::size_t>(w), ChipWeights{});
  const int64_t hd = spec_.head_size();
  for (int c = 0; c < w; ++c) {
    ChipWeights& cw = chips_[static_cast<std::size_t>(c)];
    // Chip c's query heads and the KV heads they read: rows of q/k/v_proj ([out, in]).
    std::vector<WeightSlice> qkv_rows;
    if (w > 1)
      qkv_rows = {WeightSlice{0, hs.q_begin(c) * hd, hs.q_heads * hd}, WeightSlice{0, hs.kv_begin(c) * hd, hs.kv_heads * hd},
                  WeightSlice{0, hs.kv_begin(c) * hd, hs.kv_heads * hd}};
    const DataType qdt = op(Mode::decode, "qkv_matmul").config.weights_dtype.value_or(DataType::BFLOAT16);
    if (!cw.wqkv.defined() || cw.wqkv.dtype() != qdt || cw.wqkv.layout() != weight_layout(qdt, d)) {
      WeightRequest req{shard_name(child_path("qkv_matmul.weight"), c, w),
                        {"q_proj.weight", "k_proj.weight", "v_proj.weight"}, true, qdt, weight_layout(qdt, d), qkv_rows};
      req.column_shards = matmul_weight_shards(qdt, (hs.q_heads + 2 * hs.kv_heads) * hd, d);
      cw.wqkv = loader_(*reference_, req, d);
      if (spec_.qkv_bias)
        cw.bqkv = loader_(*reference_,
                          WeightRequest{shard_name(child_path("qkv_matmul.bias"), c, w),
                                        {"q_proj.bias", "k_proj.bias", "v_proj.bias"}, false, DataType::FLOAT32,
                                        Layout::ROW_MAJOR, qkv_rows},
                          d);
    }
    // o_proj's inputs are the concatenated heads: chip c takes its heads' columns.
    std::vector<WeightSlice> o_cols;
    if (w > 1) o_cols = {WeightSlice{1, hs.q_begin(c) * hd, hs.q_heads * hd}};
    const DataType odt = op(Mode::decode, "out_matmul").config.weights_dtype.value_or(DataType::BFLOAT16);
    if (!cw.wo.defined() || cw.wo.dtype() != odt || cw.wo.layout() != weight_layout(odt, d)) {
      WeightRequest req{shard_name(child_path("out_matmul.weight"), c, w), {"o_proj.weight"}, true, odt,
                        weight_layout(odt, d), o_cols};
      req.column_shards = matmul_weight_shards(odt, spec_.hidden_dim, d);
      cw.wo = loader_(*reference_, req, d);
    }
  }
}

bool MultiHeadAttention::has_weights() const {
  if (chips_.empty()) return false;
  for (const auto& c : chips_)
    if (!c.wqkv.defined() || !c.wo.defined()) return false;
  return true;
}

void MultiHeadAttention::reserve_buffers(Mode mode, ActivationArena& arena) {
  const ModuleShapes& s = shapes();
  const bool pre = mode == Mode::prefill;
  const HeadSplit hs = split();
  Compiled& cm = state(mode);
  cm.plans.clear();
  for (int c = 0; c < hs.ways; ++c) {
    auto p = std::make_unique<Plan>(make_plan(mode, pre ? s.prefill_batch : s.decode_batch, pre ? s.prefill_seq : 1,
                                              s.cache_len, hs, c));
    for (const TensorSpec* t : {&p->o_qkv, &p->o_heads.q, &p->o_heads.k, &p->o_heads.v, &p->o_rq, &p->o_rk,
                                &p->o_attn, &p->o_concat, &p->o_out})
      arena.reserve(*t, c);
    cm.plans.push_back(std::move(p));
  }
  cm.join = make_join(mode, *cm.plans.front(), hs.ways);
  cm.join.reserve(arena);
  rope_ = shared_rotary_tables(spec_, std::max(s.cache_len, s.prefill_seq));
}

void MultiHeadAttention::bind_buffers(Mode mode, ActivationArena& arena) {
  Compiled& cm = state(mode);
  for (std::size_t c = 0; c < cm.plans.size(); ++c) {
    Plan& p = *cm.plans[c];
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
      p.t_kc = caches_[c].k;
      p.t_vc = caches_[c].v;
    }
  }
  cm.join.bind(arena);
}

void MultiHeadAttention::reserve_persistent(ActivationArena& arena) {
  const ModuleShapes& s = shapes();
  const HeadSplit hs = split();
  for (int c = 0; c < hs.ways; ++c) {
    const Plan p = make_plan(Mode::decode, s.decode_batch, 1, s.cache_len, hs, c);
    arena.reserve(p.k_cache, c);
    arena.reserve(p.v_cache, c);
  }
}

void MultiHeadAttention::bind_persistent(ActivationArena& arena) {
  const int w = split().ways;
  caches_.assign(static_cast<std::size_t>(w), ChipCache{});
  for (int c = 0; c < w; ++c) {
    caches_[c].k = arena.get(child_path("k_cache") + chip_suffix(c, w));
    caches_[c].v = arena.get(child_path("v_cache") + chip_suffix(c, w));
  }
}

const Tensor& MultiHeadAttention::k_cache(int chip) const {
  TTT_CHECK(chip >= 0 && chip < static_cast<int>(caches_.size()), InvalidConfig,
            "attention '{}': no KV cache for chip {} ({} cache(s); compile_decode makes them)", path(), chip,
            caches_.size());
  return caches_[chip].k;
}

const Tensor& MultiHeadAttention::v_cache(int chip) const {
  TTT_CHECK(chip >= 0 && chip < static_cast<int>(caches_.size()), InvalidConfig,
            "attention '{}': no KV cache for chip {} ({} cache(s); compile_decode makes them)", path(), chip,
            caches_.size());
  return caches_[chip].v;
}

int MultiHeadAttention::chips() const { return static_cast<int>(std::max<std::size_t>(chips_.size(), 1)); }

void MultiHeadAttention::run_prefill_chip(Plan& p, const Tensor& x, const ChipWeights& w, ChipCache* cache,
                                          int64_t first_user, ops::ExecContext& ctx) {
  p.qkv.x.dtype = x.dtype();
  p.qkv.x.layout = x.layout();
  {
    ProfileScope profile(op(Mode::prefill, "qkv_matmul").path);
    ops::MatmulOp::run(p.qkv, x, w.wqkv, spec_.qkv_bias ? &w.bqkv : nullptr, p.t_qkv, p.c_qkv, ctx);
  }
  {
    ProfileScope profile(op(Mode::prefill, "create_heads").path);
    ops::CreateQkvHeadsOp::run(p.heads, p.t_qkv, p.t_q, p.t_k, p.t_v, p.c_heads, ctx);
  }
  {
    ProfileScope profile(op(Mode::prefill, "rotary").path);
    ops::RotaryOp::run_prefill(p.rot_q, *rope_, p.t_q, 0, p.t_rq, p.c_rot, ctx);
    ops::RotaryOp::run_prefill(p.rot_k, *rope_, p.t_k, 0, p.t_rk, p.c_rot, ctx);
  }
  if (cache) {
    ProfileScope profile(op(Mode::prefill, "kv_cache").path);
    ops::FillCacheOp::run(p.fill_k, p.t_rk, first_user, 0, cache->k, p.c_kv, ctx);
    ops::FillCacheOp::run(p.fill_v, p.t_v, first_user, 0, cache->v, p.c_kv, ctx);
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
    ops::MatmulOp::run(p.out, p.t_concat, w.wo, nullptr, p.t_out, p.c_out, ctx);
  }
}

Tensor& MultiHeadAttention::forward_prefill(const Tensor& x, int64_t first_user) {
  prepare_forward(Mode::prefill);
  TTT_CHECK(compiled(Mode::prefill), InvalidConfig, "attention '{}': call compile before forward_prefill", path());
  TTT_CHECK(has_weights(), InvalidConfig, "attention '{}' has no weights: construct it with reference weights", path());
  Compiled& cm = state(Mode::prefill);
  const Plan& first = *cm.plans.front();
  const bool full = x.shape() == first.qkv.x.shape;
  if (!full)
    TTT_CHECK(x.shape().rank() == 3 && x.shape()[0] <= first.qkv.x.shape[0] && x.shape()[1] <= first.qkv.x.shape[1] &&
                  x.shape()[2] == spec_.hidden_dim,
              ShapeMismatch, "attention '{}': input {} does not fit the compiled shape {}", path(), x.shape().str(),
              first.qkv.x.shape.str());
  ops::ExecContext ctx{device(), ThreadPool::global()};
  const HeadSplit hs = full ? HeadSplit{} : split();
  for (std::size_t c = 0; c < cm.plans.size(); ++c) {
    Plan& compiled_plan = *cm.plans[c];
    ChipCache* cache = caches_.empty() ? nullptr : &caches_[c];
    if (full) {
      run_prefill_chip(compiled_plan, x, chips_[c], cache, first_user, ctx);
      continue;
    }
    // A shorter prompt than compiled for runs on views of the same buffers.
    Plan v = make_plan(Mode::prefill, x.shape()[0], x.shape()[1], shapes().cache_len, hs, static_cast<int>(c));
    v.t_qkv = compiled_plan.t_qkv.view(v.o_qkv.shape);
    v.t_q = compiled_plan.t_q.view(v.o_heads.q.shape);
    v.t_k = compiled_plan.t_k.view(v.o_heads.k.shape);
    v.t_v = compiled_plan.t_v.view(v.o_heads.v.shape);
    v.t_rq = compiled_plan.t_rq.view(v.o_rq.shape);
    v.t_rk = compiled_plan.t_rk.view(v.o_rk.shape);
    v.t_attn = compiled_plan.t_attn.view(v.o_attn.shape);
    v.t_concat = compiled_plan.t_concat.view(v.o_concat.shape);
    v.t_out = compiled_plan.t_out.view(v.o_out.shape);
    run_prefill_chip(v, x, chips_[c], cache, first_user, ctx);
    compiled_plan.t_out_view = v.t_out;
  }
  return reduce(Mode::prefill, full, ctx);
}

Tensor& MultiHeadAttention::reduce(Mode mode, bool full, ops::ExecContext& ctx) {
  Compiled& cm = state(mode);
  Plan& first = *cm.plans.front();
  if (!cm.join.active()) return full ? first.t_out : first.t_out_view;
  ProfileScope profile(op(mode, "all_reduce").path);
  if (full) return cm.join.run(ctx);
  std::vector<Tensor> parts;  // a shorter prompt: views of the partials
  for (const auto& p : cm.plans) parts.push_back(p->t_out_view);
  return cm.join.run_views(parts, ctx);
}

Tensor& MultiHeadAttention::forward_decode(const Tensor& x, Positions positions) {
  prepare_forward(Mode::decode);
  TTT_CHECK(compiled(Mode::decode), InvalidConfig, "attention '{}': call compile_decode before forward_decode", path());
  TTT_CHECK(has_weights(), InvalidConfig, "attention '{}' has no weights: construct it with reference weights", path());
  ops::ExecContext ctx{device(), ThreadPool::global()};
  Compiled& cm = state(Mode::decode);
  for (std::size_t c = 0; c < cm.plans.size(); ++c) {
    Plan& p = *cm.plans[c];
    const ChipWeights& w = chips_[c];
    {
      ProfileScope profile(op(Mode::decode, "qkv_matmul").path);
      ops::MatmulOp::run(p.qkv, x, w.wqkv, spec_.qkv_bias ? &w.bqkv : nullptr, p.t_qkv, p.c_qkv, ctx);
    }
    {
      ProfileScope profile(op(Mode::decode, "create_heads").path);
      ops::CreateQkvHeadsDecodeOp::run(p.heads, p.t_qkv, p.t_q, p.t_k, p.t_v, p.c_heads, ctx);
    }
    {
      ProfileScope profile(op(Mode::decode, "rotary").path);
      ops::RotaryOp::run_decode(p.rot_q, *rope_, p.t_q, positions, p.t_rq, p.c_rot, ctx);
      ops::RotaryOp::run_decode(p.rot_k, *rope_, p.t_k, positions, p.t_rk, p.c_rot, ctx);
    }
    {
      ProfileScope profile(op(Mode::decode, "kv_cache").path);
      ops::UpdateCacheOp::run(p.upd_k, p.t_rk, positions, p.t_kc, p.c_kv, ctx);
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
      ops::MatmulOp::run(p.out, p.t_concat, w.wo, nullptr, p.t_out, p.c_out, ctx);
    }
  }
  return reduce(Mode::decode, true, ctx);
}

}  // namespace ttt
