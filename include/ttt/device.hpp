// Devices: the host CPU and emulated Tenstorrent targets. A device is a spec (what the
// hardware has) plus an allocator (where tensors go). Ops run against this interface.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ttt/allocator.hpp"
#include "ttt/dtype.hpp"
#include "ttt/enum.hpp"
#include "ttt/memory_config.hpp"

namespace ttt {

TTT_ENUM(Arch, CPU, WORMHOLE_B0, BLACKHOLE)
// Matrix-engine fidelity: how many 5x7-bit multiplier phases a product uses (1..4).
TTT_ENUM(MathFidelity, LoFi, HiFi2, HiFi3, HiFi4)

constexpr int fidelity_phases(MathFidelity f) { return static_cast<int>(f) + 1; }

struct MeshShape {
  int rows = 1;
  int cols = 1;
  int chips() const { return rows * cols; }
  bool operator==(const MeshShape&) const = default;
};

struct DeviceSpec {
  std::string name;  // "cpu", "ttnn:n150", ...
  Arch arch = Arch::CPU;
  std::string description;
  MeshShape mesh;                 // chips and how they are arranged
  CoreGrid grid;                  // compute cores per chip
  int64_t l1_per_core = 0;        // bytes of L1 (cpu: a core's private L2)
  int64_t dram_per_chip = 0;      // bytes
  int dram_banks = 1;             // per chip (cpu: 1)
  double dram_gbps = 0;           // peak DRAM bandwidth per chip, GB/s
  double dram_gbps_measured = 0;  // what a streaming read achieves (0 = unknown)
  double clock_ghz = 0;
  int64_t dram_alignment = 32;    // bytes each DRAM page is aligned to
  int64_t l1_alignment = 16;      // bytes each L1 page is aligned to
  int64_t l1_reserved = 0;        // bytes of L1 per core not available to tensors
  int eth_links_per_chip = 0;
  double eth_gbps_per_link = 0;   // per direction
  // Matmul throughput of one core, FLOP per cycle at LoFi; fidelity divides it.
  double matmul_flops_per_cycle_lofi = 0;
  // cpu only: cache sizes and SIMD capabilities seen on the host.
  int64_t l1d_bytes = 0, l2_bytes = 0, l3_bytes = 0;
  std::string isa;  // "avx512_bf16", "avx512", "avx2", "sse"

  bool is_ttnn() const { return arch != Arch::CPU; }
  int cores_per_chip() const { return grid.count(); }
  // Peak matmul FLOP/s of the whole device for this input format and fidelity.
  double peak_flops(DataType dtype, MathFidelity fidelity) const;
  // Usable L1 per core for tensors and op buffers.
  int64_t l1_usable() const { return l1_per_core - l1_reserved; }
};

class Device {
 public:
  // "cpu", "ttnn:n150", "ttnn:n300", "ttnn:p150", "ttnn:t3k", "ttnn:galaxy". An unknown
  // name is an InvalidConfig error that lists the known ones.
  static std::shared_ptr<Device> open(std::string_view name);
  static std::vector<std::string> known_names();
  static DeviceSpec spec_for(std::string_view name);

  explicit Device(DeviceSpec spec);
  // The allocator refers to spec_: a device never moves.
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;
  const DeviceSpec& spec() const { return spec_; }
  const std::string& name() const { return spec_.name; }
  Allocator& allocator() { return *allocator_; }
  const Allocator& allocator() const { return *allocator_; }

 private:
  DeviceSpec spec_;
  std::unique_ptr<Allocator> allocator_;
};

// The host's figures: cores, caches, memory, SIMD level, clock.
DeviceSpec host_cpu_spec();

}  // namespace ttt
