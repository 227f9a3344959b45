#include <fmt/format.h>

#include "commands.hpp"
#include "table.hpp"
#include "ttt/device.hpp"

namespace ttt::cli {

void add_devices_command(CLI::App& app, Runner& runner) {
  auto* cmd = app.add_subcommand("devices", "List the devices ttt can target, with their specs");
  cmd->callback([&runner] {
    runner = [] {
      Table t({"device", "arch", "chips", "grid/chip", "L1/core", "DRAM/chip", "banks", "DRAM GB/s", "clock GHz",
               "peak TFLOP/s (LoFi|HiFi2|HiFi4)", "links/chip"});
      for (const auto& name : Device::known_names()) {
        const DeviceSpec s = Device::spec_for(name);
        const DataType dt = s.is_ttnn() ? DataType::BFLOAT8_B : DataType::BFLOAT16;
        std::string peaks = s.is_ttnn() ? fmt::format("{:.0f} | {:.0f} | {:.0f}",
                                                      s.peak_flops(dt, MathFidelity::LoFi) / 1e12,
                                                      s.peak_flops(dt, MathFidelity::HiFi2) / 1e12,
                                                      s.peak_flops(dt, MathFidelity::HiFi4) / 1e12)
                                        : fmt::format("{:.2f} fp32, {:.2f} bf16 (nominal)",
                                                      s.peak_flops(DataType::FLOAT32, MathFidelity::HiFi4) / 1e12,
                                                      s.peak_flops(DataType::BFLOAT16, MathFidelity::HiFi4) / 1e12);
        t.add({s.name, std::string(to_string(s.arch)), fmt::format("{} ({}x{})", s.mesh.chips(), s.mesh.rows, s.mesh.cols),
               s.grid.str(), human_bytes(static_cast<double>(s.l1_per_core)),
               human_bytes(static_cast<double>(s.dram_per_chip)), std::to_string(s.dram_banks),
               s.dram_gbps > 0 ? fmt::format("{:.0f}", s.dram_gbps) : "-", fmt::format("{:.2f}", s.clock_ghz), peaks,
               std::to_string(s.eth_links_per_chip)});
      }
      fmt::print("{}", t.str());
      const DeviceSpec host = host_cpu_spec();
      fmt::print("\ncpu: {} cores, L1d {}, L2 {}, L3 {}, ISA {}; cpu L1/core is the core's L2\n", host.grid.count(),
                 human_bytes(static_cast<double>(host.l1d_bytes)), human_bytes(static_cast<double>(host.l2_bytes)),
                 human_bytes(static_cast<double>(host.l3_bytes)), host.isa);
      return 0;
    };
  });
}

}  // namespace ttt::cli
