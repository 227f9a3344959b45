// The seed's "Override Specific Op" example:
//
//   hw_config = ModuleHardwareConfig(device="ttnn:n150")
//   hw_config.op_configs["qkv_matmul"] = TTNNOpConfig(
//       op_name="qkv_matmul",
//       memory_config=ttnn.MemoryConfig(memory_layout=HEIGHT_SHARDED, buffer_type=L1),
//       dtype="float32")  # Higher precision
//   attention = MultiHeadAttentionComplete(spec, device, hw_config)
//
// Written as is, the override cannot run on an n150, and construction says why before
// any weight is converted: a sharded output needs a shard spec, and the ops after the
// QKV matmul move its output without converting it (create_heads), then read bfloat16
// (rotary). A float32 shard of the fused QKV output would not fit a core's L1 either:
// 32 rows x 12288 columns x 4 bytes is 1.5 MiB per core. The fix keeps what the
// override is for, higher precision in that matmul and its output in L1 shards: HiFi4
// with fp32 accumulation and bfloat16 weights, a bfloat16 output, and a shard spec of
// one tile row per core. The program prints the op's resolved config and where it came
// from, then decodes one step on random weights.
#include <cmath>
#include <cstdio>
#include <exception>
#include <vector>

#include <fmt/format.h>

#include "ttt/error.hpp"
#include "ttt/formats.hpp"
#include "ttt/modules/attention.hpp"

namespace {

using namespace ttt;

// Random Hugging Face-named attention weights ([out, in]) for `spec`.
std::shared_ptr<MapWeightSource> random_attention_weights(const AttentionSpec& spec) {
  auto w = std::make_shared<MapWeightSource>();
  const int64_t h = spec.hidden_dim;
  const float scale = 1.0f / std::sqrt(static_cast<float>(h));
  auto add = [&](const char* name, Shape shape) { w->add(name, shape, random_weight(shape, 1, name, scale)); };
  add("q_proj.weight", Shape{spec.q_size(), h});
  add("k_proj.weight", Shape{spec.kv_size(), h});
  add("v_proj.weight", Shape{spec.kv_size(), h});
  add("o_proj.weight", Shape{h, spec.q_size()});
  return w;
}

// The fix of the seed's override: one tile row (32 rows) of the fused QKV output per
// core, on up to 4 cores (the nominal 128-token prompt); precision from the math (HiFi4,
// fp32 accumulation, bfloat16 weights), not from the output format.
OpConfig higher_precision_qkv(const AttentionSpec& spec) {
  return OpConfig{
      .op_name = "qkv_matmul",
      .memory_config = {TensorMemoryLayout::HEIGHT_SHARDED, BufferType::L1,
                        ShardSpec{CoreGrid{4, 1}, {32, spec.qkv_size()}, ShardOrientation::ROW_MAJOR}},
      .compute_kernel_config = {MathFidelity::HiFi4, false, true, true},
      .dtype = DataType::BFLOAT16,
      .weights_dtype = DataType::BFLOAT16,
  };
}

void print_op(const ResolvedOp& op, Mode mode) {
  fmt::print("{} {}: source {} ({})\n  memory {}\n  dtype {}, weights {}, compute {}\n  estimated {}\n",
             to_string(mode), op.path, to_string(op.source), op.rule, op.config.memory_config.str(),
             to_string(op.config.dtype), field_str(op.config.weights_dtype), field_str(op.config.compute_kernel_config),
             op.cost.str());
}

}  // namespace

int main() {
  try {
    const AttentionSpec spec(4096, 32);
    const auto device = Device::open("ttnn:n150");

    // 1. The seed's override, as written.
    ModuleHardwareConfig hw_config("ttnn:n150");
    hw_config.op_configs["qkv_matmul"] = OpConfig{
        .op_name = "qkv_matmul",
        .memory_config = {TensorMemoryLayout::HEIGHT_SHARDED, BufferType::L1, std::nullopt},
        .dtype = DataType::FLOAT32,  // higher precision
        .weights_dtype = std::nullopt,
    };
    try {
      MultiHeadAttention attention(spec, device, hw_config);
      std::fprintf(stderr, "the float32 HEIGHT_SHARDED override should not validate on ttnn:n150\n");
      return 1;
    } catch (const Error& e) {
      fmt::print("The seed's override, as written, is rejected at construction:\n{}\n\n", e.what());
    }

    // 2. The fix, for the seed's spec (configs only: no weights).
    hw_config.op_configs["qkv_matmul"] = higher_precision_qkv(spec);
    MultiHeadAttention attention(spec, device, hw_config);
    for (Mode mode : enum_values<Mode>()) print_op(attention.op(mode, "qkv_matmul"), mode);

    // 3. One decode step of one user at position 0, on random weights. A smaller spec
    //    (hidden 1024, 16 heads of 64) keeps the weight conversion short; the override
    //    is the same, its shard as wide as this spec's fused QKV output.
    const AttentionSpec small(1024, 16);
    ModuleHardwareConfig small_config("ttnn:n150");
    small_config.op_configs["qkv_matmul"] = higher_precision_qkv(small);
    MultiHeadAttention runnable(small, device, small_config, random_attention_weights(small));
    runnable.compile_decode(DecodeShape{1, 128});
    std::vector<float> x(static_cast<std::size_t>(small.hidden_dim));
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>((i * 37) % 101) / 101.0f - 0.5f;
    const Tensor input = from_float(x, activation_spec("x", Shape{1, 1, small.hidden_dim}, device->spec()));
    const std::vector<int32_t> positions{0};
    const Tensor& out = runnable.forward_decode(input, positions);
    const std::vector<float> y = to_float(out);
    fmt::print("\ndecode step (hidden {}): output {}\n  y[0..3] = {:.4f} {:.4f} {:.4f} {:.4f}\n", small.hidden_dim,
               out.spec().str(), y[0], y[1], y[2], y[3]);
    print_op(runnable.op(Mode::decode, "qkv_matmul"), Mode::decode);
    const ResolvedOp& qkv = runnable.op(Mode::decode, "qkv_matmul");
    return qkv.source == ConfigSource::code && qkv.config.memory_config.shard_spec ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
}
