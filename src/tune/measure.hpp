// Measurements of whole configurations, through the results cache: the accuracy of a
// config on ttnn devices (an emulated run, shared by configs of equal numerics) and a
// timed run on the host (logits PCC and the median time of every module's ops).
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tune/tune_cache.hpp"
#include "tune/tune_eval.hpp"

namespace ttt::tune_detail {

struct Measure {
  double time_s = 0;  // ttnn: the cost model's step; cpu: the op's module (or the step), median
  int64_t bytes = 0;  // weights and op outputs of the tuning model
  std::optional<double> pcc;
};

// A timed host run, as cached.
struct HostRun {
  double pcc = 0;
  double step_s = 0;                      // median wall time of a step
  std::map<std::string, double> module_s;  // median per step of the ops of each module (by parent path)
};

class Measurer {
 public:
  Measurer(const TuneOptions& options, TransformerSpec spec);
  Evaluator& evaluator() { return ev_; }
  TuneStats& stats() { return stats_; }

  // The config's measure for the op at `op_path` (empty: the whole step). pcc is filled
  // on cpu always, on ttnn when `need_pcc`.
  Measure measure(const ModuleHardwareConfig& hw, const Transformer& tree, const std::string& op_path, bool need_pcc);
  double ttnn_pcc(const ModuleHardwareConfig& hw, const Transformer& tree);
  // Host runs of several configs measured together (they take turns), cached as a group.
  struct HostConfig {
    const ModuleHardwareConfig* hw;
    const Transformer* tree;
  };
  std::vector<HostRun> host_runs(const std::vector<HostConfig>& configs);
  double elapsed_s() const { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count(); }

 private:
  const TuneOptions& o_;
  Evaluator ev_;
  TuneCache cache_;
  TuneStats stats_;
  bool warmed_up_ = false;
  std::chrono::steady_clock::time_point t0_ = std::chrono::steady_clock::now();
};

// A host run as the measure of the op at `op_path` (empty: the whole step).
Measure host_measure(const HostRun& run, const TreeTotals& totals, const std::string& op_path);

// "a.b.c" -> "a.b"; "" for a top-level name.
std::string parent_of(const std::string& path);

}  // namespace ttt::tune_detail
