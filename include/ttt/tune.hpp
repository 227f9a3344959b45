// The auto-tuner (`ttt tune`): searches, op by op, over the configs each op accepts and
// keeps the fastest (or smallest) that keep the model's output within an accuracy bound.
//
// - Layers share shapes: a model of `layers` layers (1 by default) is built, the ops of
//   layers.0 stand for every layer, and winners are written as `layers.*.<module>.<op>`
//   keys (ops outside the layers under their own path).
// - Candidates: per op kind, one axis at a time around the current config (weights dtype,
//   compute kernel config, KV-cache dtype, output placement, program config). A
//   candidate that the op's validate() refuses, in the whole tree at the configured
//   shapes, is counted and dropped.
// - Time: on ttnn devices the cost model's time of the whole step (instant); on cpu the
//   measured wall time of the op's module (the ops it shares a parent with), with the
//   OpProfiler: the current config and an axis's candidates take turns for
//   `timing_steps` rounds and the median round counts.
// - Accuracy: the logits of the built model for fixed tokens against the double-precision
//   reference (ReferenceModel) by PCC; a candidate below min_pcc is refused. On ttnn
//   devices only candidates faster than the current winner are checked, and configs
//   whose numerics are equal share one check (program configs and placements do not
//   change what the emulation computes).
// - Results (measured times, PCCs) are cached on disk, keyed by what they depend on and
//   by a hash of the running executable (the kernels), so a second run is instant.
// docs/tuning.md describes the search, the scores and the output.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ttt/hardware_config.hpp"
#include "ttt/modules/module.hpp"
#include "ttt/modules/specs.hpp"
#include "ttt/weight_source.hpp"

