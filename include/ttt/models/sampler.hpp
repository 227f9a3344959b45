// Choosing the next token from logits: greedy, or temperature with top-k and top-p,
// reproducible from a seed.
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <vector>

namespace ttt {

struct SamplerParams {
  double temperature = 0.0;  // 0: greedy
  int64_t top_k = 0;         // 0: all tokens
  double top_p = 1.0;        // 1: all tokens; else the smallest set holding this much probability
  uint64_t seed = 0;
  void validate() const;     // InvalidConfig naming the field
};

// The largest logit's index, the lowest index among equal ones; NaN never wins.
int32_t argmax(std::span<const float> logits);
int32_t argmax(std::span<const double> logits);

class Sampler {
 public:
  explicit Sampler(SamplerParams params = {});

  // The same seed and logits give the same tokens on every platform: the random draw
  // is built from std::mt19937_64's bits by hand, not from a std:: distribution.
  int32_t sample(std::span<const float> logits);
  int32_t sample(std::span<const double> logits);

  void reseed(uint64_t seed);
  const SamplerParams& params() const { return params_; }

 private:
  int32_t sample_impl(std::size_t n, const float* f, const double* d);
  SamplerParams params_;
  std::mt19937_64 rng_;
  std::vector<int32_t> order_;  // scratch, kept across calls
  std::vector<double> probs_;
};

}  // namespace ttt
