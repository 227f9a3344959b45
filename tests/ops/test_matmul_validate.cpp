// Validation of the matmul op: shapes, dtypes, host and ttnn program configs, each error
// with the message that names what to change.
#include <gtest/gtest.h>

#include <string>

#include "op_test_util.hpp"
#include "ops/matmul/matmul.hpp"

namespace ttt::test {
namespace {

using ops::MatmulArgs;
using ops::MatmulOp;

struct ValidationCase {
  MatmulArgs args;
  OpConfig cfg;
  const char* device = "ttnn:n150";
};

ValidationCase base_case() {
  ValidationCase v;
  v.args.x = TensorSpec{"x", Shape{1, 1, 32, 2048}, DataType::BFLOAT16, Layout::TILE, {}};
  v.args.weight = TensorSpec{"w", Shape{2048, 4096}, DataType::BFLOAT8_B, Layout::TILE, {}};
  v.cfg.op_name = "ff1";
  return v;
}

void expect_error(const ValidationCase& v, ErrorKind kind, const std::string& needle) {
  try {
    MatmulOp::validate(v.args, v.cfg, Device::spec_for(v.device));
    ADD_FAILURE() << "expected an error containing: " << needle;
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), kind) << e.what();
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(MatmulValidate, BaseCasesPass) {
  ValidationCase v = base_case();
  EXPECT_NO_THROW(MatmulOp::validate(v.args, v.cfg, Device::spec_for(v.device)));
  v.device = "cpu";
  v.cfg.kernel_config = CpuKernelConfig{2, 0, 64, 128};
  EXPECT_NO_THROW(MatmulOp::validate(v.args, v.cfg, Device::spec_for(v.device)));
}

TEST(MatmulValidate, ShapesAndDtypes) {
  ValidationCase v = base_case();
  v.args.weight.shape = Shape{2000, 4096};
  expect_error(v, ErrorKind::ShapeMismatch, "has K = 2048 but weight [2000, 4096] has 2000 rows");
  v = base_case();
  v.args.weight.shape = Shape{2, 2, 2048, 4096};
  expect_error(v, ErrorKind::Unsupported, "batched weights are not supported");
  v = base_case();
  v.args.weight.shape = Shape{2, 2048, 2048};
  expect_error(v, ErrorKind::Unsupported, "is in column shards, a host layout; on ttnn:n150 give the weight as [K, N]");
  v.device = "cpu";
  EXPECT_NO_THROW(MatmulOp::validate(v.args, v.cfg, Device::spec_for(v.device)));
  EXPECT_EQ(MatmulOp::output_spec(v.args, v.cfg).shape, (Shape{1, 1, 32, 4096}));
  v.args.weight.shape = Shape{4, 2048, 1000};
  expect_error(v, ErrorKind::Unsupported, "4000 columns in 4 shards of 1000 (TILE); column shards need TILE layout");
  v.args.weight = TensorSpec{"w", Shape{2, 2048, 2048}, DataType::BFLOAT16, Layout::ROW_MAJOR, {}};
  expect_error(v, ErrorKind::Unsupported, "shards of 2048 (ROW_MAJOR); column shards need TILE layout");
  v = base_case();
  v.args.bias = TensorSpec{"b", Shape{4000}, DataType::BFLOAT16, Layout::ROW_MAJOR, {}};
  expect_error(v, ErrorKind::ShapeMismatch, "bias has shape [4000]; expected [4096]");
  v = base_case();
  v.args.x.dtype = DataType::INT32;
  expect_error(v, ErrorKind::InvalidConfig, "x dtype INT32 is not supported");
  v = base_case();
  v.device = "cpu";
  v.cfg.dtype = DataType::BFLOAT8_B;
  v.cfg.layout = Layout::ROW_MAJOR;
  expect_error(v, ErrorKind::InvalidConfig, "output dtype BFLOAT8_B needs TILE layout");
  v = base_case();
  v.args.activation = UnaryActivation::SILU;
  Matmul2DConfig c;
  c.per_core_M = 1;
  c.per_core_N = 16;
  c.fused_activation = UnaryActivation::GELU;
  v.cfg.kernel_config = c;
  expect_error(v, ErrorKind::InvalidConfig, "activation SILU disagrees with kernel_config.fused_activation GELU");
}

TEST(MatmulValidate, Ranks) {
  ValidationCase v = base_case();
  v.args.x.shape = Shape{};
  expect_error(v, ErrorKind::ShapeMismatch, "x has rank 0; expected [..., M, K]");
  v = base_case();
  v.args.weight.shape = Shape{2048};
  expect_error(v, ErrorKind::ShapeMismatch, "weight has shape [2048]; expected [K, N]");
  v = base_case();
  v.args.x.shape = Shape{0, 2048};
  expect_error(v, ErrorKind::ShapeMismatch, "empty operand");
}

TEST(MatmulValidate, HostConfigs) {
  ValidationCase v = base_case();
  v.device = "cpu";
  v.cfg.kernel_config = Matmul2DConfig{};
  expect_error(v, ErrorKind::InvalidConfig, "kernel_config matmul_2d is a ttnn program config; on cpu use none or cpu");
  v.cfg.kernel_config = CpuKernelConfig{0, 0, 48, 0};
  expect_error(v, ErrorKind::InvalidConfig, "kernel_config.block_n 48 is not a multiple of 32");
  v.cfg.kernel_config = CpuKernelConfig{0, 0, 0, 40};
  expect_error(v, ErrorKind::InvalidConfig, "kernel_config.block_k 40 is not a multiple of 32");
  v.cfg.kernel_config = CpuKernelConfig{-1, 0, 0, 0};
  expect_error(v, ErrorKind::InvalidConfig, "kernel_config.threads -1 / block_m 0 must be >= 0");
}

TEST(MatmulValidate, TtnnLayoutsAndConfigKinds) {
  ValidationCase v = base_case();
  v.args.x.layout = Layout::ROW_MAJOR;
  expect_error(v, ErrorKind::InvalidConfig, "x is ROW_MAJOR on ttnn:n150; ttnn matmul reads TILE layout");
  v = base_case();
  v.args.weight.dtype = DataType::BFLOAT16;
  v.args.weight.layout = Layout::ROW_MAJOR;
  expect_error(v, ErrorKind::InvalidConfig, "weight is ROW_MAJOR on ttnn:n150");
  v = base_case();
  v.cfg.layout = Layout::ROW_MAJOR;
  expect_error(v, ErrorKind::InvalidConfig, "config.layout ROW_MAJOR on ttnn:n150; ttnn matmul writes TILE layout");
  v = base_case();
  v.cfg.kernel_config = CpuKernelConfig{};
  expect_error(v, ErrorKind::InvalidConfig, "kernel_config cpu is not a matmul program config");
}

TEST(MatmulValidate, ProgramConfigChecks) {
  // K tiles 64, N tiles 128, M tiles 1.
  auto with = [](auto c) {
    ValidationCase v = base_case();
    v.cfg.kernel_config = c;
    return v;
  };
  Matmul2DConfig ok;
  ok.per_core_M = 1;
  ok.per_core_N = 16;
  ok.in0_block_w = 2;
  EXPECT_NO_THROW(MatmulOp::validate(with(ok).args, with(ok).cfg, Device::spec_for("ttnn:n150")));

  Matmul2DConfig c = ok;
  c.grid = {9, 8};
  expect_error(with(c), ErrorKind::InvalidConfig, "kernel_config.grid 9x8 does not fit the compute grid 8x8");
  c = ok;
  c.in0_block_w = 3;
  expect_error(with(c), ErrorKind::InvalidConfig,
               "in0_block_w 3 does not divide K tiles 64 (kernel_config.in0_block_w); use 1, 2, 4, 8, 16, 32 or 64");
  c = ok;
  c.in0_block_w = 0;
  expect_error(with(c), ErrorKind::InvalidConfig, "kernel_config.in0_block_w is 0; it must be at least 1");
  c = ok;
  c.out_subblock_h = 1;
  c.out_subblock_w = 16;
  expect_error(with(c), ErrorKind::InvalidConfig, "out_subblock_h * out_subblock_w = 1 * 16 = 16 exceeds 8 tiles");
  c = ok;
  c.out_subblock_w = 8;
  c.out_block_w = 8;
  ValidationCase fp32 = with(c);
  fp32.cfg.compute_kernel_config.fp32_dest_acc_en = true;
  expect_error(fp32, ErrorKind::InvalidConfig, "= 8 exceeds 4 tiles of the destination register with fp32_dest_acc_en");
  c = ok;
  c.per_core_M = 3;
  c.out_subblock_h = 2;
  expect_error(with(c), ErrorKind::InvalidConfig, "per_core_M 3 is not a multiple of out_subblock_h 2");
  c = ok;
  c.out_subblock_w = 3;
  expect_error(with(c), ErrorKind::InvalidConfig, "per_core_N 16 is not a multiple of out_subblock_w 3");
  c = ok;
  c.out_block_w = 3;
  expect_error(with(c), ErrorKind::InvalidConfig, "out_block_w 3 must divide per_core_N 16");
  c = ok;
  c.out_block_h = 2;
  expect_error(with(c), ErrorKind::InvalidConfig, "out_block_h 2 must divide per_core_M 1");
  c = ok;
  c.per_core_N = 8;
  expect_error(with(c), ErrorKind::InvalidConfig,
               "per_core_N 8 needs 16 core columns for 128 N tiles, more than the 8 of kernel_config.grid 8x8; use "
               "per_core_N >= 16");
  ValidationCase tall = with(ok);
  tall.args.x.shape = Shape{1, 1, 32 * 9, 2048};
  expect_error(tall, ErrorKind::InvalidConfig, "per_core_M 1 needs 9 core rows for 9 M tiles, more than the 8");
  ValidationCase sharded = with(ok);
  sharded.cfg.memory_config = MemoryConfig{TensorMemoryLayout::HEIGHT_SHARDED, BufferType::L1,
                                           ShardSpec{{1, 1}, {32, 4096}, ShardOrientation::ROW_MAJOR}};
  expect_error(sharded, ErrorKind::InvalidConfig, "a 2-D multicast matmul writes a BLOCK_SHARDED or interleaved output");

  Matmul1DConfig one;
  one.per_core_M = 1;
  one.per_core_N = 1;
  expect_error(with(one), ErrorKind::InvalidConfig, "cut 1 x 128 output tiles into 128 blocks, more than the 64 cores");
  MatmulReuseConfig reuse;
  reuse.per_core_M = 1;
  reuse.per_core_N = 1;
  expect_error(with(reuse), ErrorKind::InvalidConfig, "into 128 blocks, more than the 64 cores of kernel_config.grid 8x8");
}

TEST(MatmulValidate, DramShardedConfig) {
  ValidationCase v = base_case();
  MatmulDramShardedConfig c;
  c.in0_block_w = 2;
  c.per_core_M = 1;
  c.per_core_N = 16;
  v.cfg.kernel_config = c;
  expect_error(v, ErrorKind::InvalidConfig, "the DRAM-sharded matmul reads x WIDTH_SHARDED in L1");
  v.args.x.memory_config = MemoryConfig{TensorMemoryLayout::WIDTH_SHARDED, BufferType::L1,
                                        ShardSpec{{8, 1}, {32, 256}, ShardOrientation::ROW_MAJOR}};
  expect_error(v, ErrorKind::InvalidConfig, "reads the weight WIDTH_SHARDED over the DRAM banks");
  v.args.weight.memory_config = MemoryConfig{TensorMemoryLayout::WIDTH_SHARDED, BufferType::DRAM,
                                             ShardSpec{{12, 1}, {2048, 352}, ShardOrientation::ROW_MAJOR}};
  EXPECT_NO_THROW(MatmulOp::validate(v.args, v.cfg, Device::spec_for(v.device)));
  ValidationCase tall = v;
  tall.args.x.shape = Shape{1, 1, 64, 2048};
  tall.args.x.memory_config.shard_spec->shape = {64, 256};
  expect_error(tall, ErrorKind::InvalidConfig, "takes one tile of rows (M <= 32, per_core_M 1); found 2 M tiles");
  c.per_core_N = 8;
  v.cfg.kernel_config = c;
  expect_error(v, ErrorKind::InvalidConfig, "per_core_N 8 on the 8 cores of x's shard grid covers 64 of the 128 N tiles");
}

}  // namespace
}  // namespace ttt::test
