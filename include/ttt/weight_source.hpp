// Reference weights, as a loaded checkpoint provides them: a named map of host
// tensors. Modules read their weights through this interface with Hugging Face's local
// names ("q_proj.weight", "gate_proj.weight", "weight"), so a checkpoint, a random
// initialiser and a test's hand-made map all plug in the same way.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ttt/shape.hpp"

namespace ttt {

class WeightSource {
 public:
  virtual ~WeightSource() = default;
  virtual bool has(std::string_view name) const = 0;
  virtual Shape shape(std::string_view name) const = 0;
  // The values, row-major fp32 (F16/BF16 sources widen exactly).
  virtual std::vector<float> load(std::string_view name) const = 0;
  // A stable fingerprint of the source tensor for cache keys: its bytes' hash, or its
  // file's identity with offset and size.
  virtual std::string fingerprint(std::string_view name) const = 0;
  // Every name, for messages listing what exists.
  virtual std::vector<std::string> names() const = 0;
  // Where the weights come from (a file), for messages; with a name, where that tensor lives.
  virtual std::string describe() const { return "weights"; }
  virtual std::string describe(std::string_view name) const { (void)name; return describe(); }
};

// Weights held in memory (tests, random initialisation).
class MapWeightSource final : public WeightSource {
 public:
  void add(std::string name, Shape shape, std::vector<float> values);
  bool has(std::string_view name) const override;
  Shape shape(std::string_view name) const override;
  std::vector<float> load(std::string_view name) const override;
  std::string fingerprint(std::string_view name) const override;
  std::vector<std::string> names() const override;

 private:
  struct Entry {
    Shape shape;
    std::vector<float> values;
    std::string fingerprint;
  };
  const Entry& find(std::string_view name) const;
  std::map<std::string, Entry, std::less<>> entries_;
};

// A view of another source under a name prefix: PrefixedWeightSource(src,
// "model.layers.3.self_attn.") makes "q_proj.weight" read "model.layers.3.self_attn.q_proj.weight".
class PrefixedWeightSource final : public WeightSource {
 public:
  PrefixedWeightSource(std::shared_ptr<const WeightSource> base, std::string prefix);
  bool has(std::string_view name) const override;
  Shape shape(std::string_view name) const override;
  std::vector<float> load(std::string_view name) const override;
  std::string fingerprint(std::string_view name) const override;
  std::vector<std::string> names() const override;
  std::string describe() const override { return base_->describe(); }
  std::string describe(std::string_view name) const override { return base_->describe(full(name)); }

 private:
  std::string full(std::string_view name) const { return prefix_ + std::string(name); }
  std::shared_ptr<const WeightSource> base_;
  std::string prefix_;
};

// Random weights of a given shape, deterministic in (seed, name): for benchmarks and
// tests of real model shapes without a checkpoint. Values are N(0, scale^2).
std::vector<float> random_weight(const Shape& shape, uint64_t seed, std::string_view name, float scale);

}  // namespace ttt
