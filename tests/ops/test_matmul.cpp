// The matmul op: host paths (GEMV, GEMM, oneDNN) against a double reference on every
// weight format and ISA level, the Tensix model's fidelity, accumulation and narrowing,
// and the cost (validation: test_matmul_validate.cpp).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "op_test_util.hpp"
#include "ops/matmul/matmul.hpp"
#include "ops/matmul/matmul_internal.hpp"
#include "ttt/cpu_features.hpp"
#include "ttt/thread_pool.hpp"

namespace ttt::test {
namespace {

using ops::MatmulArgs;
using ops::MatmulOp;

std::shared_ptr<Device> open_device(const char* name) {
  static std::shared_ptr<Device> cpu = Device::open("cpu");
  static std::shared_ptr<Device> n150 = Device::open("ttnn:n150");
  return std::string(name) == "cpu" ? cpu : n150;
}

// Restores the ISA limit when a test leaves.
struct IsaGuard {
  ~IsaGuard() { set_isa_limit(IsaLevel::AVX512_BF16); }
};

struct Problem {
  Shape x_shape;
  int64_t n = 0;
  DataType x_dtype = DataType::FLOAT32;
  Layout x_layout = Layout::ROW_MAJOR;
  DataType w_dtype = DataType::FLOAT32;
  Layout w_layout = Layout::ROW_MAJOR;
  bool bias = false;
  UnaryActivation act = UnaryActivation::NONE;
  uint64_t seed = 1;
};

struct Operands {
  MatmulArgs args;
  Tensor x, w, b;
  std::vector<double> xq, wq, bq;  // the values the op sees (after quantization)
  std::vector<double> xh;          // the x values the host multiplies: xq, rounded to bfloat16
                                   // against non-fp32 weights (docs/numerics.md)
  std::vector<float> xf, wf;       // the values before quantization
  int64_t rows = 0, k = 0, n = 0;
};

Operands make_operands(const Problem& p) {
  Operands o;
  o.k = p.x_shape[-1];
  o.n = p.n;
  o.rows = p.x_shape.volume() / o.k;
  o.xf = random_values(static_cast<std::size_t>(p.x_shape.volume()), p.seed, -1.f, 1.f);
  o.wf = random_values(static_cast<std::size_t>(o.k * o.n), p.seed + 1, -0.5f, 0.5f);
  const Shape ws{o.k, o.n};
  o.x = make_tensor(o.xf, p.x_shape, p.x_dtype, p.x_layout, "x");
  o.w = make_tensor(o.wf, ws, p.w_dtype, p.w_layout, "w");
  o.xq = quantized(o.xf, p.x_shape, p.x_dtype, p.x_layout);
  o.wq = quantized(o.wf, ws, p.w_dtype, p.w_layout);
  o.xh = o.xq;
  if (p.w_dtype != DataType::FLOAT32) {
    for (double& v : o.xh) v = bfloat16_to_float(float_to_bfloat16(static_cast<float>(v)));
  }
  o.args.x = o.x.spec();
  o.args.weight = o.w.spec();
  o.args.activation = p.act;
  if (p.bias) {
    const auto bf = random_values(static_cast<std::size_t>(o.n), p.seed + 2, -0.3f, 0.3f);
    o.b = make_tensor(bf, Shape{o.n}, DataType::FLOAT32, Layout::ROW_MAJOR, "b");
    o.bq.assign(bf.begin(), bf.end());
    o.args.bias = o.b.spec();
  }
  return o;
}

double act_ref(UnaryActivation a, double v) {
  switch (a) {
    case UnaryActivation::SILU: return v / (1.0 + std::exp(-v));
    case UnaryActivation::GELU: return 0.5 * v * (1.0 + std::erf(v / std::sqrt(2.0)));
    case UnaryActivation::RELU: return v > 0 ? v : 0.0;
    case UnaryActivation::NONE: break;
  }
  return v;
}

// Double reference on the given operand values; `scale` gets sum_k |x w| per output (the
// size fp32 rounding errors are measured against).
std::vector<double> reference(const Operands& o, const std::vector<double>& xq, const std::vector<double>& wq,
                              UnaryActivation act, std::vector<double>* scale = nullptr) {
  std::vector<double> y(static_cast<std::size_t>(o.rows * o.n));
  if (scale) scale->assign(y.size(), 0.0);
  std::vector<double> acc(static_cast<std::size_t>(o.n)), mag(static_cast<std::size_t>(o.n));
  for (int64_t r = 0; r < o.rows; ++r) {
    std::fill(acc.begin(), acc.end(), 0.0);
    std::fill(mag.begin(), mag.end(), 0.0);
    for (int64_t k = 0; k < o.k; ++k) {
      const double xv = xq[r * o.k + k];
      const double* wr = wq.data() + k * o.n;
      for (int64_t j = 0; j < o.n; ++j) {
        acc[j] += xv * wr[j];
        mag[j] += std::abs(xv * wr[j]);
      }
    }
    for (int64_t j = 0; j < o.n; ++j) {
      const double v = acc[j] + (o.bq.empty() ? 0.0 : o.bq[j]);
      y[r * o.n + j] = act_ref(act, v);
      if (scale) (*scale)[r * o.n + j] = mag[j] + 1.0;
    }
  }
  return y;
}

struct RunOptions {
  const char* device = "cpu";
  DataType out_dtype = DataType::FLOAT32;
  Layout out_layout = Layout::ROW_MAJOR;
  ProgramConfig kernel_config{};
  ComputeKernelConfig compute{};
  int threads = 0;
};

std::vector<float> run(const Operands& o, const RunOptions& opt = {}) {
  auto dev = open_device(opt.device);
  OpConfig cfg;
  cfg.op_name = "test_matmul";
  cfg.dtype = opt.out_dtype;
  cfg.layout = opt.out_layout;
  cfg.kernel_config = opt.kernel_config;
  cfg.compute_kernel_config = opt.compute;
  MatmulOp::validate(o.args, cfg, dev->spec());
  Tensor out = Tensor::empty(MatmulOp::output_spec(o.args, cfg));
  ops::ExecContext ctx{*dev, ThreadPool::global(), opt.threads};
  MatmulOp::run(o.args, o.x, o.w, o.args.bias ? &o.b : nullptr, out, cfg, ctx);
  return to_float(out);
}

// max over outputs of |got - ref| / scale.
double max_rel_error(const std::vector<float>& got, const std::vector<double>& ref, const std::vector<double>& scale) {
  double m = 0;
  for (std::size_t i = 0; i < got.size(); ++i) m = std::max(m, std::abs(got[i] - ref[i]) / scale[i]);
  return m;
}

const std::vector<std::pair<DataType, Layout>>& weight_formats() {
  static const std::vector<std::pair<DataType, Layout>> f = {
      {DataType::FLOAT32, Layout::ROW_MAJOR},  {DataType::FLOAT32, Layout::TILE},  {DataType::BFLOAT16, Layout::ROW_MAJOR},
      {DataType::BFLOAT16, Layout::TILE},      {DataType::BFLOAT8_B, Layout::TILE}, {DataType::BFLOAT4_B, Layout::TILE}};
  return f;
}

std::string describe(const Problem& p) {
  return fmt::format("x {} {} {}, w {} {}, n {}, bias {}, act {}", p.x_shape.str(), to_string(p.x_dtype),
                     to_string(p.x_layout), to_string(p.w_dtype), to_string(p.w_layout), p.n, p.bias,
                     to_string(p.act));
}

// ---------------------------------------------------------------------------------------
// cpu
// ---------------------------------------------------------------------------------------

TEST(MatmulHost, MatchesDoubleReferenceOverShapesAndFormats) {
  const std::vector<int64_t> ms{1, 5, 32, 77}, ks{64, 100, 2048}, ns{32, 172, 512};
  const UnaryActivation acts[] = {UnaryActivation::NONE, UnaryActivation::SILU, UnaryActivation::GELU,
                                  UnaryActivation::RELU};
  int i = 0;
  for (int64_t m : ms) {
    for (int64_t k : ks) {
      for (int64_t n : ns) {
        for (const auto& [wd, wl] : weight_formats()) {
          ++i;
          Problem p;
          p.x_shape = (i % 5 == 0) ? Shape{2, m, k} : Shape{m, k};
          p.n = n;
          // x in FLOAT32 (rounded to bfloat16 against non-fp32 weights) or BFLOAT16.
          p.x_dtype = (i % 3 == 0) ? DataType::BFLOAT16 : DataType::FLOAT32;
          p.x_layout = (i % 4 == 1) ? Layout::TILE : Layout::ROW_MAJOR;
          p.w_dtype = wd;
          p.w_layout = wl;
          p.bias = i % 2 == 0;
          p.act = acts[(i / 2) % 4];
          p.seed = static_cast<uint64_t>(i);
          const Operands o = make_operands(p);
          std::vector<double> scale;
          const auto ref = reference(o, o.xh, o.wq, p.act, &scale);
          const auto got = run(o);
          EXPECT_LT(max_rel_error(got, ref, scale), 1e-6) << describe(p);
          EXPECT_GE(pcc(got, ref), 0.99999) << describe(p);
        }
      }
    }
  }
}

// What each weight format costs against fp32 weights (documents the PCC floors per dtype).
TEST(MatmulHost, FormatErrorAgainstFp32Weights) {
  const std::pair<DataType, double> floors[] = {
      {DataType::BFLOAT16, 0.9999}, {DataType::BFLOAT8_B, 0.999}, {DataType::BFLOAT4_B, 0.97}};
  for (const auto& [dtype, floor] : floors) {
    Problem p;
    p.x_shape = Shape{4, 1024};
    p.n = 256;
    p.w_dtype = dtype;
    p.w_layout = Layout::TILE;
    const Operands o = make_operands(p);
    const std::vector<double> wf(o.wf.begin(), o.wf.end());
    const auto ref = reference(o, o.xq, wf, p.act);
    EXPECT_GE(pcc(run(o), ref), floor) << to_string(dtype);
  }
}

TEST(MatmulHost, EveryIsaLevelAgreesWithScalar) {
  IsaGuard guard;
  const IsaLevel best = cpu_features().best;
  std::vector<Problem> problems;
  int i = 0;
  for (int64_t m : {1, 3, 20, 40}) {
    for (const auto& [wd, wl] : weight_formats()) {
      for (DataType xd : {DataType::FLOAT32, DataType::BFLOAT16}) {
        Problem p;
        p.x_shape = Shape{m, 288};
        p.n = 200;
        p.x_dtype = xd;
        p.w_dtype = wd;
        p.w_layout = wl;
        p.bias = (i % 2) == 0;
        p.act = i % 3 == 0 ? UnaryActivation::SILU : i % 3 == 1 ? UnaryActivation::GELU : UnaryActivation::NONE;
        p.seed = static_cast<uint64_t>(100 + i++);
        problems.push_back(p);
      }
    }
  }
  for (const Problem& p : problems) {
    const Operands o = make_operands(p);
    std::vector<double> scale;
    reference(o, o.xh, o.wq, p.act, &scale);
    set_isa_limit(IsaLevel::SCALAR);
    const auto base = run(o);
    const std::vector<double> based(base.begin(), base.end());
    for (IsaLevel level : {IsaLevel::AVX2, IsaLevel::AVX512, IsaLevel::AVX512_BF16}) {
      if (static_cast<int>(level) > static_cast<int>(best)) continue;
      set_isa_limit(level);
      const auto got = run(o);
      EXPECT_LT(max_rel_error(got, based, scale), 1e-6) << to_string(level) << ": " << describe(p);
    }
  }
}

TEST(MatmulHost, GemvGemmThreadsAndBlockingAgree) {
  // bfp8 tiles; bf16 and fp32 row-major, where explicit blocks replace oneDNN.
  for (auto [xd, wd, wl] : {std::tuple{DataType::FLOAT32, DataType::BFLOAT8_B, Layout::TILE},
                            std::tuple{DataType::BFLOAT16, DataType::BFLOAT16, Layout::ROW_MAJOR},
                            std::tuple{DataType::FLOAT32, DataType::FLOAT32, Layout::ROW_MAJOR}}) {
    Problem p;
    p.x_shape = Shape{12, 320};
    p.n = 300;
    p.x_dtype = xd;
    p.w_dtype = wd;
    p.w_layout = wl;
    p.bias = true;
    p.act = UnaryActivation::SILU;
    const Operands o = make_operands(p);
    std::vector<double> scale;
    const auto ref = reference(o, o.xh, o.wq, p.act, &scale);
    const CpuKernelConfig configs[] = {
        {0, 0, 0, 0},       // default path (GEMV for 12 rows with fp32 weights, else the GEMM)
        {1, 0, 0, 0},       // one thread
        {0, 4, 0, 0},       // GEMM (block_m below the rows)
        {0, 4, 64, 64},     // GEMM, small panel blocks
        {1, 1, 32, 96},     // GEMM, one thread, odd depth block
    };
    for (const CpuKernelConfig& c : configs) {
      RunOptions opt;
      opt.kernel_config = c;
      EXPECT_LT(max_rel_error(run(o, opt), ref, scale), 1e-6)
          << "threads " << c.threads << " block_m " << c.block_m << " block_n " << c.block_n << " block_k " << c.block_k;
    }
    RunOptions capped;
    capped.threads = 1;
    EXPECT_LT(max_rel_error(run(o, capped), ref, scale), 1e-6);
  }
}

TEST(MatmulHost, OutputDtypesAndLayouts) {
  Problem p;
  p.x_shape = Shape{1, 3, 70};
  p.n = 90;
  p.w_dtype = DataType::BFLOAT16;
  const Operands o = make_operands(p);
  const auto ref = reference(o, o.xh, o.wq, p.act);
  for (auto [dt, lay, floor] : {std::tuple{DataType::BFLOAT16, Layout::TILE, 0.9999},
                                std::tuple{DataType::BFLOAT16, Layout::ROW_MAJOR, 0.9999},
                                std::tuple{DataType::BFLOAT8_B, Layout::TILE, 0.999},
                                std::tuple{DataType::FLOAT32, Layout::TILE, 0.999999}}) {
    RunOptions opt;
    opt.out_dtype = dt;
    opt.out_layout = lay;
    EXPECT_GE(pcc(run(o, opt), ref), floor) << to_string(dt) << " " << to_string(lay);
  }
}

// Block-float rows whose shared exponent is off the plain scaling path: all zeros, tiny
// values (exponent field below the magnitude width) and mixed rows.
TEST(MatmulHost, BlockFloatSpecialExponents) {
  IsaGuard guard;
  for (auto [wd, rows] : {std::pair{DataType::BFLOAT8_B, 3}, std::pair{DataType::BFLOAT4_B, 3},
                           std::pair{DataType::BFLOAT8_B, 1}, std::pair{DataType::BFLOAT4_B, 1}}) {
    Problem p;
    p.x_shape = Shape{rows, 64};
    p.n = 64;
    p.w_dtype = wd;
    p.w_layout = Layout::TILE;
    Operands o = make_operands(p);
    for (int64_t k = 0; k < 64; ++k) {
      for (int64_t j = 0; j < 64; ++j) {
        float& v = o.wf[k * 64 + j];
        if (k < 16 && j < 16) v = 0.0f;                               // zero rows
        if (k >= 16 && k < 32 && j < 16) v *= 1e-38f;                // exponents 0..6
        if (k >= 32 && k < 48 && j >= 32) v = (j % 2) ? 3e-38f : v;  // mixed
      }
    }
    o.w = make_tensor(o.wf, Shape{64, 64}, wd, Layout::TILE, "w");
    o.wq = quantized(o.wf, Shape{64, 64}, wd, Layout::TILE);
    std::vector<double> scale;
    const auto ref = reference(o, o.xh, o.wq, p.act, &scale);
    for (IsaLevel level : {IsaLevel::SCALAR, IsaLevel::AVX2, IsaLevel::AVX512, IsaLevel::AVX512_BF16}) {
      if (static_cast<int>(level) > static_cast<int>(cpu_features().best)) continue;
      set_isa_limit(level);
      EXPECT_LT(max_rel_error(run(o), ref, scale), 1e-6) << to_string(wd) << " " << to_string(level);
    }
  }
}

// Rows of x that the block exponents would scale out of the normal range (all tiny, some
// tiny, a NaN) next to an ordinary row: each row is right on its own and the same as in
// the batch, bit for bit.
TEST(MatmulHost, BlockFloatXOutsideTheScalingRange) {
  IsaGuard guard;
  for (DataType wd : {DataType::BFLOAT8_B, DataType::BFLOAT4_B}) {
    Problem p;
    p.x_shape = Shape{5, 96};  // row 4: plain, after rows off the scaled path
    p.n = 64;
    p.w_dtype = wd;
    p.w_layout = Layout::TILE;
    Operands o = make_operands(p);
    for (int64_t k = 0; k < 96; ++k) {
      o.xf[96 + k] *= 1e-36f;                  // row 1: every value scales below 2^-126
      if (k % 7 == 0) o.xf[192 + k] *= 1e-37f;  // row 2: some do
    }
    o.xf[288 + 5] = std::numeric_limits<float>::quiet_NaN();  // row 3
    o.x = make_tensor(o.xf, p.x_shape, p.x_dtype, p.x_layout, "x");
    o.xq = quantized(o.xf, p.x_shape, p.x_dtype, p.x_layout);
    o.xh = o.xq;
    for (double& v : o.xh) v = bfloat16_to_float(float_to_bfloat16(static_cast<float>(v)));
    std::vector<double> mag;
    const auto ref = reference(o, o.xh, o.wq, p.act, &mag);
    // The same weights in column panels ([2, 96, 32], the host's stored layout).
    std::vector<float> panels(o.wf.size());
    for (int64_t s = 0; s < 2; ++s)
      for (int64_t k = 0; k < 96; ++k)
        for (int64_t j = 0; j < 32; ++j)
          panels[static_cast<std::size_t>((s * 96 + k) * 32 + j)] = o.wf[static_cast<std::size_t>(k * 64 + s * 32 + j)];
    Operands paneled = o;
    paneled.w = make_tensor(panels, Shape{2, 96, 32}, wd, Layout::TILE, "w");
    paneled.args.weight = paneled.w.spec();
    for (IsaLevel level : {IsaLevel::SCALAR, IsaLevel::AVX2, IsaLevel::AVX512, IsaLevel::AVX512_BF16}) {
      if (static_cast<int>(level) > static_cast<int>(cpu_features().best)) continue;
      set_isa_limit(level);
      const auto batch = run(o);
      const auto in_panels = run(paneled);
      for (std::size_t i = 0; i < batch.size(); ++i)
        EXPECT_TRUE(batch[i] == in_panels[i] || (std::isnan(batch[i]) && std::isnan(in_panels[i])))
            << to_string(wd) << " " << to_string(level) << " panels, value " << i;
      for (int64_t r = 0; r < 5; ++r) {
        for (int64_t j = 0; j < p.n; ++j) {
          const std::size_t i = static_cast<std::size_t>(r * p.n + j);
          if (r == 3) {
            EXPECT_TRUE(std::isnan(batch[i])) << to_string(wd) << " " << to_string(level) << " column " << j;
            continue;
          }
          // Against sum |x w| alone (reference() adds 1), so that tiny rows count.
          EXPECT_LE(std::abs(batch[i] - ref[i]), 1e-6 * (mag[i] - 1.0))
              << to_string(wd) << " " << to_string(level) << " row " << r << " column " << j;
        }
        Problem one = p;
        one.x_shape = Shape{1, 96};
        Operands single = make_operands(one);
        single.x = make_tensor(std::vector<float>(o.xf.begin() + r * 96, o.xf.begin() + (r + 1) * 96), Shape{1, 96},
                               p.x_dtype, p.x_layout, "x");
        single.w = o.w;
        single.args.x = single.x.spec();
        const auto alone = run(single);
        for (int64_t j = 0; j < p.n; ++j) {
          const float a = alone[static_cast<std::size_t>(j)], b = batch[static_cast<std::size_t>(r * p.n + j)];
          EXPECT_TRUE(a == b || (std::isnan(a) && std::isnan(b)))
              << to_string(wd) << " " << to_string(level) << " row " << r << " column " << j;
        }
      }
    }
  }
}

// Weights in column shards [S, K, N / S] give the values of the same weights as [K, N], bit
// for bit: GEMV and GEMM, one thread or more, shard count equal to the threads or not.
TEST(MatmulHost, ColumnShardsEqualTheWholeWeight) {
  IsaGuard guard;
  // K = 1056: panels 33 K tiles deep, against one row and eight.
  for (DataType wd : {DataType::BFLOAT16, DataType::BFLOAT8_B, DataType::BFLOAT4_B}) {
    for (const auto& [rows, depth] : {std::pair<int64_t, int64_t>{1, 96}, {3, 96}, {40, 96}, {8, 1056}, {1, 1056}}) {
      Problem p;
      p.x_shape = Shape{rows, depth};
      p.n = 192;
      p.w_dtype = wd;
      p.w_layout = Layout::TILE;
      p.bias = true;
      const Operands whole = make_operands(p);
      for (int64_t shards : {2, 3, 6}) {  // 6: column panels, one tile wide (the host's stored layout)
        const int64_t width = p.n / shards;
        std::vector<float> split(whole.wf.size());
        for (int64_t s = 0; s < shards; ++s)
          for (int64_t k = 0; k < depth; ++k)
            for (int64_t j = 0; j < width; ++j)
              split[static_cast<std::size_t>((s * depth + k) * width + j)] =
                  whole.wf[static_cast<std::size_t>(k * p.n + s * width + j)];
        Operands sharded = whole;
        sharded.w = make_tensor(split, Shape{shards, depth, width}, wd, Layout::TILE, "w");
        sharded.args.weight = sharded.w.spec();
        for (IsaLevel level : {IsaLevel::SCALAR, IsaLevel::AVX2, IsaLevel::AVX512, IsaLevel::AVX512_BF16}) {
          if (static_cast<int>(level) > static_cast<int>(cpu_features().best)) continue;
          set_isa_limit(level);
          for (int threads : {1, 2, 0}) {
            RunOptions opt;
            opt.threads = threads;
            EXPECT_EQ(run(whole, opt), run(sharded, opt)) << to_string(wd) << " rows " << rows << " shards " << shards
                                                          << " " << to_string(level) << " threads " << threads;
          }
        }
      }
    }
  }
}

// A row's result from the GEMV does not depend on the rows decoded with it (bit for bit),
// at every ISA level: a user's logits are the same in any decode batch.
TEST(MatmulHost, GemvRowIsTheSameWhateverTheBatch) {
  IsaGuard guard;
  for (const auto& [wd, wl] : weight_formats()) {
    Problem p;
    p.x_shape = Shape{8, 320};
    p.n = 96;
    p.w_dtype = wd;
    p.w_layout = wl;
    const Operands all = make_operands(p);
    for (IsaLevel level : {IsaLevel::SCALAR, IsaLevel::AVX2, IsaLevel::AVX512, IsaLevel::AVX512_BF16}) {
      if (static_cast<int>(level) > static_cast<int>(cpu_features().best)) continue;
      set_isa_limit(level);
      const auto batch = run(all);
      for (int64_t r : {0, 3, 7}) {
        Problem one = p;
        one.x_shape = Shape{1, 320};
        Operands o = make_operands(one);
        o.x = make_tensor(std::vector<float>(all.xf.begin() + r * 320, all.xf.begin() + (r + 1) * 320), Shape{1, 320},
                          p.x_dtype, p.x_layout, "x");
        o.args.x = o.x.spec();
        const auto single = run(o);
        EXPECT_TRUE(std::equal(single.begin(), single.end(), batch.begin() + r * p.n))
            << to_string(level) << " " << to_string(wd) << " " << to_string(wl) << " row " << r;
      }
    }
  }
}

// The GEMM building blocks of every kernel set on every weight format, including the
// row-major panels that oneDNN takes over in the op when it is built in.
TEST(MatmulHost, GemmKernelsOnEveryFormatAndLevel) {
  namespace md = ops::matmul_detail;
  const int64_t rows = 11, k = 96, n = 45, kc = 64;
  Problem p;
  p.x_shape = Shape{rows, k};
  p.n = n;
  p.x_dtype = DataType::BFLOAT16;  // exact in bfloat16: both GEMM kinds compute the same
  for (const auto& [wd, wl] : weight_formats()) {
    p.w_dtype = wd;
    p.w_layout = wl;
    const Operands o = make_operands(p);
    std::vector<double> scale;
    const auto ref = reference(o, o.xh, o.wq, UnaryActivation::NONE, &scale);
    const std::vector<float> x(o.xh.begin(), o.xh.end());  // kpad == k
    const md::WeightView w = md::weight_view(o.w);
    for (IsaLevel level : {IsaLevel::SCALAR, IsaLevel::AVX2, IsaLevel::AVX512, IsaLevel::AVX512_BF16}) {
      if (static_cast<int>(level) > static_cast<int>(cpu_features().best)) continue;
      const md::KernelSet& ks = md::kernels_for(level);
      for (const md::GemmKernels* g : {&ks.gemm_fp32, &ks.gemm_bf16}) {
        if (g->math == md::GemmMath::BF16 && wd == DataType::FLOAT32) continue;  // never paired
        std::vector<float> a(static_cast<std::size_t>(2 * k * md::kGemmMR));  // two row blocks
        std::vector<float> b(static_cast<std::size_t>(kc * md::kGemmNR));
        std::vector<float> c(static_cast<std::size_t>(rows * n), -1.0f);
        const int64_t a_bytes_per_k = g->math == md::GemmMath::FP32 ? 32 : 16;
        for (int64_t blk = 0; blk < 2; ++blk)
          g->pack_a(x.data(), k, rows, blk * md::kGemmMR,
                    reinterpret_cast<uint8_t*>(a.data()) + blk * k * a_bytes_per_k);
        for (int64_t n0 = 0; n0 < n; n0 += md::kGemmNR) {
          for (int64_t k0 = 0; k0 < k; k0 += kc) {
            const int64_t depth = std::min(kc, k - k0);
            g->pack_b(w, k0, depth, n0, b.data());
            for (int64_t blk = 0; blk < 2; ++blk) {
              const auto* ablock = reinterpret_cast<const uint8_t*>(a.data()) + blk * k * a_bytes_per_k + k0 * a_bytes_per_k;
              g->micro(ablock, b.data(), depth, c.data() + blk * md::kGemmMR * n + n0, n,
                       static_cast<int>(std::min<int64_t>(md::kGemmMR, rows - blk * md::kGemmMR)),
                       static_cast<int>(std::min<int64_t>(md::kGemmNR, n - n0)), k0 > 0);
            }
          }
        }
        EXPECT_LT(max_rel_error(c, ref, scale), 1e-6)
            << to_string(level) << (g->math == md::GemmMath::BF16 ? " bf16 " : " fp32 ") << to_string(wd) << " "
            << to_string(wl);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------
// ttnn:n150
// ---------------------------------------------------------------------------------------

ComputeKernelConfig compute(MathFidelity f, bool fp32) {
  ComputeKernelConfig c;
  c.math_fidelity = f;
  c.fp32_dest_acc_en = fp32;
  return c;
}

TEST(MatmulTensix, FidelityOrdersTheErrorOnRandomInputs) {
  Problem p;
  p.x_shape = Shape{1, 32, 1024};
  p.n = 172;
  p.x_dtype = DataType::BFLOAT16;
  p.x_layout = Layout::TILE;
  p.w_dtype = DataType::BFLOAT16;
  p.w_layout = Layout::TILE;
  p.bias = true;
  const Operands o = make_operands(p);
  const auto ref = reference(o, o.xq, o.wq, p.act);
  auto error = [&](MathFidelity f, bool fp32) {
    RunOptions opt;
    opt.device = "ttnn:n150";
    opt.out_layout = Layout::TILE;
    opt.out_dtype = DataType::FLOAT32;
    opt.compute = compute(f, fp32);
    const auto got = run(o, opt);
    double e = 0;
    for (std::size_t i = 0; i < got.size(); ++i) e += (got[i] - ref[i]) * (got[i] - ref[i]);
    return std::sqrt(e / static_cast<double>(got.size()));
  };
  const double lofi = error(MathFidelity::LoFi, true), hifi2 = error(MathFidelity::HiFi2, true),
               hifi3 = error(MathFidelity::HiFi3, true), hifi4 = error(MathFidelity::HiFi4, true);
  EXPECT_GT(lofi, hifi2);
  EXPECT_GT(hifi2, hifi3);
  EXPECT_GT(hifi3, hifi4);
  EXPECT_LT(hifi4, 1e-5);  // HiFi4 with fp32 accumulation: the bfloat16-input product
  EXPECT_GT(error(MathFidelity::HiFi4, false), hifi4);  // 16-bit destination
  RunOptions opt;
  opt.device = "ttnn:n150";
  opt.out_layout = Layout::TILE;
  opt.out_dtype = DataType::FLOAT32;
  opt.compute = compute(MathFidelity::HiFi4, true);
  EXPECT_GE(pcc(run(o, opt), ref), 0.999999);
}

TEST(MatmulTensix, BlockFloatWeightsAndBatchesOnEveryIsa) {
  IsaGuard guard;
  for (DataType wd : {DataType::BFLOAT8_B, DataType::BFLOAT4_B, DataType::FLOAT32}) {
    Problem p;
    p.x_shape = Shape{2, 40, 100};
    p.n = 90;
    p.x_dtype = DataType::BFLOAT16;
    p.x_layout = Layout::TILE;
    p.w_dtype = wd;
    p.w_layout = Layout::TILE;
    p.bias = true;
    p.act = UnaryActivation::SILU;
    const Operands o = make_operands(p);
    const auto ref = reference(o, o.xq, o.wq, p.act);
    RunOptions opt;
    opt.device = "ttnn:n150";
    opt.out_layout = Layout::TILE;
    opt.compute = compute(MathFidelity::HiFi3, false);  // two products per phase sum
    set_isa_limit(IsaLevel::SCALAR);
    const auto scalar = run(o, opt);
    // HiFi3 reads bfp8 / bfp4 weights whole; FLOAT32 weights lose bits.
    EXPECT_GE(pcc(scalar, ref), wd == DataType::FLOAT32 ? 0.999 : 0.9999) << to_string(wd);
    for (IsaLevel level : {IsaLevel::AVX2, IsaLevel::AVX512_BF16}) {
      if (static_cast<int>(level) > static_cast<int>(cpu_features().best)) continue;
      set_isa_limit(level);
      EXPECT_EQ(run(o, opt), scalar) << "the Tensix model must not depend on the host ISA: " << to_string(level);
    }
  }
}

TEST(MatmulTensix, DecodeShapeWithProgramConfigs) {
  Problem p;
  p.x_shape = Shape{1, 1, 32, 2048};
  p.n = 2048;
  p.x_dtype = DataType::BFLOAT16;
  p.x_layout = Layout::TILE;
  p.w_dtype = DataType::BFLOAT8_B;
  p.w_layout = Layout::TILE;
  const Operands o = make_operands(p);
  const auto ref = reference(o, o.xq, o.wq, p.act);
  RunOptions opt;
  opt.device = "ttnn:n150";
  opt.out_layout = Layout::TILE;
  opt.compute = compute(MathFidelity::HiFi2, false);
  Matmul1DConfig c1;
  c1.grid = {8, 8};
  c1.in0_block_w = 2;
  c1.per_core_M = 1;
  c1.per_core_N = 1;
  opt.kernel_config = c1;
  EXPECT_GE(pcc(run(o, opt), ref), 0.9999);
}

// ---------------------------------------------------------------------------------------
// cost
// ---------------------------------------------------------------------------------------

TEST(MatmulCost, CountsPaddedWorkBytesCoresAndFidelity) {
  MatmulArgs args;
  args.x = TensorSpec{"x", Shape{1, 1, 20, 100}, DataType::BFLOAT16, Layout::TILE, {}};
  args.weight = TensorSpec{"w", Shape{100, 172}, DataType::BFLOAT8_B, Layout::TILE, {}};
  OpConfig cfg;
  Matmul2DConfig c;
  c.grid = {6, 1};
  c.per_core_N = 1;
  cfg.kernel_config = c;
  cfg.compute_kernel_config.math_fidelity = MathFidelity::HiFi2;
  const DeviceSpec n150 = Device::spec_for("ttnn:n150");
  const Cost cost = MatmulOp::cost(args, cfg, n150);
  // 32 x 128 x 192 padded, on 6 cores at HiFi2 (2 phases), 72% efficiency.
  const double flops = 2.0 * 32 * 128 * 192;
  const double rate = 6 * n150.clock_ghz * 1e9 * n150.matmul_flops_per_cycle_lofi / 2 * 0.72;
  EXPECT_NEAR(cost.compute_s, flops / rate, 1e-12);
  // Weights 4 x 6 bfp8 tiles, x 1 x 4 bf16 tiles, output 1 x 6 bf16 tiles, all DRAM.
  const double bytes = 24 * 1088.0 + 4 * 2048.0 + 6 * 2048.0;
  EXPECT_NEAR(cost.dram_s, estimate_cost(CostInputs{.dram_read_bytes = bytes}, n150).dram_s, 1e-12);

  OpConfig host;
  host.dtype = DataType::FLOAT32;
  host.layout = Layout::ROW_MAJOR;
  args.x.dtype = DataType::FLOAT32;
  args.x.layout = Layout::ROW_MAJOR;
  const DeviceSpec cpu = Device::spec_for("cpu");
  const Cost hc = MatmulOp::cost(args, host, cpu);
  EXPECT_GT(hc.compute_s, 0.0);
  EXPECT_GT(hc.dram_s, 0.0);
}

// ---------------------------------------------------------------------------------------
// run-time checks (validation of configs and shapes: test_matmul_validate.cpp)
// ---------------------------------------------------------------------------------------

TEST(MatmulValidate, RunChecksTensorsAgainstSpecs) {
  Problem p;
  p.x_shape = Shape{2, 64};
  p.n = 32;
  Operands o = make_operands(p);
  OpConfig cfg;
  cfg.dtype = DataType::FLOAT32;
  cfg.layout = Layout::ROW_MAJOR;
  Tensor out = Tensor::empty(MatmulOp::output_spec(o.args, cfg));
  auto dev = open_device("cpu");
  ops::ExecContext ctx{*dev, ThreadPool::global(), 0};
  const Tensor other = make_tensor(std::vector<float>(64 * 32), Shape{64, 32}, DataType::BFLOAT16, Layout::TILE, "w");
  auto expect_run_error = [&](const Tensor& w, const Tensor* bias, Tensor& y, const std::string& needle) {
    try {
      MatmulOp::run(o.args, o.x, w, bias, y, cfg, ctx);
      ADD_FAILURE() << "expected: " << needle;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  expect_run_error(other, nullptr, out, "is BFLOAT16 TILE, expected FLOAT32 ROW_MAJOR");
  const Tensor bias = make_tensor(std::vector<float>(32), Shape{32}, DataType::FLOAT32, Layout::ROW_MAJOR, "b");
  expect_run_error(o.w, &bias, out, "bias tensor given but args.bias is empty");
  Tensor wrong = Tensor::empty(TensorSpec{"y", Shape{2, 32}, DataType::BFLOAT16, Layout::ROW_MAJOR, {}});
  expect_run_error(o.w, nullptr, wrong, "output is BFLOAT16 ROW_MAJOR, the config asks for FLOAT32 ROW_MAJOR");
}

}  // namespace
}  // namespace ttt::test
