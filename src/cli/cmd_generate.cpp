#include <cstdio>
#include <fstream>

#include <fmt/format.h>

#include "commands.hpp"
#include "table.hpp"
#include "ttt/error.hpp"
#include "ttt/models/generator.hpp"

namespace ttt::cli {
namespace {

struct GenerateArgs {
  std::string model;
  std::vector<std::string> prompts;
  std::string prompts_file;
  int64_t max_tokens = 64;
  double temperature = 0.0;
  double top_p = 1.0;
  int64_t top_k = 0;
  uint64_t seed = 0;
  std::string device = "cpu";
  std::string hw_config;
  std::string cache_dir;
  bool no_cache = false;
};

int run_generate(const GenerateArgs& a) {
  std::vector<std::string> prompts = a.prompts;
  if (!a.prompts_file.empty()) {
    std::ifstream in(a.prompts_file, std::ios::binary);
    TTT_CHECK(in.good(), Io, "cannot read --prompts-file '{}'", a.prompts_file);
    // One prompt per line; CRLF line ends are accepted and blank lines skipped.
    std::string line;
    int64_t found = 0;
    while (std::getline(in, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.find_first_not_of(" \t") == std::string::npos) continue;
      prompts.push_back(line);
      ++found;
    }
    TTT_CHECK(found > 0, InvalidConfig, "--prompts-file '{}' holds no prompt (one per line, blank lines skipped)",
              a.prompts_file);
  }
  TTT_CHECK(!prompts.empty(), InvalidConfig, "no prompt: pass --prompt TEXT (repeatable) or --prompts-file FILE");

  GeneratorOptions opt;
  opt.model_dir = a.model;
  opt.device = a.device;
  if (!a.hw_config.empty()) opt.hw = ModuleHardwareConfig::from_yaml_file(a.hw_config, a.device);
  if (!a.cache_dir.empty()) opt.cache_dir = a.cache_dir;
  opt.use_weight_cache = !a.no_cache;
  Generator gen(opt);

  GenerationParams params;
  params.max_tokens = a.max_tokens;
  params.sampling.temperature = a.temperature;
  params.sampling.top_p = a.top_p;
  params.sampling.top_k = a.top_k;
  params.sampling.seed = a.seed;

  // One user streams its text as it comes; the prompt is echoed with the first token, so
  // an error while compiling is not glued to it.
  const bool single = prompts.size() == 1;
  bool echoed = false;
  const auto echo_prompt = [&] {
    if (!echoed) fmt::print("{}", prompts[0]);
    echoed = true;
  };
  const auto outputs = gen.generate(prompts, params, [&](int64_t, int32_t, const std::string& piece) {
    if (single) {
      echo_prompt();
      fmt::print("{}", piece);
      std::fflush(stdout);
    }
  });
  if (single) {
    echo_prompt();
    fmt::print("\n");
  } else {
    for (std::size_t u = 0; u < outputs.size(); ++u)
      fmt::print("[{}] {}{}\n", u, prompts[u], gen.tokenizer().decode(outputs[u]));
  }
  const GenerationStats& s = gen.stats();
  fmt::print(stderr,
             "\n---\ndevice {} | users {} | prefill {} tokens {:.1f} tok/s | decode {} tokens {:.1f} tok/s ({:.1f} tok/s/user) "
             "| load {:.3f} s ({}) | peak memory {}\n",
             a.device, prompts.size(), s.prefill_tokens, s.prefill_tok_s(), s.decode_tokens, s.decode_tok_s(),
             s.decode_s > 0 ? static_cast<double>(s.decode_steps) / s.decode_s : 0.0, s.load_s,
             s.warm_cache ? "warm cache" : (a.no_cache ? "no cache" : "cold cache"),
             human_bytes(static_cast<double>(s.peak_rss_bytes)));
  return 0;
}

}  // namespace

void add_generate_command(CLI::App& app, Runner& runner) {
  auto args = std::make_shared<GenerateArgs>();
  auto* cmd = app.add_subcommand("generate", "Generate text with a Hugging Face model directory");
  cmd->add_option("--model", args->model, "Model directory (config.json, *.safetensors, tokenizer)")->required();
  cmd->add_option("--prompt", args->prompts, "Prompt text (repeat for a batch of users)");
  cmd->add_option("--prompts-file", args->prompts_file, "File with one prompt per line");
  cmd->add_option("--max-tokens", args->max_tokens, "Tokens to generate per user")->check(CLI::NonNegativeNumber);
  cmd->add_option("--temperature", args->temperature, "0 = greedy")->check(CLI::NonNegativeNumber);
  cmd->add_option("--top-p", args->top_p, "Nucleus sampling threshold (0, 1]");
  cmd->add_option("--top-k", args->top_k, "Sample from the k most likely tokens (0 = all)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--seed", args->seed, "Sampling seed (user u uses seed + u)");
  cmd->add_option("--device", args->device, fmt::format("{}", fmt::join(Device::known_names(), ", ")));
  cmd->add_option("--hw-config", args->hw_config, "Hardware config overrides (YAML)");
  cmd->add_option("--cache-dir", args->cache_dir, "Weight cache directory");
  cmd->add_flag("--no-cache", args->no_cache, "Convert weights without the on-disk cache");
  cmd->callback([args, &runner] { runner = [args] { return run_generate(*args); }; });
}

}  // namespace ttt::cli
