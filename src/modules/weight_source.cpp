#include "ttt/weight_source.hpp"

#include <cmath>
#include <random>

#include <fmt/format.h>

#include "ttt/error.hpp"
#include "ttt/fields.hpp"

namespace ttt {

void MapWeightSource::add(std::string name, Shape shape, std::vector<float> values) {
  TTT_CHECK(static_cast<int64_t>(values.size()) == shape.volume(), ShapeMismatch,
            "weight '{}': shape {} needs {} values, got {}", name, shape.str(), shape.volume(), values.size());
  const uint64_t h = hash_bytes(values.data(), values.size() * sizeof(float));
  std::string fp = fmt::format("bytes:{:016x}", h);
  entries_[std::move(name)] = Entry{shape, std::move(values), std::move(fp)};
}

const MapWeightSource::Entry& MapWeightSource::find(std::string_view name) const {
  auto it = entries_.find(name);
  if (it == entries_.end()) {
    std::string known;
    for (const auto& [k, v] : entries_) known += (known.empty() ? "" : ", ") + k;
    fail(ErrorKind::ModelFormat, "weight '{}' not found; the source has: {}", name, known.empty() ? "nothing" : known);
  }
  return it->second;
}

bool MapWeightSource::has(std::string_view name) const { return entries_.find(name) != entries_.end(); }
Shape MapWeightSource::shape(std::string_view name) const { return find(name).shape; }
std::vector<float> MapWeightSource::load(std::string_view name) const { return find(name).values; }
std::string MapWeightSource::fingerprint(std::string_view name) const { return find(name).fingerprint; }
std::vector<std::string> MapWeightSource::names() const {
  std::vector<std::string> out;
  for (const auto& [k, v] : entries_) out.push_back(k);
  return out;
}

PrefixedWeightSource::PrefixedWeightSource(std::shared_ptr<const WeightSource> base, std::string prefix)
    : base_(std::move(base)), prefix_(std::move(prefix)) {}
bool PrefixedWeightSource::has(std::string_view name) const { return base_->has(full(name)); }
Shape PrefixedWeightSource::shape(std::string_view name) const { return base_->shape(full(name)); }
std::vector<float> PrefixedWeightSource::load(std::string_view name) const { return base_->load(full(name)); }
std::string PrefixedWeightSource::fingerprint(std::string_view name) const { return base_->fingerprint(full(name)); }
std::vector<std::string> PrefixedWeightSource::names() const {
  std::vector<std::string> out;
  for (const auto& n : base_->names())
    if (n.rfind(prefix_, 0) == 0) out.push_back(n.substr(prefix_.size()));
  return out;
}

std::vector<float> random_weight(const Shape& shape, uint64_t seed, std::string_view name, float scale) {
  std::mt19937_64 rng(seed ^ hash_bytes(name.data(), name.size()));
  std::normal_distribution<float> dist(0.f, scale);
  std::vector<float> v(static_cast<std::size_t>(shape.volume()));
  for (auto& x : v) x = dist(rng);
  return v;
}

}  // namespace ttt
