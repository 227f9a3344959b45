// The devices ttt knows. Tenstorrent figures come from public tt-metal sources; each
// number names its source. Nothing here is tuned: the cost model's tunable terms live
// with the cost model.
#include <unistd.h>

#include <fstream>
#include <sched.h>
#include <string>
#include <thread>

#include "ttt/cpu_features.hpp"
#include "ttt/device.hpp"
#include "ttt/error.hpp"

namespace ttt {
namespace {

constexpr int64_t kKiB = 1024;
constexpr int64_t kGiB = 1024 * 1024 * 1024;

// One Wormhole B0 chip as an n150 exposes it.
DeviceSpec wormhole_chip() {
  DeviceSpec s;
  s.arch = Arch::WORMHOLE_B0;
  // 8x8 compute grid: tt-metal's n150/n300 device descriptors harvest the 10x8
  // Tensix array to 8x8 for TTNN (TTNN_FACTS.md "Devices"; ttnn device.compute_with_storage_grid_size()).
  s.grid = CoreGrid{8, 8};
  // 1464 KiB of L1 per Tensix core: tt-metal hal (MEM_L1_SIZE for Wormhole, 1499136 B).
  s.l1_per_core = 1464 * kKiB;
  // Firmware, kernel binaries and runtime structures sit below the allocator's base;
  // about 100 KiB on Wormhole (tt-metal hal L1 unreserved base; approximate).
  s.l1_reserved = 100 * kKiB;
  // 12 GiB GDDR6 in 12 banks (6 channels x 2): Wormhole n150 product brief; tt-metal
  // soc descriptor wormhole_b0_80_arch.yaml lists 12 DRAM views.
  s.dram_per_chip = 12 * kGiB;
  s.dram_banks = 12;
  // 288 GB/s peak (n150 product brief); ~267 GB/s achieved in tt-metal's DRAM bandwidth tests.
  s.dram_gbps = 288.0;
  s.dram_gbps_measured = 267.0;
  // 1.0 GHz AICLK (tt-metal tech_reports/GEMM_FLOPS/GEMM_FLOPS.md, Wormhole).
  s.clock_ghz = 1.0;
  // Alignment of pages: DRAM 32 B, L1 16 B on Wormhole (tt-metal hal).
  s.dram_alignment = 32;
  s.l1_alignment = 16;
  // 16 x 100 GbE Ethernet ports per Wormhole chip (Wormhole product brief).
  s.eth_links_per_chip = 16;
  s.eth_gbps_per_link = 12.5;  // 100 Gb/s = 12.5 GB/s per direction
  // 4096 FLOP per cycle per core at LoFi; HiFi2/3/4 take 2/3/4 phases
  // (tech_reports/GEMM_FLOPS/GEMM_FLOPS.md, tech_reports/matrix_engine/matrix_engine.md).
  s.matmul_flops_per_cycle_lofi = 4096;
  return s;
}

DeviceSpec n150() {
  DeviceSpec s = wormhole_chip();
  s.name = "ttnn:n150";
  s.description = "Wormhole n150: 1 chip";
  s.mesh = MeshShape{1, 1};
  s.eth_links_per_chip = 0;  // a single card links to nothing in a mesh
  return s;
}

DeviceSpec n300() {
  DeviceSpec s = wormhole_chip();
  s.name = "ttnn:n300";
  s.description = "Wormhole n300: 2 chips on one card, 1x2 mesh";
  s.mesh = MeshShape{1, 2};
  // The two chips of an n300 are joined by 2 Ethernet links on the card (n300 product brief).
  s.eth_links_per_chip = 2;
  return s;
}

DeviceSpec t3k() {
  DeviceSpec s = wormhole_chip();
  s.name = "ttnn:t3k";
  s.description = "TT-LoudBox/QuietBox T3000: 8 Wormhole chips (4 n300 cards), 1x8 mesh";
  s.mesh = MeshShape{1, 8};
  // Neighbours in the 1x8 ring are joined by 2 Ethernet links each way
  // (tt-metal tech_reports/EthernetMultichip, T3000 topology).
  s.eth_links_per_chip = 2;
  return s;
}

DeviceSpec galaxy() {
  DeviceSpec s = wormhole_chip();
  s.name = "ttnn:galaxy";
  s.description = "Wormhole Galaxy (TG): 32 Wormhole chips, 8x4 mesh";
  // 8 rows x 4 columns: tt-metal tt_metal/fabric/mesh_graph_descriptors/
  // single_galaxy_mesh_graph_descriptor.textproto (arch WORMHOLE_B0, device_topology
  // [8, 4]); ttnn opens it as MeshShape(8, 4).
  s.mesh = MeshShape{8, 4};
  // The same file joins neighbouring chips by 4 Ethernet channels ("channels { count: 4 }").
  s.eth_links_per_chip = 4;
  // Galaxy chips are not harvested like n150/n300 boards: tt-metal's Galaxy models
  // (models/demos/llama3_70b_galaxy) place work on cores up to (6, 9), a 7x10 compute grid
  // (one Tensix column of the 8x10 array runs dispatch).
  s.grid = CoreGrid{7, 10};
  return s;
}

DeviceSpec p150() {
  DeviceSpec s;
  s.name = "ttnn:p150";
  s.description = "Blackhole p150: 1 chip";
  s.arch = Arch::BLACKHOLE;
  s.mesh = MeshShape{1, 1};
  // 11x10 compute grid as ttnn reports it on p150 (13x10 on older firmware).
  s.grid = CoreGrid{11, 10};
  // 1536 KiB (1.5 MiB) SRAM per Tensix core: Blackhole product brief; tt-metal hal MEM_L1_SIZE.
  s.l1_per_core = 1536 * kKiB;
  s.l1_reserved = 100 * kKiB;  // as on Wormhole; approximate
  // 32 GiB GDDR6 over 8 banks: p150 product brief, tt-metal blackhole soc descriptor.
  s.dram_per_chip = 32 * kGiB;
  s.dram_banks = 8;
  // 512 GB/s peak (p150 product brief); ~500 GB/s achieved in tt-metal's bandwidth tests.
  s.dram_gbps = 512.0;
  s.dram_gbps_measured = 500.0;
  // 1.35 GHz AICLK (tech_reports/GEMM_FLOPS/GEMM_FLOPS.md, Blackhole).
  s.clock_ghz = 1.35;
  // DRAM pages 64-byte aligned on Blackhole (tt-metal hal); L1 16 B.
  s.dram_alignment = 64;
  s.l1_alignment = 16;
  s.eth_links_per_chip = 0;
  s.matmul_flops_per_cycle_lofi = 4096;
  return s;
}

int64_t read_sysfs_cache_size(int index) {
  std::ifstream in("/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(index) + "/size");
  std::string text;
  if (!(in >> text) || text.empty()) return 0;
  int64_t mult = 1;
  if (text.back() == 'K') mult = kKiB, text.pop_back();
  else if (text.back() == 'M') mult = kKiB * kKiB, text.pop_back();
  try {
    return std::stoll(text) * mult;
  } catch (...) {
    return 0;
  }
}

double read_cpu_mhz() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("cpu MHz", 0) == 0) {
      auto colon = line.find(':');
      if (colon != std::string::npos) {
        try {
          return std::stod(line.substr(colon + 1));
        } catch (...) {
          return 0;
        }
      }
    }
  }
  return 0;
}

}  // namespace

