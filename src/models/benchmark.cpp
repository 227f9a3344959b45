#include "ttt/models/benchmark.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <memory>
#include <random>
#include <string_view>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "ttt/cpu_features.hpp"
#include "ttt/error.hpp"
#include "ttt/formats.hpp"
#include "ttt/models/generator.hpp"
#include "ttt/models/model_config.hpp"
#include "ttt/models/random_weights.hpp"
#include "ttt/models/safetensors.hpp"
#include "ttt/modules/transformer.hpp"
#include "ttt/profiler.hpp"
#include "ttt/tensor_cache.hpp"
#include "models/read_bandwidth.hpp"

namespace ttt {
namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// The read probe between decode steps: windows of 256 MiB (eight times a 32 MiB L3), over
// weights of at least four windows' worth.
constexpr std::size_t kProbeWindowBytes = std::size_t{256} << 20;
constexpr std::size_t kProbeMinBytes = 4 * kProbeWindowBytes;

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::random_device rd;
    path = std::filesystem::temp_directory_path() / fmt::format("ttt-bench-{:x}", (uint64_t{rd()} << 32) | rd());
    std::filesystem::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

}  // namespace

BenchResult run_benchmark(const BenchOptions& o) {
  TTT_CHECK(o.model_dir.empty() != o.spec_name.empty(), InvalidConfig,
            "bench: give either --model DIR or --spec NAME (got {})", o.model_dir.empty() ? "neither" : "both");
  TTT_CHECK(o.prompt_len > 0 && o.gen > 0 && o.batch > 0, InvalidConfig,
            "bench: --prompt-len {}, --gen {} and --batch {} must be positive", o.prompt_len, o.gen, o.batch);
  BenchResult r;
  r.device = o.device;
  r.batch = o.batch;
  r.prompt_len = o.prompt_len;
  r.gen = o.gen;

  TransformerSpec spec;
  std::shared_ptr<const WeightSource> weights;
  std::string ns;
  if (!o.model_dir.empty()) {
    spec = load_model_spec(o.model_dir);
    weights = std::make_shared<SafetensorsWeights>(SafetensorsWeights::open(o.model_dir));
    ns = model_cache_namespace(o.model_dir);
  } else {
    spec = builtin_spec(o.spec_name);
    if (o.layers > 0) spec.num_layers = std::min(spec.num_layers, o.layers);
    weights = std::make_shared<RandomWeightSource>(spec, 1);
    ns = fmt::format("random-{}-{}layers", spec.name, spec.num_layers);
  }
  if (o.layers > 0) spec.num_layers = std::min(spec.num_layers, o.layers);
  r.model = fmt::format("{} ({} layers)", spec.name, spec.num_layers);
  TTT_CHECK(o.prompt_len + o.gen <= spec.layer.attention.max_seq_len, InvalidConfig,
            "bench: prompt {} + gen {} exceeds the model's {} positions", o.prompt_len, o.gen,
            spec.layer.attention.max_seq_len);

  auto device = Device::open(o.device);
  ModuleHardwareConfig hw = o.hw;
  if (hw.device.empty()) hw.device = device->name();
  if (o.weights_dtype) hw.weight_cache_dtype = *o.weights_dtype;

  std::optional<TempDir> temp;
  if (!o.cache_dir) temp.emplace();
  TensorCacheConfig cc;
  cc.cache_dir = o.cache_dir ? *o.cache_dir : temp->path.string();
  cc.cache_namespace = ns;

  // Cold: convert every weight and write the cache. Warm: map the cache.
  auto t0 = Clock::now();
  std::unique_ptr<Transformer> model;
  {
    auto cache = std::make_shared<TensorCacheManager>(device, cc);
    model = std::make_unique<Transformer>(spec, device, hw, weights, cached_weight_loader(cache));
  }
  r.cold_load_s = since(t0);
  model.reset();
  // The warm model's weights, mapped from the cache, are what decode reads: the read
  // probe streams over the same pages.
  bench_detail::WeightReadProbe probe;
  t0 = Clock::now();
  {
    auto cache = std::make_shared<TensorCacheManager>(device, cc);
    WeightLoader load = [inner = cached_weight_loader(cache), &probe](const WeightSource& src, const WeightRequest& req,
                                                                      const DeviceSpec& dev) {
      Tensor t = inner(src, req, dev);
      probe.add(t);
      return t;
    };
    model = std::make_unique<Transformer>(spec, device, hw, weights, load);
  }
  r.warm_load_s = since(t0);

  for (const auto& op : model->all_ops(Mode::decode))
    if (op.shape.kind == OpKind::matmul) r.weight_bytes_per_step += static_cast<double>(op.weight_bytes);
  const auto& qkv = model->layer(0).attention().op(Mode::decode, "qkv_matmul").config;
  r.weights = qkv.weights_dtype ? std::string(to_string(*qkv.weights_dtype)) : "-";

  model->compile_decode(DecodeShape{o.batch, o.prompt_len + o.gen});
  model->compile(PrefillShape{1, o.prompt_len});
  std::mt19937 rng(7);
  std::uniform_int_distribution<int32_t> tok(3, static_cast<int32_t>(spec.embedding.vocab_size - 1));

  OpProfiler::enable(o.profile);
  OpProfiler::take();
  std::vector<int32_t> prompt(static_cast<std::size_t>(o.prompt_len));
  t0 = Clock::now();
  for (int64_t u = 0; u < o.batch; ++u) {
    for (auto& t : prompt) t = tok(rng);
    model->forward_prefill(prompt, 1, u);
    if (u == 0) r.ttft_s = since(t0);
  }
  r.prefill_s = since(t0);
  r.prefill_profile_s = OpProfiler::take();
  r.prefill_tok_s = static_cast<double>(o.prompt_len * o.batch) / r.prefill_s;
  const double prefill_flops = 2.0 * static_cast<double>(spec.parameter_count() - spec.embedding.vocab_size * spec.embedding.dim) *
                               static_cast<double>(o.prompt_len * o.batch);
  r.prefill_flops = prefill_flops / r.prefill_s;
  const bool fp32_weights = r.weights == "FLOAT32";
  if (device->spec().is_ttnn()) {
    r.peak_flops = device->spec().peak_flops(fp32_weights ? DataType::FLOAT32 : DataType::BFLOAT16, MathFidelity::HiFi4);
    r.peak_source = "nominal";
  } else {
    // The host multiplies bfloat16 against every weight format but FLOAT32 (docs/numerics.md).
    const MachinePeak peak = measure_compute_peak(!fp32_weights);
    r.peak_flops = peak.flops;
    r.peak_source = "measured " + peak.instruction;
  }
  r.prefill_flops_fraction = r.prefill_flops / r.peak_flops;

  std::vector<int32_t> ids(static_cast<std::size_t>(o.batch)), positions(static_cast<std::size_t>(o.batch));
  for (auto& p : positions) p = static_cast<int32_t>(o.prompt_len);
  for (auto& t : ids) t = tok(rng);
  // One warm-up step (scratch buffers reach their size), then the timed steps.
  model->forward_decode(ids, positions);
  for (auto& p : positions) ++p;
  r.peak_rss_bytes = peak_rss_bytes();
  OpProfiler::take();
  // Memory bandwidth on a shared machine changes from second to second: a read of the
  // weights runs before every step (untimed); each step compares with the read before it,
  // and the mean of the steps with their median. A model whose weights stay in the caches
  // falls back to a buffer of its own.
  const int64_t steps = o.gen - 1;
  const bool probe_weights = !device->spec().is_ttnn() && probe.bytes() >= kProbeMinBytes;
  std::vector<double> probes, step_s;
  probes.reserve(static_cast<std::size_t>(steps));
  step_s.reserve(static_cast<std::size_t>(steps));
  if (!probe_weights) probes.push_back(measure_read_bandwidth_gbps());
  int64_t dev_allocs = 0, heap_allocs = 0;
  for (int64_t s = 0; s < steps; ++s) {
    if (probe_weights) probes.push_back(probe.measure(ThreadPool::global(), kProbeWindowBytes));
    const int64_t dev0 = device->allocator().allocation_count();
    const int64_t heap0 = o.heap_allocations ? o.heap_allocations() : 0;
    t0 = Clock::now();
    const Tensor& logits = model->forward_decode(ids, positions);
    step_s.push_back(since(t0));
    r.decode_s += step_s.back();
    (void)logits;
    dev_allocs += device->allocator().allocation_count() - dev0;
    if (o.heap_allocations) heap_allocs += o.heap_allocations() - heap0;
    for (auto& p : positions) ++p;
  }
  r.decode_steps = steps;
  if (steps > 0 && !probes.empty()) {
    const auto f = bench_detail::step_bandwidth_fractions(step_s, probes, r.weight_bytes_per_step);
    r.bandwidth_fraction = f.median;
    r.bandwidth_fraction_min = f.min;
    r.bandwidth_fraction_max = f.max;
  }
  if (!probes.empty()) {
    std::sort(probes.begin(), probes.end());
    r.read_bandwidth_gbps = probes[probes.size() / 2];
    r.read_bandwidth_min_gbps = probes.front();
    r.read_bandwidth_max_gbps = probes.back();
    r.read_probe = probe_weights ? fmt::format("median of {} reads of the weights between decode steps", probes.size())
                                 : device->spec().is_ttnn() ? "a buffer of its own (an emulated device)"
                                                            : "a buffer of its own (the weights stay in the caches)";
  }
  if (steps > 0) {
    r.device_allocs_per_step = static_cast<double>(dev_allocs) / steps;
    if (o.heap_allocations) r.heap_allocs_per_step = static_cast<double>(heap_allocs) / steps;
    r.decode_tok_s_user = steps / r.decode_s;
    r.decode_tok_s = r.decode_tok_s_user * static_cast<double>(o.batch);
    r.achieved_gbps = r.weight_bytes_per_step * steps / r.decode_s / 1e9;
    r.overall_bandwidth_fraction = r.achieved_gbps / r.read_bandwidth_gbps;
  }
  r.profile_s = OpProfiler::take();
  OpProfiler::enable(false);
  return r;
}