namespace ttt {

// Where the search stands, after every candidate.
struct TuneProgress {
  int64_t tried = 0;         // candidates measured or refused so far
  int64_t expected = 0;      // estimate of all candidates
  std::string op;            // op path being tuned
  std::string axis;          // what is varied: weights, math, cache_dtype, memory, program
  double start_score_s = 0;  // the step time (ttnn) or the op's module time (cpu) of the start config
  double best_s = 0;         // the same for the current winner
  int64_t cache_hits = 0;
  double elapsed_s = 0;
};

struct TuneOptions {
  TransformerSpec spec;  // the whole model's shapes; `layers` of its layers are built
  // Reference weights (Hugging Face names). Null: random weights of the spec (seed 1).
  std::shared_ptr<const WeightSource> weights;
  std::string device = "cpu";
  Mode mode = Mode::decode;
  OptimizationTarget target = OptimizationTarget::latency;  // what the search minimises
  double min_pcc = 0.99;   // logits PCC against the reference every winner keeps
  double budget_s = 0;     // stop trying new candidates after this long (0: no limit)
  int64_t layers = 1;      // layers built while tuning
  int64_t tokens = 4;      // accuracy check: decode steps fed (decode) or prompt length (prefill)
  int timing_steps = 7;    // cpu: rounds per candidate (the configs of an axis take turns; median)
  double min_timed_s = 0.05;  // cpu: ... and at least this long (a small model's step is microseconds)
  // Ops whose share of the start config's step (time, or bytes under the memory target)
  // is below this are left as they are.
  double min_share = 0.005;
  std::vector<std::string> only_ops;  // op names to tune (empty: every op with candidates)
  // The starting point and the base of the output: defaults, intents, a YAML file. Its
  // shapes are the shapes tuned for (decode_batch, cache_len; prefill_batch, prefill_seq).
  ModuleHardwareConfig start;
  std::optional<std::string> cache_dir;  // results cache root; unset: <weight cache root>/tune
  bool use_cache = true;
  std::function<void(const TuneProgress&)> progress;
};

// One tuned op: its key in the output, its config before and after.
struct TunedOp {
  std::string key;   // "layers.*.mlp.ff1_matmul", "lm_head.lm_head_matmul"
  std::string path;  // the op measured: "layers.0.mlp.ff1_matmul"
  OpConfig start, tuned;
  double start_s = 0, tuned_s = 0;  // the op's measure (see TuneProgress::best_s)
  std::vector<std::string> changes;  // "weights_dtype BFLOAT8_B -> BFLOAT4_B"
};

// One candidate as the search saw it.
struct TuneTrial {
  std::string path;  // the op
  std::string axis;
  OpConfig config;
  bool valid = false;          // accepted by validate() in the tree
  std::string problem;         // why not, when not
  double time_s = 0;           // its measure (valid candidates)
  int64_t bytes = 0;
  std::optional<double> pcc;   // when checked
  bool won = false;            // became the op's config
};

struct TuneStats {
  int64_t proposed = 0;           // candidates generated
  int64_t rejected_invalid = 0;   // refused by validate()
  int64_t measured = 0;           // candidates timed (or costed)
  int64_t accuracy_checks = 0;    // candidates whose PCC was looked at
  int64_t rejected_accuracy = 0;  // below min_pcc
  int64_t cache_hits = 0;         // measurements and PCCs read from the cache
  int64_t cache_misses = 0;       // ... computed (and written to it)
  int64_t ops_tuned = 0;
  int64_t ops_skipped = 0;        // below min_share, or no candidates
  bool budget_exhausted = false;
  double elapsed_s = 0;
};

struct TuneResult {
  ModuleHardwareConfig tuned;  // the start with the winners: what the YAML loads to
  std::string yaml;            // the override file (`--hw-config` accepts it)
  std::vector<TunedOp> ops;    // every op tuned, changed or not
  std::vector<TuneTrial> trials;  // every candidate, in the order tried
  TuneStats stats;
  // The built model (layers deep) in the tuned mode: step time (cost model on ttnn,
  // sum of the profiled ops on cpu) and logits PCC, for the start and the tuned configs.
  double start_step_s = 0, tuned_step_s = 0;
  double start_pcc = 0, tuned_pcc = 0;
};

TuneResult tune(const TuneOptions& options);

// One config measured for the comparison of `ttt tune`'s report.
struct ConfigEvaluation {
  std::string name;
  double token_s = 0;       // time per token (decode) or per prefill of the shapes' prompt
  double pcc = 0;           // logits PCC against the reference, at the tuning depth
  int64_t weight_bytes = 0; // of the whole model
  bool measured = false;    // true: wall time on the host; false: the cost model
};

// Time per token of each config, measured in one run: on cpu the configs take turns
// for `rounds` rounds of decode steps on a model `eval_layers` deep (0: options.layers),
// and the median step counts; on ttnn devices the cost model of the whole model (every
// layer). Accuracy at options.layers deep, as tune() measures it (cached).
std::vector<ConfigEvaluation> evaluate_configs(const TuneOptions& options,
                                               const std::vector<std::pair<std::string, ModuleHardwareConfig>>& configs,
                                               int64_t eval_layers = 0, int rounds = 5);

// The candidates of one op, one axis at a time around its config `op.config` (not
// validated: tune() drops those validate() refuses). Exposed for tests.
struct TuneAxis {
  std::string name;               // weights, math, cache_dtype, memory, program
  std::vector<OpConfig> values;   // each differs from op.config in this axis only
};
std::vector<TuneAxis> candidate_axes(const ResolvedOp& op, Mode mode, const DeviceSpec& device);

// "weights_dtype BFLOAT8_B -> BFLOAT4_B", one per top-level field of the config that differs.
std::vector<std::string> config_changes(const OpConfig& from, const OpConfig& to);

// Checks a config of the op at `path` in the tree that `hw` builds (the tuning model,
// spec-only): the candidate applied as tune() applies it. Returns an empty string when
// every op of the tree validates, else the first problem.
std::string check_candidate(const TransformerSpec& spec, const ModuleHardwareConfig& hw, const std::string& path,
                            Mode mode, const OpConfig& candidate);

}  // namespace ttt