DeviceSpec host_cpu_spec() {
  DeviceSpec s;
  s.name = "cpu";
  s.arch = Arch::CPU;
  const CpuFeatures& f = cpu_features();
  s.isa = std::string(to_string(f.best));
  cpu_set_t set;
  CPU_ZERO(&set);
  int cores = 0;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) cores = CPU_COUNT(&set);
  if (cores <= 0) cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  s.grid = CoreGrid{cores, 1};
  s.mesh = MeshShape{1, 1};
  // Cache sizes from sysconf, else sysfs (index0 L1d, index2 L2, index3 L3).
  s.l1d_bytes = sysconf(_SC_LEVEL1_DCACHE_SIZE);
  s.l2_bytes = sysconf(_SC_LEVEL2_CACHE_SIZE);
  s.l3_bytes = sysconf(_SC_LEVEL3_CACHE_SIZE);
  if (s.l1d_bytes <= 0) s.l1d_bytes = read_sysfs_cache_size(0);
  if (s.l2_bytes <= 0) s.l2_bytes = read_sysfs_cache_size(2);
  if (s.l3_bytes <= 0) s.l3_bytes = read_sysfs_cache_size(3);
  // "L1" of a cpu core is its private L2: the working set a kernel blocks for.
  s.l1_per_core = s.l2_bytes > 0 ? s.l2_bytes : 1024 * kKiB;
  s.dram_per_chip = static_cast<int64_t>(sysconf(_SC_PHYS_PAGES)) * sysconf(_SC_PAGESIZE);
  s.dram_banks = 1;
  s.dram_alignment = 64;
  s.l1_alignment = 64;
  s.clock_ghz = read_cpu_mhz() / 1000.0;
  if (s.clock_ghz <= 0) s.clock_ghz = 2.0;
  // Nominal FLOP/cycle/core from the vector width, assuming two FMA pipes: fp32
  // 2 x lanes x 2. `ttt bench` measures the real figure; this is only a label.
  const int lanes = f.best >= IsaLevel::AVX512 ? 16 : (f.best == IsaLevel::AVX2 ? 8 : 1);
  s.matmul_flops_per_cycle_lofi = 2.0 * lanes * 2.0;
  s.description = "host CPU (" + s.isa + ")";
  return s;
}

DeviceSpec Device::spec_for(std::string_view name) {
  if (name == "cpu") return host_cpu_spec();
  if (name == "ttnn:n150") return n150();
  if (name == "ttnn:n300") return n300();
  if (name == "ttnn:p150") return p150();
  if (name == "ttnn:t3k") return t3k();
  if (name == "ttnn:galaxy") return galaxy();
  std::string known;
  for (const auto& n : known_names()) known += (known.empty() ? "" : ", ") + n;
  fail(ErrorKind::InvalidConfig, "unknown device '{}': known devices are {}", name, known);
}

std::vector<std::string> Device::known_names() {
  return {"cpu", "ttnn:n150", "ttnn:n300", "ttnn:p150", "ttnn:t3k", "ttnn:galaxy"};
}

double DeviceSpec::peak_flops(DataType dtype, MathFidelity fidelity) const {
  const double cores = static_cast<double>(grid.count()) * mesh.chips();
  if (arch == Arch::CPU) {
    // bf16 dot products (AVX512-BF16 vdpbf16ps) do twice the fp32 FMA work per cycle;
    // block-float weights are decoded to fp32/bf16 and run at those rates.
    const bool bf16_dot = isa == "AVX512_BF16" && dtype != DataType::FLOAT32;
    return cores * clock_ghz * 1e9 * matmul_flops_per_cycle_lofi * (bf16_dot ? 2.0 : 1.0);
  }
  // The matrix engine unpacks every float format to its 19-bit source registers, so
  // the input format does not change the rate; fidelity phases divide it.
  (void)dtype;
  return cores * clock_ghz * 1e9 * matmul_flops_per_cycle_lofi / fidelity_phases(fidelity);
}

}  // namespace ttt
