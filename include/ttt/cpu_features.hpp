// What the host CPU can execute, detected once at run time. SIMD kernels are compiled
// per instruction set and chosen from this, never from -march=native.
#pragma once

#include <string>

#include "ttt/enum_macro.hpp"

namespace ttt {

// Instruction-set levels, lowest first. AVX512_BF16 implies AVX-512 F/BW/VL/DQ/VNNI/VBMI
// here (the bfloat16 kernels decode block floats with VBMI byte permutes).
TTT_ENUM(IsaLevel, SCALAR, AVX2, AVX512, AVX512_BF16)

struct CpuFeatures {
  bool avx2 = false, fma = false, f16c = false;
  bool avx512f = false, avx512bw = false, avx512vl = false, avx512dq = false;
  bool avx512_vnni = false, avx512_bf16 = false, avx512_vbmi = false;
  IsaLevel best = IsaLevel::SCALAR;  // the highest level the host supports fully
};

const CpuFeatures& cpu_features();

// The level kernels dispatch on: the host's best, unless lowered by set_isa_limit()
// (the CLI's --isa flag, and tests that check every path gives the same answer).
IsaLevel active_isa();
// Limit dispatch to `level` (clamped to what the host supports). Returns the level in force.
IsaLevel set_isa_limit(IsaLevel level);

}  // namespace ttt
