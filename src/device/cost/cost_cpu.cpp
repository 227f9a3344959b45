// Cost model of the host CPU, used to explain where time goes (the real figure is
// measured). compute: FLOPs / (threads x clock x FLOP per cycle) at the ISA's nominal
// rate (bf16 dot products double it); DRAM: bytes / read bandwidth (the spec's
// measured figure when known, else kNominalGBpsPerCore per core); dispatch: one
// thread-pool wake-up per op.
#include <algorithm>

#include "ttt/cost_model.hpp"

namespace ttt {
namespace {

constexpr double kComputeEfficiency = 0.8;
constexpr double kNominalGBpsPerCore = 20.0;
constexpr double kDispatchSeconds = 2e-6;

}  // namespace

Cost estimate_cost_cpu(const CostInputs& in, const DeviceSpec& d) {
  Cost c;
  const double peak = d.peak_flops(in.math_dtype, in.fidelity) * kComputeEfficiency;
  const int cores = in.cores > 0 ? std::min(in.cores, d.cores_per_chip()) : d.cores_per_chip();
  const double share = static_cast<double>(cores) / d.cores_per_chip();
  c.compute_s = (in.matmul_flops + in.vector_flops) / (peak * share);
  const double bw = (d.dram_gbps > 0 ? d.dram_gbps : kNominalGBpsPerCore * d.cores_per_chip()) * 1e9;
  c.dram_s = (in.dram_read_bytes + in.dram_write_bytes) / bw;
  c.dispatch_s = kDispatchSeconds;
  return c;
}

}  // namespace ttt
