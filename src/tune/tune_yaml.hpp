// The tuner's output: the start configuration with the winners as YAML overrides. The
// tuner applies every candidate through this same text, so what it measured is what
// the file loads to.
#pragma once

#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "ttt/hardware_config.hpp"
#include "ttt/tune.hpp"

namespace ttt::tune_detail {

struct Winner {
  std::string key;  // "layers.*.mlp.ff1_matmul" (no mode)
  Mode mode = Mode::decode;
  OpConfig start;   // the op's config in `mode` under the start configuration
  OpConfig config;  // its winner
  // A KV cache's dtype, like any op's weights_dtype, is one for both modes (one cache
  // is filled by prefill and read by decode).
  bool cache = false;
};

// The override key of an op path: a layer's ops stand for every layer.
std::string override_key(const std::string& path);

// The hardware-config file: the start's settings and overrides, then per winner the
// fields that differ from its start config under "<mode>.<key>" (weights_dtype, and a KV
// cache's dtype, under both modes' keys: one copy of the weights or cache serves both).
std::string render_yaml(const ModuleHardwareConfig& start, const std::vector<Winner>& winners,
                        const std::vector<std::string>& comment);

// Loads a rendered file as `--hw-config` would, keeping the start's code overrides.
ModuleHardwareConfig load_rendered(const std::string& text, const ModuleHardwareConfig& start);

}  // namespace ttt::tune_detail
