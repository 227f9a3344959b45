#include <fmt/format.h>

#include "commands.hpp"
#include "heap_counter.hpp"
#include "ttt/models/benchmark.hpp"

namespace ttt::cli {
namespace {

struct BenchArgs {
  std::string model, spec, device = "cpu", weights_dtype, hw_config, cache_dir;
  int64_t prompt_len = 128, gen = 32, batch = 1, layers = 0;
  bool json = false, profile = false;
};

int run_bench(const BenchArgs& a) {
  BenchOptions o;
  o.model_dir = a.model;
  o.spec_name = a.spec;
  o.device = a.device;
  o.prompt_len = a.prompt_len;
  o.gen = a.gen;
  o.batch = a.batch;
  o.layers = a.layers;
  o.profile = a.profile;
  if (!a.weights_dtype.empty()) o.weights_dtype = parse_enum<DataType>(a.weights_dtype);
  if (!a.hw_config.empty()) o.hw = ModuleHardwareConfig::from_yaml_file(a.hw_config, a.device);
  if (!a.cache_dir.empty()) o.cache_dir = a.cache_dir;
  if (heap_allocations() >= 0) o.heap_allocations = heap_allocations;
  const BenchResult r = run_benchmark(o);
  fmt::print("{}\n", a.json ? r.json() : r.str());
  return 0;
}

}  // namespace

void add_bench_command(CLI::App& app, Runner& runner) {
  auto a = std::make_shared<BenchArgs>();
  auto* cmd = app.add_subcommand("bench", "Measure load, prefill and decode speed");
  cmd->add_option("--model", a->model, "Model directory");
  cmd->add_option("--spec", a->spec, "Builtin shape with random weights: llama-3.2-1b, llama-3.1-8b, ...");
  cmd->add_option("--layers", a->layers, "Keep only the first N layers (0: all)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--device", a->device, "Device");
  cmd->add_option("--prompt-len", a->prompt_len, "Prompt tokens per user")->check(CLI::PositiveNumber);
  cmd->add_option("--gen", a->gen, "Tokens generated per user")->check(CLI::PositiveNumber);
  cmd->add_option("--batch", a->batch, "Users decoded together")->check(CLI::PositiveNumber);
  cmd->add_option("--weights-dtype", a->weights_dtype, "Matmul weight format: BFLOAT16, BFLOAT8_B, BFLOAT4_B, FLOAT32");
  cmd->add_option("--hw-config", a->hw_config, "Hardware config overrides (YAML)");
  cmd->add_option("--cache-dir", a->cache_dir, "Weight cache directory (default: a fresh temporary one)");
  cmd->add_flag("--json", a->json, "Print JSON");
  cmd->add_flag("--profile", a->profile, "Time every op");
  cmd->callback([a, &runner] { runner = [a] { return run_bench(*a); }; });
}

}  // namespace ttt::cli
