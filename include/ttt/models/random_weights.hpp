// Random weights of a TransformerSpec's shapes, named as a Hugging Face checkpoint
// names them: for benchmarks and tests of real model shapes without a checkpoint.
// Values are deterministic in (seed, name), generated on demand (nothing is held).
#pragma once

#include <cstdint>
#include <map>

#include "ttt/modules/specs.hpp"
#include "ttt/weight_source.hpp"

namespace ttt {

class RandomWeightSource final : public WeightSource {
 public:
  RandomWeightSource(TransformerSpec spec, uint64_t seed = 1);
  bool has(std::string_view name) const override;
  Shape shape(std::string_view name) const override;
  std::vector<float> load(std::string_view name) const override;
  std::string fingerprint(std::string_view name) const override;
  std::vector<std::string> names() const override;
  std::string describe() const override;

 private:
  struct Entry {
    Shape shape;
    float scale = 0;  // uniform in [-scale, scale] (norm weights: around 1)
    bool norm = false;
  };
  const Entry& find(std::string_view name) const;
  TransformerSpec spec_;
  uint64_t seed_;
  std::map<std::string, Entry, std::less<>> entries_;
};

}  // namespace ttt
