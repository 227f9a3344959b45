// Estimated device time of one op: compute, data movement and a fixed dispatch cost.
// Ops describe their work (CostInputs); the device family's model turns it into time.
// The formulas live in src/device/cost/, one file per device family.
#pragma once

#include <string>

#include "ttt/device.hpp"
#include "ttt/dtype.hpp"

namespace ttt {

TTT_ENUM(CostBound, COMPUTE, DRAM, L1, COLLECTIVE, DISPATCH)

struct CostInputs {
  double matmul_flops = 0;        // 2 x multiply-adds on the matrix engine (FPU / FMA units)
  double vector_flops = 0;        // element-wise work (SFPU / SIMD): exp, rsqrt, adds
  double dram_read_bytes = 0;     // bytes read from DRAM (interleaved or DRAM-sharded operands)
  double dram_write_bytes = 0;
  double l1_bytes = 0;            // bytes moved to or from L1-resident operands
  int cores = 0;                  // cores the op runs on per chip (0: the whole grid)
  MathFidelity fidelity = MathFidelity::LoFi;
  DataType math_dtype = DataType::BFLOAT16;  // format the math reads (cpu: bf16 dot vs fp32 FMA)
  double collective_bytes = 0;    // bytes each chip sends in a collective
  int collective_steps = 0;       // ring steps (chips - 1 for all_gather)
};

struct Cost {
  double compute_s = 0;
  double dram_s = 0;
  double l1_s = 0;
  double collective_s = 0;
  double dispatch_s = 0;
  // Compute and data movement overlap; dispatch and collectives do not.
  double total_s() const;
  CostBound bound() const;
  Cost& operator+=(const Cost& o);
  std::string str() const;  // "12.3 us (DRAM-bound)"
};

Cost estimate_cost(const CostInputs& in, const DeviceSpec& device);

// Family models (called by estimate_cost).
Cost estimate_cost_cpu(const CostInputs& in, const DeviceSpec& device);
Cost estimate_cost_tensix(const CostInputs& in, const DeviceSpec& device);

}  // namespace ttt
