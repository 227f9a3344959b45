// Helpers for the element-wise, norm, softmax, embedding, typecast, layout and collective
// op tests: devices, contexts, error expectations, ISA sweeps.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "op_test_util.hpp"
#include "ops/op_common.hpp"
#include "ttt/cpu_features.hpp"
#include "ttt/device.hpp"
#include "ttt/error.hpp"
#include "ttt/thread_pool.hpp"

namespace ttt::test {

inline std::shared_ptr<Device> device(const std::string& name) {
  static std::map<std::string, std::shared_ptr<Device>> cache;
  auto& d = cache[name];
  if (!d) d = Device::open(name);
  return d;
}

inline ops::ExecContext context(Device& d) { return ops::ExecContext{d, ThreadPool::global(), 0}; }

inline OpConfig host_config(DataType dtype = DataType::FLOAT32, Layout layout = Layout::ROW_MAJOR) {
  OpConfig c;
  c.dtype = dtype;
  c.layout = layout;
  return c;
}

inline OpConfig device_config(DataType dtype = DataType::BFLOAT16, MathFidelity fidelity = MathFidelity::HiFi4,
                              bool fp32_dest = false) {
  OpConfig c;
  c.dtype = dtype;
  c.layout = Layout::TILE;
  c.compute_kernel_config.math_fidelity = fidelity;
  c.compute_kernel_config.fp32_dest_acc_en = fp32_dest;
  return c;
}

// Runs f, expects a ttt::Error of `kind` whose message contains every needle.
inline void expect_error(const std::function<void()>& f, ErrorKind kind, std::initializer_list<std::string> needles) {
  try {
    f();
    ADD_FAILURE() << "expected a " << to_string(kind) << " error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), kind) << e.what();
    for (const auto& n : needles)
      EXPECT_NE(std::string(e.what()).find(n), std::string::npos) << "'" << n << "' not in: " << e.what();
  }
}

// The ISA levels this host runs, lowest first; the limit is restored on destruction.
class IsaSweep {
 public:
  IsaSweep() : saved_(active_isa()) {
    for (IsaLevel l : {IsaLevel::SCALAR, IsaLevel::AVX2, IsaLevel::AVX512}) {
      if (static_cast<int>(l) <= static_cast<int>(cpu_features().best)) levels_.push_back(l);
    }
  }
  ~IsaSweep() { set_isa_limit(saved_); }
  const std::vector<IsaLevel>& levels() const { return levels_; }

 private:
  IsaLevel saved_;
  std::vector<IsaLevel> levels_;
};

inline std::vector<double> to_double(const std::vector<float>& v) { return {v.begin(), v.end()}; }

inline double max_abs(const std::vector<double>& v) {
  double m = 0;
  for (double x : v) m = std::max(m, std::abs(x));
  return m;
}

}  // namespace ttt::test
