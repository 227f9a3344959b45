// What the tuner measures a configuration with: a spec-only tree (validation, cost-model
// times, bytes) and a model with weights run on fixed tokens (logits for the accuracy
// check against the double-precision reference; per-op wall times on the host).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ttt/modules/common.hpp"
#include "ttt/modules/transformer.hpp"
#include "ttt/tune.hpp"

namespace ttt::tune_detail {

// A spec-only tree's totals for one mode.
struct TreeTotals {
  double step_s = 0;       // the cost model's time of the mode's step
  int64_t bytes = 0;       // weights and op outputs (KV cache included)
  int64_t weight_bytes = 0;
};
TreeTotals tree_totals(const Transformer& tree, Mode mode);

// Timed steps of a model: per step the profiled seconds of every op (by path) and the
// step's wall time.
struct ModelRun {
  std::vector<std::map<std::string, double>> op_s;
  std::vector<double> step_s;
};

class Evaluator {
 public:
  // `spec` is the tuning model's (options.layers deep).
  Evaluator(const TuneOptions& options, TransformerSpec spec);

  // The tree without weights; throws Error when a config does not validate.
  std::unique_ptr<Transformer> spec_tree(const ModuleHardwareConfig& hw, int64_t layers = 0) const;
  // A model with weights (converted once per format and kept), not compiled.
  std::unique_ptr<Transformer> model(const ModuleHardwareConfig& hw, int64_t layers = 0);
  // Compiles for the mode and its shapes and feeds the accuracy tokens; returns the logits.
  std::vector<float> start(Transformer& model, const ModuleHardwareConfig& hw);
  // One more step of a started model, timed (and profiled when `profile`), appended to `out`.
  void timed_step(Transformer& model, const ModuleHardwareConfig& hw, bool profile, ModelRun& out);
  // Logits PCC against the double-precision reference (computed on first use).
  double pcc(const std::vector<float>& logits);

  // Text of everything a measurement depends on besides the configs (cache keys).
  const std::string& context() const { return context_; }
  const TransformerSpec& spec() const { return spec_; }
  const TuneOptions& options() const { return o_; }
  Device& device() const { return *device_; }

 private:
  Tensor load_weight(const WeightSource& source, const WeightRequest& request, const DeviceSpec& device);
  TransformerSpec with_layers(int64_t layers) const;

  const TuneOptions& o_;
  TransformerSpec spec_;
  std::shared_ptr<Device> device_;
  std::shared_ptr<const WeightSource> weights_;
  std::map<std::string, Tensor> converted_;  // by name, format and layout
  std::vector<int32_t> tokens_;
  std::optional<std::vector<double>> reference_;
  std::string context_;
};

double pcc(const std::vector<float>& a, const std::vector<double>& b);

}  // namespace ttt::tune_detail
