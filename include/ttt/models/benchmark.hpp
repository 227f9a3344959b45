// `ttt bench`: load, prefill and decode timings of a model (a Hugging Face directory or
// random weights of a known shape), with the machine's own read bandwidth and arithmetic
// peak measured in the same run, so that decode reads as a fraction of what memory allows
// and prefill as a fraction of what the multiply units allow.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "ttt/dtype.hpp"
#include "ttt/hardware_config.hpp"
#include "ttt/thread_pool.hpp"

namespace ttt {

struct BenchOptions {
  std::filesystem::path model_dir;       // either a model directory...
  std::string spec_name;                 // ...or a builtin spec with random weights
  int64_t layers = 0;                    // 0: all; else keep the first N layers (quick runs)
  std::string device = "cpu";
  int64_t prompt_len = 128;
  int64_t gen = 32;
  int64_t batch = 1;
  std::optional<DataType> weights_dtype;  // matmul weights (the hardware config's weight_cache_dtype)
  ModuleHardwareConfig hw;
  std::optional<std::string> cache_dir;  // unset: a fresh temporary directory (a true cold load)
  bool profile = false;                  // time every op
  std::function<int64_t()> heap_allocations;  // counts heap allocations, when the caller can
};

struct BenchResult {
  std::string model, device, weights;
  int64_t batch = 0, prompt_len = 0, gen = 0;
  double cold_load_s = 0, warm_load_s = 0;
  double prefill_s = 0, ttft_s = 0;
  double decode_s = 0;  // all decode steps
  int64_t decode_steps = 0;
  double prefill_tok_s = 0, decode_tok_s = 0, decode_tok_s_user = 0;
  double weight_bytes_per_step = 0;  // matmul weight bytes each decode step reads
  double achieved_gbps = 0;          // weight bytes per step / time per step
  double read_bandwidth_gbps = 0;    // measured here, same run: median of the probes
  double read_bandwidth_min_gbps = 0, read_bandwidth_max_gbps = 0;
  std::string read_probe;            // how it was measured
  // Each decode step against the read just before it (the probe of that moment; the one
  // probe of a buffer when the weights stay in the caches): median, lowest, highest.
  double bandwidth_fraction = 0, bandwidth_fraction_min = 0, bandwidth_fraction_max = 0;
  double overall_bandwidth_fraction = 0;  // achieved_gbps / read_bandwidth_gbps (mean decode, median read)
  double prefill_flops = 0;          // FLOP/s of the prefill matmuls (2 x parameters x tokens)
  double peak_flops = 0;             // cpu: measured here, same run; ttnn: the device's nominal peak
  std::string peak_source;           // what the peak is (the instruction measured, or "nominal")
  double prefill_flops_fraction = 0;
  int64_t peak_rss_bytes = 0;
  double device_allocs_per_step = 0;
  double heap_allocs_per_step = -1;  // -1: not counted
  std::map<std::string, double> profile_s;  // op path -> seconds over the decode steps (with --profile)
  std::map<std::string, double> prefill_profile_s;
  std::string json() const;
  std::string str() const;
};

BenchResult run_benchmark(const BenchOptions& options);

// A profile summed over the layers: "layers.3.mlp.ff1_matmul" counts as
// "layers.*.mlp.ff1_matmul"; ops outside the layers keep their paths.
std::map<std::string, double> profile_by_op(const std::map<std::string, double>& profile);

// Arithmetic peak of this machine with `threads` threads (0: all), FLOP/s, best of a few
// passes of a register-resident loop: vdpbf16ps when `bf16` and the active ISA level has
// it, else fp32 FMA (AVX-512 or AVX2), else scalar multiply-adds.
struct MachinePeak {
  double flops = 0;
  std::string instruction;
};
MachinePeak measure_compute_peak(bool bf16, int threads = 0);

// Streaming read bandwidth of this machine with `threads` threads (0: all), GB/s,
// best of a few passes over a buffer of `bytes` (one and four streams per thread).
double measure_read_bandwidth_gbps(int threads = 0, std::size_t bytes = std::size_t{512} << 20);

}  // namespace ttt
