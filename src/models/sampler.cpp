#include "ttt/models/sampler.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "ttt/error.hpp"

namespace ttt {
namespace {

template <typename T>
int32_t argmax_impl(std::span<const T> logits) {
  TTT_CHECK(!logits.empty(), InvalidConfig, "argmax: the logits are empty");
  int32_t best = -1;
  for (std::size_t i = 0; i < logits.size(); ++i) {
    if (std::isnan(logits[i])) continue;
    // Strictly greater: the first of equal values stays.
    if (best < 0 || logits[i] > logits[static_cast<std::size_t>(best)]) best = static_cast<int32_t>(i);
  }
  return best < 0 ? 0 : best;
}

}  // namespace

void SamplerParams::validate() const {
  TTT_CHECK(std::isfinite(temperature) && temperature >= 0, InvalidConfig,
            "SamplerParams.temperature must be a finite number >= 0 (0 is greedy), got {}", temperature);
  TTT_CHECK(top_k >= 0, InvalidConfig, "SamplerParams.top_k must be >= 0 (0 keeps every token), got {}", top_k);
  TTT_CHECK(top_p > 0 && top_p <= 1, InvalidConfig, "SamplerParams.top_p must be in (0, 1] (1 keeps every token), got {}",
            top_p);
}

int32_t argmax(std::span<const float> logits) { return argmax_impl(logits); }
int32_t argmax(std::span<const double> logits) { return argmax_impl(logits); }

Sampler::Sampler(SamplerParams params) : params_(params), rng_(params.seed) { params_.validate(); }

void Sampler::reseed(uint64_t seed) {
  params_.seed = seed;
  rng_.seed(seed);
}

int32_t Sampler::sample(std::span<const float> logits) { return sample_impl(logits.size(), logits.data(), nullptr); }
int32_t Sampler::sample(std::span<const double> logits) { return sample_impl(logits.size(), nullptr, logits.data()); }

int32_t Sampler::sample_impl(std::size_t n, const float* f, const double* d) {
  TTT_CHECK(n > 0, InvalidConfig, "Sampler: the logits are empty");
  if (params_.temperature == 0.0) return f ? argmax(std::span(f, n)) : argmax(std::span(d, n));
  const auto logit = [&](std::size_t i) { return f ? static_cast<double>(f[i]) : d[i]; };

  // Candidates by descending logit, lower id first among equals; NaN logits are dropped.
  order_.resize(n);
  std::iota(order_.begin(), order_.end(), 0);
  std::erase_if(order_, [&](int32_t i) { return std::isnan(logit(static_cast<std::size_t>(i))); });
  if (order_.empty()) return 0;
  const auto before = [&](int32_t a, int32_t b) {
    const double la = logit(static_cast<std::size_t>(a)), lb = logit(static_cast<std::size_t>(b));
    return la != lb ? la > lb : a < b;
  };
  std::size_t keep = order_.size();
  if (params_.top_k > 0 && static_cast<std::size_t>(params_.top_k) < keep) {
    keep = static_cast<std::size_t>(params_.top_k);
    std::partial_sort(order_.begin(), order_.begin() + static_cast<std::ptrdiff_t>(keep), order_.end(), before);
  } else {
    std::sort(order_.begin(), order_.end(), before);
  }
  order_.resize(keep);

  // Softmax of logit / temperature over the candidates, in double.
  probs_.resize(keep);
  const double top = logit(static_cast<std::size_t>(order_[0]));
  double sum = 0;
  for (std::size_t i = 0; i < keep; ++i) {
    probs_[i] = std::exp((logit(static_cast<std::size_t>(order_[i])) - top) / params_.temperature);
    sum += probs_[i];
  }
  // Top-p: the shortest prefix whose probability reaches top_p (at least one token).
  if (params_.top_p < 1.0) {
    double acc = 0;
    std::size_t cut = keep;
    for (std::size_t i = 0; i < keep; ++i) {
      acc += probs_[i] / sum;
      if (acc >= params_.top_p) {
        cut = i + 1;
        break;
      }
    }
    keep = cut;
    sum = 0;
    for (std::size_t i = 0; i < keep; ++i) sum += probs_[i];
  }
  // 53 random bits -> a double in [0, 1).
  const double u = static_cast<double>(rng_() >> 11) * 0x1.0p-53 * sum;
  double acc = 0;
  for (std::size_t i = 0; i < keep; ++i) {
    acc += probs_[i];
    if (u < acc) return order_[i];
  }
  return order_[keep - 1];
}

}  // namespace ttt
