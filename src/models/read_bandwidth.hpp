// Streaming-read probes of `ttt bench` (internal to src/models): the machine's read
// bandwidth, measured over a buffer of its own or over the model's weights between decode
// steps, so that decode's bytes per second compare with what memory gives at that moment.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "ttt/tensor.hpp"
#include "ttt/thread_pool.hpp"

namespace ttt::bench_detail {

// Reads `bytes` at p with `threads` threads (each a contiguous share), `streams`
// interleaved sequential streams per thread; returns GB/s.
double timed_read(ThreadPool& pool, const std::byte* p, std::size_t bytes, int threads, int streams);

// Reads the bytes of the tensors it is given (those of at least 1 MiB: the weights that
// stream from memory), a window of `window_bytes` at a time, continuing where the last
// window ended and wrapping around. Each measure() reads two windows, one stream and
// four streams per thread, and returns the faster: the best a plain read does on the same
// pages (file-backed, mapped from the cache) that decode reads. Allocates nothing.
class WeightReadProbe {
 public:
  void add(const Tensor& t);
  std::size_t bytes() const { return total_; }
  double measure(ThreadPool& pool, std::size_t window_bytes, int threads = 0);

 private:
  double read_window(ThreadPool& pool, std::size_t window_bytes, int threads, int streams);
  std::vector<Tensor> tensors_;  // keep the mappings alive
  std::vector<std::span<const std::byte>> segments_;
  std::size_t total_ = 0;
  std::size_t seg_ = 0, offset_ = 0;  // where the next window starts
};

// Decode step by step against the read bandwidth: step i moved `bytes_per_step` in
// step_seconds[i] and is compared with probes_gbps[i] (the read just before it), or with
// probes_gbps[0] when there is one probe for all steps. Median, lowest and highest of
// those fractions; zeros when there are no steps.
struct StepFractions {
  double median = 0, min = 0, max = 0;
};
StepFractions step_bandwidth_fractions(std::span<const double> step_seconds, std::span<const double> probes_gbps,
                                       double bytes_per_step);

}  // namespace ttt::bench_detail
