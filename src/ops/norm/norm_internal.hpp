// Shared pieces of rms_norm and layer_norm: the checks of a NormConfig against a sharded
// input, and the Tensix model of the norm kernel.
#pragma once

#include <span>
#include <string_view>

#include "ops/op_common.hpp"

namespace ttt::ops::norm_detail {

enum class NormKind { RMS, LAYER };

// Checks config.kernel_config (none or NormConfig) against the input's memory config as
// ttnn's layernorm validation does (layernorm_device_operation.cpp). ttnn devices only.
void check_norm_program_config(std::string_view op, const TensorSpec& input, const TensorSpec& output,
                               const OpConfig& config, const DeviceSpec& device);

// The device's norm kernel on `rows` rows of `width` values (x row-major, stored values).
// gamma / beta: `width` values or null. Writes fp32 values as the dest register holds them;
// the caller rounds them to the output dtype.
struct TensixNormParams {
  NormKind kind = NormKind::RMS;
  int64_t rows = 0;
  int64_t width = 0;
  float eps = 0;
  ComputeKernelConfig compute{};
};

void tensix_norm(const TensixNormParams& p, const float* x, const float* gamma, const float* beta, float* out,
                 ThreadPool& pool, int threads);

}  // namespace ttt::ops::norm_detail
