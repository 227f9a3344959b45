#include <cstdio>
#include <exception>
#include <fmt/format.h>
#include "ttt/modules/attention.hpp"
using namespace ttt;
void tryit(const char* what, ModuleHardwareConfig hw) {
  fmt::print("--- {}\n", what);
  try {
    MultiHeadAttention attention(AttentionSpec(4096, 32), Device::open("ttnn:n150"), hw);
    attention.compile_decode(DecodeShape{1, 128});
    fmt::print("decode compiled\n");
    attention.compile(PrefillShape{1, 128});
    fmt::print("prefill compiled\n");
  } catch (const std::exception& e) { fmt::print("{}\n", e.what()); }
}
OpConfig qkv(TensorMemoryLayout l, std::optional<ShardSpec> s, DataType dt = DataType::FLOAT32) {
  return OpConfig{.op_name = "qkv_matmul", .memory_config = {l, BufferType::L1, s}, .dtype = dt, .weights_dtype = std::nullopt};
}
int main() {
  ModuleHardwareConfig hw("ttnn:n150");
  tryit("defaults", hw);
  hw.op_configs["qkv_matmul"] = qkv(TensorMemoryLayout::HEIGHT_SHARDED, std::nullopt);
  tryit("no shard", hw);
  hw.op_configs["qkv_matmul"] = qkv(TensorMemoryLayout::HEIGHT_SHARDED, ShardSpec{CoreGrid{4,1}, {32, 12288}});
  tryit("hs 4 cores fp32", hw);
  hw.op_configs["qkv_matmul"] = qkv(TensorMemoryLayout::HEIGHT_SHARDED, ShardSpec{CoreGrid{4,1}, {32, 12288}}, DataType::BFLOAT16);
  tryit("hs 4 cores bf16", hw);
  hw.op_configs["create_heads"] = OpConfig{.op_name = "create_heads", .dtype = DataType::FLOAT32, .weights_dtype = std::nullopt};
  hw.op_configs["qkv_matmul"] = qkv(TensorMemoryLayout::HEIGHT_SHARDED, ShardSpec{CoreGrid{4,1}, {32, 12288}});
  tryit("hs fp32 + heads fp32", hw);
  hw.op_configs.erase("qkv_matmul");
  hw.op_configs["decode.qkv_matmul"] = qkv(TensorMemoryLayout::WIDTH_SHARDED, ShardSpec{CoreGrid{8,8}, {32, 192}});
  hw.op_configs["prefill.qkv_matmul"] = qkv(TensorMemoryLayout::WIDTH_SHARDED, ShardSpec{CoreGrid{8,8}, {128, 192}});
  tryit("ws fp32 + heads fp32", hw);
  return 0;
}