std::string BenchResult::json() const {
  nlohmann::json j;
  j["model"] = model;
  j["device"] = device;
  j["weights"] = weights;
  j["batch"] = batch;
  j["prompt_len"] = prompt_len;
  j["gen"] = gen;
  j["cold_load_s"] = cold_load_s;
  j["warm_load_s"] = warm_load_s;
  j["warm_vs_cold_speedup"] = warm_load_s > 0 ? cold_load_s / warm_load_s : 0;
  j["ttft_s"] = ttft_s;
  j["prefill_tok_s"] = prefill_tok_s;
  j["prefill_flops"] = prefill_flops;
  j["peak_flops"] = peak_flops;
  j["peak_source"] = peak_source;
  j["prefill_fraction_of_peak_flops"] = prefill_flops_fraction;
  j["decode_tok_s"] = decode_tok_s;
  j["decode_tok_s_user"] = decode_tok_s_user;
  j["weight_bytes_per_step"] = weight_bytes_per_step;
  j["achieved_gbps"] = achieved_gbps;
  j["read_bandwidth_gbps"] = read_bandwidth_gbps;
  j["read_bandwidth_min_gbps"] = read_bandwidth_min_gbps;
  j["read_bandwidth_max_gbps"] = read_bandwidth_max_gbps;
  j["read_probe"] = read_probe;
  j["bandwidth_fraction"] = bandwidth_fraction;
  j["bandwidth_fraction_min"] = bandwidth_fraction_min;
  j["bandwidth_fraction_max"] = bandwidth_fraction_max;
  j["overall_bandwidth_fraction"] = overall_bandwidth_fraction;
  j["peak_rss_bytes"] = peak_rss_bytes;
  j["device_allocs_per_step"] = device_allocs_per_step;
  j["heap_allocs_per_step"] = heap_allocs_per_step;
  if (!profile_s.empty()) j["decode_profile_s"] = profile_s;
  if (!prefill_profile_s.empty()) j["prefill_profile_s"] = prefill_profile_s;
  return j.dump(2);
}

