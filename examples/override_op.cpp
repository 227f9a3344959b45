#include <cstdio>
#include <exception>
#include <fmt/format.h>
#include "ttt/modules/attention.hpp"
int main() {
  using namespace ttt;
  AttentionSpec spec(4096, 32);
  auto device = Device::open("ttnn:n150");
  ModuleHardwareConfig hw_config("ttnn:n150");
  hw_config.op_configs["qkv_matmul"] = OpConfig{.op_name = "qkv_matmul",
      .memory_config = {TensorMemoryLayout::HEIGHT_SHARDED, BufferType::L1, std::nullopt},
      .dtype = DataType::FLOAT32};
  try {
    MultiHeadAttention attention(spec, device, hw_config);
  } catch (const std::exception& e) { fmt::print("{}\n", e.what()); }
  hw_config.op_configs["qkv_matmul"].memory_config.shard_spec = ShardSpec{CoreGrid{1,1}, {32, 12288}};
  try {
    MultiHeadAttention attention(spec, device, hw_config);
    attention.compile_decode(DecodeShape{1, 128});
    fmt::print("decode compiled\n");
  } catch (const std::exception& e) { fmt::print("{}\n", e.what()); }
  hw_config.op_configs.clear();
  hw_config.op_configs["decode.qkv_matmul"] = OpConfig{.op_name = "qkv_matmul",
      .memory_config = {TensorMemoryLayout::HEIGHT_SHARDED, BufferType::L1, ShardSpec{CoreGrid{1,1}, {32, 12288}}},
      .dtype = DataType::FLOAT32};
  try {
    MultiHeadAttention attention(spec, device, hw_config);
    attention.compile_decode(DecodeShape{1, 128});
    fmt::print("decode compiled\n");
  } catch (const std::exception& e) { fmt::print("{}\n", e.what()); }
  return 0;
}
