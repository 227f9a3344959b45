// Cost model of Tenstorrent Tensix devices (Wormhole B0, Blackhole). docs/cost_model.md
// says what each term models and which published figures set the tunable constants;
// the device specs (cores, clock, FLOP per cycle, DRAM bandwidth, links) are facts and
// are never tuned to fit.
//
// Terms and their assumptions:
// - compute: matmul FLOPs / (cores used x 4096 FLOP/cycle at LoFi / fidelity phases
//   x clock) / kMatmulEfficiency. Peak per core and phases: tech_reports/GEMM_FLOPS.
//   kMatmulEfficiency: the published ~190 TFLOPS measured on Wormhole against its 262
//   TFLOPS LoFi peak gives ~0.72.
// - vector work (SFPU): kSfpuFlopsPerCycle per core; exp/rsqrt are several ops each,
//   which callers count in vector_flops.
// - DRAM: bytes / (the spec's measured bandwidth per chip x achieved fraction). The
//   measured figure (267 of 288 GB/s on Wormhole, 500 of 512 on Blackhole) is what a
//   dedicated reader reaches; the fraction is what the published decode figures imply
//   the model's decode ops reach of it, per architecture.
// - L1: each core reads its L1 at kL1BytesPerCycle (NoC-local reads of sharded operands).
// - dispatch: a fixed kDispatchSeconds per op: the floor of an op's device time (kernel
//   launch, first tiles in flight, op-to-op gap under trace), fitted to the published
//   single-chip decode figures.
// - collectives: per ring step, kLinkLatencySeconds plus bytes over the chip's links.
// Compute and data movement overlap (double-buffered circular buffers); dispatch and
// collectives add. Every figure is per chip: multi-chip ops pass one chip's share.
#include <algorithm>

#include "ttt/cost_model.hpp"

namespace ttt {
namespace {

constexpr double kMatmulEfficiency = 0.72;
constexpr double kSfpuFlopsPerCycle = 64.0;
constexpr double kWormholeDramFraction = 0.85;
constexpr double kBlackholeDramFraction = 0.65;
constexpr double kL1BytesPerCycle = 64.0;
constexpr double kDispatchSeconds = 20e-6;
constexpr double kLinkLatencySeconds = 1.5e-6;

}  // namespace

Cost estimate_cost_tensix(const CostInputs& in, const DeviceSpec& d) {
  Cost c;
  const int cores = in.cores > 0 ? std::min(in.cores, d.cores_per_chip()) : d.cores_per_chip();
  const double hz = d.clock_ghz * 1e9;
  const double mm_rate = cores * hz * d.matmul_flops_per_cycle_lofi / fidelity_phases(in.fidelity) * kMatmulEfficiency;
  const double vec_rate = cores * hz * kSfpuFlopsPerCycle;
  c.compute_s = (in.matmul_flops > 0 ? in.matmul_flops / mm_rate : 0) + (in.vector_flops > 0 ? in.vector_flops / vec_rate : 0);
  const double fraction = d.arch == Arch::BLACKHOLE ? kBlackholeDramFraction : kWormholeDramFraction;
  const double dram_bw = (d.dram_gbps_measured > 0 ? d.dram_gbps_measured : d.dram_gbps) * 1e9 * fraction;
  c.dram_s = (in.dram_read_bytes + in.dram_write_bytes) / dram_bw;
  c.l1_s = in.l1_bytes / (cores * hz * kL1BytesPerCycle);
  c.dispatch_s = kDispatchSeconds;
  if (in.collective_steps > 0) {
    const double link_bw = std::max(1, d.eth_links_per_chip) * d.eth_gbps_per_link * 1e9;
    c.collective_s = in.collective_steps * kLinkLatencySeconds + in.collective_bytes / link_bw;
  }
  return c;
}

}  // namespace ttt