std::string BenchResult::str() const {
  std::string s = fmt::format("model {} | device {} | weights {} | batch {} | prompt {} | gen {}\n", model, device,
                              weights, batch, prompt_len, gen);
  s += fmt::format("load: cold {:.3f} s, warm {:.3f} s ({:.1f}x faster)\n", cold_load_s, warm_load_s,
                   warm_load_s > 0 ? cold_load_s / warm_load_s : 0.0);
  s += fmt::format("prefill: {:.1f} tok/s, time to first token {:.1f} ms, {:.1f} GFLOP/s = {:.1f}% of the {:.0f} GFLOP/s "
                   "peak ({})\n",
                   prefill_tok_s, ttft_s * 1e3, prefill_flops / 1e9, prefill_flops_fraction * 100, peak_flops / 1e9,
                   peak_source);
  s += fmt::format("decode: {:.2f} tok/s ({:.2f} tok/s/user), {:.1f} MB of weights per step, {:.1f} GB/s = {:.1f}% of the "
                   "{:.1f} GB/s measured read bandwidth\n",
                   decode_tok_s, decode_tok_s_user, weight_bytes_per_step / 1e6, achieved_gbps,
                   overall_bandwidth_fraction * 100, read_bandwidth_gbps);
  s += fmt::format("decode step by step: median {:.1f}% of the read bandwidth measured just before the step ({:.1f}% to "
                   "{:.1f}% over {} steps)\n",
                   bandwidth_fraction * 100, bandwidth_fraction_min * 100, bandwidth_fraction_max * 100, decode_steps);
  if (!read_probe.empty())
    s += fmt::format("read bandwidth: {} ({:.1f} to {:.1f} GB/s)\n", read_probe, read_bandwidth_min_gbps,
                     read_bandwidth_max_gbps);
  s += fmt::format("allocations per decode step: device {:.1f}, heap {}\n", device_allocs_per_step,
                   heap_allocs_per_step < 0 ? std::string("not counted") : fmt::format("{:.1f}", heap_allocs_per_step));
  s += fmt::format("peak memory {:.1f} MiB\n", static_cast<double>(peak_rss_bytes) / (1 << 20));
  auto table = [&](const char* title, const std::map<std::string, double>& prof, double total, int64_t steps_) {
    if (prof.empty()) return;
    std::vector<std::pair<double, std::string>> rows;
    for (const auto& [k, v] : prof) rows.emplace_back(v, k);
    std::sort(rows.rbegin(), rows.rend());
    s += fmt::format("{} (per step, slowest first):\n", title);
    for (const auto& [v, k] : rows)
      s += fmt::format("  {:<48} {:9.1f} us  {:5.1f}%\n", k, v / std::max<int64_t>(1, steps_) * 1e6, 100 * v / total);
  };
  table("decode profile by op, all layers", profile_by_op(profile_s), decode_s, decode_steps);
  table("decode profile", profile_s, decode_s, decode_steps);
  table("prefill profile by op, all layers", profile_by_op(prefill_profile_s), prefill_s, batch);
  table("prefill profile", prefill_profile_s, prefill_s, batch);
  return s;
}

std::map<std::string, double> profile_by_op(const std::map<std::string, double>& profile) {
  std::map<std::string, double> out;
  for (const auto& [path, seconds] : profile) {
    std::string key = path;
    constexpr std::string_view kLayers = "layers.";
    if (key.rfind(kLayers, 0) == 0) {
      const std::size_t end = key.find('.', kLayers.size());
      const bool index = end != std::string::npos && end > kLayers.size() &&
                         key.find_first_not_of("0123456789", kLayers.size()) == end;
      if (index) key = std::string(kLayers) + "*" + key.substr(end);
    }
    out[key] += seconds;
  }
  return out;
}

}  // namespace ttt
