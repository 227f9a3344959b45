#include "ttt/cpu_features.hpp"

#include <algorithm>
#include <atomic>

namespace ttt {
namespace {

CpuFeatures detect() {
  CpuFeatures f;
  __builtin_cpu_init();
  // __builtin_cpu_supports also checks that the OS saves the wide registers (XCR0).
  f.avx2 = __builtin_cpu_supports("avx2");
  f.fma = __builtin_cpu_supports("fma");
  f.f16c = true;
  f.avx512f = __builtin_cpu_supports("avx512f");
  f.avx512bw = __builtin_cpu_supports("avx512bw");
  f.avx512vl = __builtin_cpu_supports("avx512vl");
  f.avx512dq = __builtin_cpu_supports("avx512dq");
  f.avx512_vnni = __builtin_cpu_supports("avx512vnni");
  f.avx512_bf16 = __builtin_cpu_supports("avx512bf16");
  f.avx512_vbmi = __builtin_cpu_supports("avx512vbmi");
  if (f.avx2 && f.fma) f.best = IsaLevel::AVX2;
  if (f.best == IsaLevel::AVX2 && f.avx512f && f.avx512bw && f.avx512vl && f.avx512dq) f.best = IsaLevel::AVX512;
  if (f.best == IsaLevel::AVX512 && f.avx512_bf16 && f.avx512_vnni && f.avx512_vbmi) f.best = IsaLevel::AVX512_BF16;
  return f;
}

std::atomic<int> g_limit{static_cast<int>(IsaLevel::AVX512_BF16)};

}  // namespace

const CpuFeatures& cpu_features() {
  static const CpuFeatures f = detect();
  return f;
}

IsaLevel active_isa() {
  return static_cast<IsaLevel>(std::min(static_cast<int>(cpu_features().best), g_limit.load()));
}

IsaLevel set_isa_limit(IsaLevel level) {
  g_limit.store(static_cast<int>(level));
  return active_isa();
}

}  // namespace ttt
