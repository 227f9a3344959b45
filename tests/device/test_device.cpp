#include <gtest/gtest.h>

#include "ttt/cpu_features.hpp"
#include "ttt/device.hpp"

namespace ttt {
namespace {

TEST(Device, OpensEveryKnownDevice) {
  const auto names = Device::known_names();
  ASSERT_EQ(names.size(), 6u);
  for (const auto& n : names) {
    auto d = Device::open(n);
    EXPECT_EQ(d->name(), n);
    EXPECT_GT(d->spec().l1_per_core, 0);
    EXPECT_GT(d->spec().dram_per_chip, 0);
    EXPECT_GT(d->spec().grid.count(), 0);
    EXPECT_GT(d->spec().clock_ghz, 0.0);
  }
}

TEST(Device, UnknownNameListsKnownOnes) {
  try {
    Device::open("ttnn:n151");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::InvalidConfig);
    const std::string msg = e.what();
    EXPECT_NE(msg.find("ttnn:n151"), std::string::npos) << msg;
    for (const auto& n : Device::known_names()) EXPECT_NE(msg.find(n), std::string::npos) << msg;
  }
}

TEST(Device, TenstorrentSpecsMatchPublishedFigures) {
  const DeviceSpec n150 = Device::spec_for("ttnn:n150");
  EXPECT_EQ(n150.arch, Arch::WORMHOLE_B0);
  EXPECT_EQ(n150.mesh.chips(), 1);
  EXPECT_EQ(n150.grid, (CoreGrid{8, 8}));
  EXPECT_EQ(n150.l1_per_core, 1464 * 1024);
  EXPECT_EQ(n150.dram_per_chip, 12LL << 30);
  EXPECT_EQ(n150.dram_banks, 12);
  EXPECT_DOUBLE_EQ(n150.dram_gbps, 288.0);

  const DeviceSpec n300 = Device::spec_for("ttnn:n300");
  EXPECT_EQ(n300.mesh.chips(), 2);
  // Each chip keeps its own L1 and DRAM: two chips do not mean more per chip.
  EXPECT_EQ(n300.l1_per_core, n150.l1_per_core);
  EXPECT_EQ(n300.dram_per_chip, n150.dram_per_chip);

  const DeviceSpec t3k = Device::spec_for("ttnn:t3k");
  EXPECT_EQ(t3k.mesh.chips(), 8);
  EXPECT_EQ(t3k.mesh.cols, 8);

  // Galaxy: 32 Wormhole chips in an 8x4 mesh, 4 Ethernet links between neighbours; each
  // chip keeps a Wormhole chip's DRAM, banks and bandwidth.
  const DeviceSpec galaxy = Device::spec_for("ttnn:galaxy");
  EXPECT_EQ(galaxy.arch, Arch::WORMHOLE_B0);
  EXPECT_EQ(galaxy.mesh, (MeshShape{8, 4}));
  EXPECT_EQ(galaxy.mesh.chips(), 32);
  EXPECT_EQ(galaxy.eth_links_per_chip, 4);
  EXPECT_EQ(galaxy.dram_per_chip, n150.dram_per_chip);
  EXPECT_EQ(galaxy.dram_banks, n150.dram_banks);
  EXPECT_EQ(galaxy.l1_per_core, n150.l1_per_core);
  EXPECT_DOUBLE_EQ(galaxy.dram_gbps, n150.dram_gbps);

  const DeviceSpec p150 = Device::spec_for("ttnn:p150");
  EXPECT_EQ(p150.arch, Arch::BLACKHOLE);
  EXPECT_EQ(p150.grid, (CoreGrid{11, 10}));
  EXPECT_EQ(p150.dram_banks, 8);
  EXPECT_DOUBLE_EQ(p150.dram_gbps, 512.0);
  EXPECT_EQ(p150.dram_alignment, 64);
}

TEST(Device, PeakThroughputFollowsFidelityPhases) {
  const DeviceSpec n150 = Device::spec_for("ttnn:n150");
  const double lofi = n150.peak_flops(DataType::BFLOAT16, MathFidelity::LoFi);
  // 64 cores x 4096 FLOP/cycle x 1 GHz.
  EXPECT_DOUBLE_EQ(lofi, 64.0 * 4096.0 * 1e9);
  EXPECT_DOUBLE_EQ(n150.peak_flops(DataType::BFLOAT8_B, MathFidelity::HiFi2), lofi / 2);
  EXPECT_DOUBLE_EQ(n150.peak_flops(DataType::BFLOAT8_B, MathFidelity::HiFi3), lofi / 3);
  EXPECT_DOUBLE_EQ(n150.peak_flops(DataType::BFLOAT16, MathFidelity::HiFi4), lofi / 4);
  const DeviceSpec t3k = Device::spec_for("ttnn:t3k");
  EXPECT_DOUBLE_EQ(t3k.peak_flops(DataType::BFLOAT16, MathFidelity::LoFi), 8 * lofi);
}

TEST(Device, CpuSpecIsReadFromTheHost) {
  const DeviceSpec cpu = host_cpu_spec();
  EXPECT_EQ(cpu.arch, Arch::CPU);
  EXPECT_GE(cpu.grid.count(), 1);
  EXPECT_GT(cpu.l2_bytes, 0);
  EXPECT_GT(cpu.dram_per_chip, 1LL << 28);
  EXPECT_EQ(cpu.isa, std::string(to_string(cpu_features().best)));
  EXPECT_GT(cpu.peak_flops(DataType::FLOAT32, MathFidelity::HiFi4), 1e9);
}

TEST(CpuFeatures, IsaLimitClampsDispatch) {
  const IsaLevel best = cpu_features().best;
  EXPECT_EQ(set_isa_limit(IsaLevel::SCALAR), IsaLevel::SCALAR);
  EXPECT_EQ(active_isa(), IsaLevel::SCALAR);
  EXPECT_EQ(set_isa_limit(IsaLevel::AVX512_BF16), best);
  EXPECT_EQ(active_isa(), best);
}

TEST(Enums, ParseIgnoresCaseAndListsChoices) {
  EXPECT_EQ(parse_enum<MathFidelity>("hifi2"), MathFidelity::HiFi2);
  EXPECT_EQ(parse_enum<DataType>("bfloat8_b"), DataType::BFLOAT8_B);
  // Data types also take the short names tables print, and bfp8 / bfp4.
  EXPECT_EQ(parse_enum<DataType>("bf16"), DataType::BFLOAT16);
  EXPECT_EQ(parse_enum<DataType>("BFP4_B"), DataType::BFLOAT4_B);
  EXPECT_EQ(parse_enum<DataType>("bfp8"), DataType::BFLOAT8_B);
  EXPECT_EQ(parse_enum<DataType>("fp32"), DataType::FLOAT32);
  DataType d{};
  EXPECT_FALSE(try_parse_enum("bf8", d));
  EXPECT_EQ(to_string(BufferType::L1), "L1");
  try {
    parse_enum<Layout>("TILED");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::InvalidConfig);
    EXPECT_NE(std::string(e.what()).find("ROW_MAJOR, TILE"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace ttt
