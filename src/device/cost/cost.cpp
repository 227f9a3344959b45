#include <algorithm>

#include <fmt/format.h>

#include "ttt/cost_model.hpp"

namespace ttt {

double Cost::total_s() const { return dispatch_s + collective_s + std::max({compute_s, dram_s, l1_s}); }

CostBound Cost::bound() const {
  const double overlapped = std::max({compute_s, dram_s, l1_s});
  if (dispatch_s >= overlapped && dispatch_s >= collective_s) return CostBound::DISPATCH;
  if (collective_s >= overlapped) return CostBound::COLLECTIVE;
  if (compute_s >= dram_s && compute_s >= l1_s) return CostBound::COMPUTE;
  return dram_s >= l1_s ? CostBound::DRAM : CostBound::L1;
}

Cost& Cost::operator+=(const Cost& o) {
  compute_s += o.compute_s;
  dram_s += o.dram_s;
  l1_s += o.l1_s;
  collective_s += o.collective_s;
  dispatch_s += o.dispatch_s;
  return *this;
}

std::string Cost::str() const {
  const double t = total_s();
  const std::string time = t >= 1e-3 ? fmt::format("{:.3f} ms", t * 1e3) : fmt::format("{:.1f} us", t * 1e6);
  return fmt::format("{} ({}-bound)", time, to_string(bound()));
}

Cost estimate_cost(const CostInputs& in, const DeviceSpec& device) {
  return device.arch == Arch::CPU ? estimate_cost_cpu(in, device) : estimate_cost_tensix(in, device);
}

}  // namespace ttt
