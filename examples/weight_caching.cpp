// The seed's "With Weight Caching" example:
//
//   reference = load_huggingface_model("meta-llama/Llama-3-8b")
//   attention = MultiHeadAttentionComplete(spec=AttentionSpec(4096, 32), device="ttnn:n150",
//                                          reference_module=reference.model.layers[0].self_attn)
//
// The reference here is one layer's attention weights under their Hugging Face names
// (random values for a small Llama-shaped layer: hidden 512, 8 heads of 64, 2 KV heads),
// read through a PrefixedWeightSource exactly as a checkpoint's layer 0 would be. The
// module converts them into the formats its op configs name (Q|K|V fused, transposed,
// bfloat8_b tiles on ttnn:n150) through a weight loader backed by a TensorCacheManager:
// the first construction converts and writes cache files; the second, with a new
// manager as a new process would have, maps the files and converts nothing; a changed
// checkpoint with the same shapes misses, because keys cover the content.
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <vector>

#include <fmt/format.h>

#include "ttt/formats.hpp"
#include "ttt/models/generator.hpp"
#include "ttt/modules/attention.hpp"
#include "ttt/tensor_cache.hpp"

namespace {

using namespace ttt;

// Random weights named as a Hugging Face Llama checkpoint names layer 0's attention.
std::shared_ptr<MapWeightSource> random_checkpoint(const AttentionSpec& spec, uint64_t seed) {
  auto w = std::make_shared<MapWeightSource>();
  const int64_t h = spec.hidden_dim;
  const float scale = 1.0f / std::sqrt(static_cast<float>(h));
  auto add = [&](const std::string& name, Shape shape) {
    w->add(name, shape, random_weight(shape, seed, name, scale));
  };
  add("model.layers.0.self_attn.q_proj.weight", Shape{spec.q_size(), h});
  add("model.layers.0.self_attn.k_proj.weight", Shape{spec.kv_size(), h});
  add("model.layers.0.self_attn.v_proj.weight", Shape{spec.kv_size(), h});
  add("model.layers.0.self_attn.o_proj.weight", Shape{h, spec.q_size()});
  return w;
}

struct Built {
  std::unique_ptr<MultiHeadAttention> attention;
  TensorCacheStats stats;
};

// A module whose weights go through a fresh cache manager over `dir`.
Built build(const AttentionSpec& spec, const std::shared_ptr<Device>& device,
            const std::shared_ptr<const WeightSource>& checkpoint, const std::filesystem::path& dir) {
  TensorCacheConfig config;
  config.cache_dir = dir.string();
  config.cache_namespace = "example-llama-layer";
  auto cache = std::make_shared<TensorCacheManager>(device, config);
  auto reference = std::make_shared<PrefixedWeightSource>(checkpoint, "model.layers.0.self_attn.");
  Built b;
  b.attention = std::make_unique<MultiHeadAttention>(spec, device, ModuleHardwareConfig("ttnn:n150"), reference,
                                                     "layers.0.attention", cached_weight_loader(cache));
  b.stats = cache->stats();
  return b;
}

void print_stats(const char* what, const TensorCacheStats& s) {
  fmt::print("{}: {} converted ({} KiB), {} from the cache ({} KiB mapped)\n", what, s.misses, s.bytes_converted / 1024,
             s.hits, s.bytes_mapped / 1024);
}

std::vector<float> decode_step(MultiHeadAttention& attention, const DeviceSpec& device) {
  const int64_t h = attention.spec().hidden_dim;
  std::vector<float> x(static_cast<std::size_t>(h));
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>((i * 13) % 29) / 29.0f - 0.5f;
  attention.compile_decode(DecodeShape{1, 64});
  const std::vector<int32_t> positions{0};
  return to_float(attention.forward_decode(from_float(x, activation_spec("x", Shape{1, 1, h}, device)), positions));
}

}  // namespace

int main() {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / fmt::format("ttt-example-weight-cache-{}", getpid());
  int rc = 1;
  try {
    AttentionSpec spec(512, 8);
    spec.num_kv_heads = 2;
    const auto device = Device::open("ttnn:n150");
    const auto checkpoint = random_checkpoint(spec, 1);

    Built cold = build(spec, device, checkpoint, dir);
    print_stats("first construction", cold.stats);
    Built warm = build(spec, device, checkpoint, dir);
    print_stats("second construction", warm.stats);
    for (const auto& f : list_cache(dir, std::nullopt))
      fmt::print("  {} {} {} {}\n", f.file.filename().string(), f.tensor, to_string(f.dtype), f.shape.str());

    // Mapped or converted, the module computes the same thing.
    const bool same = decode_step(*cold.attention, device->spec()) == decode_step(*warm.attention, device->spec());
    fmt::print("decode step from converted and from cached weights: {}\n", same ? "identical" : "DIFFERENT");

    // Same names and shapes, other values: the keys cover the content, so nothing stale loads.
    Built changed = build(spec, device, random_checkpoint(spec, 2), dir);
    print_stats("changed checkpoint", changed.stats);

    rc = cold.stats.misses == 2 && cold.stats.hits == 0 && warm.stats.hits == 2 && warm.stats.misses == 0 && same &&
                 changed.stats.misses == 2
             ? 0
             : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  return rc;
}
