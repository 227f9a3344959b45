#include "ttt/models/model_config.hpp"

#include <algorithm>
#include <cmath>

#include "models/json_util.hpp"
#include "ttt/error.hpp"

namespace ttt {
namespace {

using model_detail::Json;
using model_detail::JsonObject;

struct Architecture {
  std::string_view name;        // config.json "architectures" entry
  std::string_view model_type;  // config.json "model_type"
  bool qkv_bias;                // Qwen2 always has q/k/v biases, whatever the config says
  double default_rms_eps;       // transformers' default when the key is absent
  int64_t default_max_positions;
};

// Defaults from transformers' LlamaConfig, MistralConfig and Qwen2Config.
constexpr Architecture kArchitectures[] = {
    {"LlamaForCausalLM", "llama", false, 1e-6, 2048},
    {"MistralForCausalLM", "mistral", false, 1e-6, 4096 * 32},
    {"Qwen2ForCausalLM", "qwen2", true, 1e-6, 32768},
};

std::string architecture_list() {
  std::string out;
  for (const auto& a : kArchitectures) out += (out.empty() ? "" : ", ") + std::string(a.name);
  return out;
}

const Architecture& find_architecture(const JsonObject& cfg) {
  if (const Json* archs = cfg.find("architectures")) {
    if (!archs->is_array() || archs->empty()) cfg.wrong_type("architectures", *archs, "a non-empty list of strings");
    std::string found;
    for (const Json& a : *archs) {
      if (!a.is_string()) cfg.wrong_type("architectures", *archs, "a non-empty list of strings");
      const std::string name = a.get<std::string>();
      for (const auto& known : kArchitectures) {
        if (known.name == name) return known;
      }
      found += (found.empty() ? "" : ", ") + name;
    }
    fail(ErrorKind::ModelFormat, "{}: field 'architectures' names {}, which is not supported; supported: {}",
         cfg.file().string(), found, architecture_list());
  }
  // Some exported configs carry only model_type.
  if (auto type = cfg.opt_string("model_type")) {
    for (const auto& known : kArchitectures) {
      if (known.model_type == *type) return known;
    }
    fail(ErrorKind::ModelFormat, "{}: field 'model_type' is '{}', which is not supported; supported architectures: {}",
         cfg.file().string(), *type, architecture_list());
  }
  fail(ErrorKind::ModelFormat, "{}: missing field 'architectures' (supported: {})", cfg.file().string(),
       architecture_list());
}

int64_t positive_int(const JsonObject& cfg, std::string_view key) {
  const int64_t v = cfg.get_int(key);
  if (v <= 0) cfg.wrong_type(key, cfg.require(key), "a positive integer");
  return v;
}

double positive_number(const JsonObject& cfg, std::string_view key, double fallback) {
  const double v = cfg.opt_number(key).value_or(fallback);
  if (!(v > 0) || !std::isfinite(v)) cfg.wrong_type(key, cfg.require(key), "a positive number");
  return v;
}

// bos_token_id / eos_token_id: an integer, a list of integers, or null.
std::vector<int64_t> token_ids(const JsonObject& cfg, std::string_view key) {
  const Json* v = cfg.find(key);
  if (!v) return {};
  if (v->is_number_integer()) return {cfg.get_int(key)};
  if (!v->is_array()) cfg.wrong_type(key, *v, "an integer or a list of integers");
  std::vector<int64_t> out;
  for (const Json& e : *v) {
    if (!e.is_number_integer()) cfg.wrong_type(key, *v, "an integer or a list of integers");
    out.push_back(e.get<int64_t>());
  }
  return out;
}

RopeScaling parse_rope_scaling(const JsonObject& cfg) {
  RopeScaling out;
  const Json* v = cfg.find("rope_scaling");
  if (!v) return out;
  const JsonObject rs(*v, cfg.file(), "rope_scaling.");
  // Newer configs spell it rope_type, older ones type.
  std::string key = rs.has("rope_type") ? "rope_type" : "type";
  const std::string type = rs.get_string(key);
  if (type == "default") return out;
  if (type == "linear") {
    out.type = RopeScalingType::linear;
    out.factor = rs.get_number("factor");
  } else if (type == "llama3") {
    out.type = RopeScalingType::llama3;
    out.factor = rs.get_number("factor");
    out.low_freq_factor = rs.get_number("low_freq_factor");
    out.high_freq_factor = rs.get_number("high_freq_factor");
    out.original_max_position_embeddings = rs.get_int("original_max_position_embeddings");
  } else {
    fail(ErrorKind::Unsupported, "{}: field 'rope_scaling.{}' is '{}'; supported: default, linear, llama3",
         cfg.file().string(), key, type);
  }
  if (!(out.factor > 0)) rs.wrong_type("factor", rs.require("factor"), "a positive number");
  return out;
}

MlpActivation parse_activation(const JsonObject& cfg) {
  const std::string act = cfg.opt_string("hidden_act").value_or("silu");
  if (act == "silu" || act == "swish") return MlpActivation::silu;
  if (act == "gelu") return MlpActivation::gelu;
  if (act == "relu") return MlpActivation::relu;
  fail(ErrorKind::Unsupported, "{}: field 'hidden_act' is '{}'; supported: silu, gelu, relu", cfg.file().string(),
       act);
}

}  // namespace

std::vector<std::string> supported_architectures() {
  std::vector<std::string> out;
  for (const auto& a : kArchitectures) out.emplace_back(a.name);
  return out;
}

ModelConfig parse_model_config(std::string_view json_text, const std::filesystem::path& file,
                               std::string_view model_name) {
  const Json root = model_detail::parse_json(json_text, file);
  const JsonObject cfg(root, file);
  const Architecture& arch = find_architecture(cfg);

  ModelConfig mc;
  mc.file = file;
  mc.model_type = cfg.opt_string("model_type").value_or(std::string(arch.model_type));
  mc.torch_dtype = cfg.opt_string("torch_dtype").value_or("");
  TransformerSpec& s = mc.spec;
  s.name = std::string(model_name);
  s.architecture = std::string(arch.name);

  const int64_t hidden = positive_int(cfg, "hidden_size");
  const int64_t heads = positive_int(cfg, "num_attention_heads");
  const int64_t vocab = positive_int(cfg, "vocab_size");
  s.num_layers = positive_int(cfg, "num_hidden_layers");
  s.embedding = {vocab, hidden};

  AttentionSpec& a = s.layer.attention;
  a = AttentionSpec(hidden, heads);
  a.num_kv_heads = cfg.has("num_key_value_heads") ? positive_int(cfg, "num_key_value_heads") : heads;
  a.head_dim = cfg.has("head_dim") ? positive_int(cfg, "head_dim") : 0;
  if (a.head_dim == 0 && hidden % heads != 0) {
    fail(ErrorKind::ModelFormat, "{}: field 'hidden_size' {} is not divisible by 'num_attention_heads' {} and no "
         "'head_dim' is given", file.string(), hidden, heads);
  }
  if (a.head_dim == 0) a.head_dim = hidden / heads;
  a.max_seq_len = cfg.has("max_position_embeddings") ? positive_int(cfg, "max_position_embeddings")
                                                      : arch.default_max_positions;
  a.rope_theta = positive_number(cfg, "rope_theta", 10000.0);
  a.rope_scaling = parse_rope_scaling(cfg);
  const bool attention_bias = cfg.opt_bool("attention_bias").value_or(false);
  a.qkv_bias = arch.qkv_bias || attention_bias;
  mc.o_proj_bias = !arch.qkv_bias && attention_bias;

  // Sliding-window attention equals full causal attention while the sequence fits in
  // the window, so a window shorter than the context becomes the context limit.
  const bool window_on = arch.model_type == "qwen2" ? cfg.opt_bool("use_sliding_window").value_or(false) : true;
  if (window_on && cfg.has("sliding_window")) {
    mc.sliding_window = positive_int(cfg, "sliding_window");
    a.max_seq_len = std::min(a.max_seq_len, mc.sliding_window);
  }

  s.layer.mlp = {hidden, positive_int(cfg, "intermediate_size"), parse_activation(cfg), true,
                 cfg.opt_bool("mlp_bias").value_or(false)};
  const double eps = positive_number(cfg, "rms_norm_eps", arch.default_rms_eps);
  s.layer.attention_norm = {hidden, eps};
  s.layer.mlp_norm = {hidden, eps};
  s.final_norm = {hidden, eps};
  s.lm_head = {hidden, vocab, cfg.opt_bool("tie_word_embeddings").value_or(false)};

  const auto bos = token_ids(cfg, "bos_token_id");
  mc.eos_token_ids = token_ids(cfg, "eos_token_id");
  s.bos_token_id = bos.empty() ? -1 : bos.front();
  s.eos_token_id = mc.eos_token_ids.empty() ? -1 : mc.eos_token_ids.front();

  try {
    s.validate();
  } catch (const Error& e) {
    fail(ErrorKind::ModelFormat, "{}: the model it describes is not valid: {}", file.string(), e.detail());
  }
  return mc;
}

ModelConfig load_model_config(const std::filesystem::path& model_dir) {
  const auto file = model_dir / "config.json";
  auto name = model_dir.filename().empty() ? model_dir.parent_path().filename() : model_dir.filename();
  return parse_model_config(model_detail::read_file(file), file, name.string());
}

TransformerSpec load_model_spec(const std::filesystem::path& model_dir) { return load_model_config(model_dir).spec; }

}  // namespace ttt
