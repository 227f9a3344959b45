// Pieces of the matmul op shared between its files. Internal to src/ops/matmul.
#pragma once

#include <cstdint>

#include "ops/matmul/matmul.hpp"
#include "ops/matmul/matmul_kernels.hpp"

namespace ttt::ops::matmul_detail {

inline constexpr const char* kOp = "matmul";

// Scratch slots (ops::scratch) the op uses. The first group lives on the calling thread
// for the whole run; kSlotThread is each worker's own buffer.
inline constexpr int kSlotXStage = 0;   // load_float of x
inline constexpr int kSlotOut = 1;      // output staging
inline constexpr int kSlotXPad = 2;     // x rows padded to whole K tiles
inline constexpr int kSlotBias = 3;     // bias values
inline constexpr int kSlotPackedA = 4;  // GEMM: packed x / ttnn: source-register x parts
inline constexpr int kSlotThread = 5;   // per thread: GEMV rows, GEMM panels, ttnn weight parts
inline constexpr int kSlotThread2 = 6;  // per thread: second buffer (ttnn; host GEMV x pairs of panels)

// Rows up to which the host runs the streaming GEMV rather than the blocked GEMM
// (CpuKernelConfig::block_m overrides).
inline constexpr int64_t kDefaultGemvRows = 16;
inline constexpr int64_t kDefaultGemvRowsBf16 = 8;  // when the GEMM would multiply in bfloat16
inline constexpr int64_t kDefaultBlockN = 256;  // GEMM panel block: columns
inline constexpr int64_t kDefaultBlockK = 256;  // GEMM panel block: depth

WeightView weight_view(const Tensor& w);

// Whether the host multiplies in bfloat16: against bfloat16 and block-float weights an
// fp32 x is rounded to bfloat16 (nearest even) when it is staged, so that every operand
// value is exact in bfloat16 and the products are exact; fp32 weights keep an fp32 x.
bool host_bf16_math(DataType w);

// The host paths (matmul_cpu.cpp) and the Tensix model (matmul_tensix.cpp). `y` holds
// rows x n fp32 values (the output staging); bias is n values or null.
struct RunInputs {
  const MatmulDims* dims = nullptr;
  const float* x = nullptr;  // rows x kpad, zero padded
  int64_t kpad = 0;
  const Tensor* x_tensor = nullptr;
  WeightView w;
  const float* bias = nullptr;
  UnaryActivation activation = UnaryActivation::NONE;
  float* y = nullptr;
};

void run_host(const RunInputs& in, const OpConfig& config, ExecContext& ctx);
void run_tensix(const RunInputs& in, const OpConfig& config, ExecContext& ctx);  // matmul_tensix.cpp

// Checks of a ttnn program config against the shapes (matmul_program_config.cpp).
void check_program_config(const MatmulArgs& args, const OpConfig& config, const DeviceSpec& device);

// Runs c = a @ b with oneDNN (FLOAT32 x FLOAT32 or BFLOAT16 x BFLOAT16 -> FLOAT32, all
// row-major). Returns false when the library is built without oneDNN.
struct DnnlGemm {
  int64_t m = 0, k = 0, n = 0;
  bool bf16 = false;
  const void* a = nullptr;
  int64_t lda = 0;
  const void* b = nullptr;
  int64_t ldb = 0;
  float* c = nullptr;
  int64_t ldc = 0;
  int threads = 0;
};
bool dnnl_gemm(const DnnlGemm& g);
bool dnnl_available();

}  // namespace ttt::ops::matmul_detail
