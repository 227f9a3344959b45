#include <gtest/gtest.h>

#include <cstring>

#include "elementwise_test_util.hpp"
#include "ops/ccl/ccl.hpp"

namespace ttt::test {
namespace {

using ops::AllGatherArgs;
using ops::AllGatherOp;
using ops::AllReduceArgs;
using ops::AllReduceOp;
using ops::ReduceScatterArgs;
using ops::ReduceScatterOp;

struct PerChip {
  std::vector<Tensor> tensors;
  std::vector<TensorSpec> specs;
  std::vector<std::vector<float>> values;  // what each chip holds, row-major
};

PerChip per_chip(int chips, const Shape& shape, DataType dt, Layout layout, uint64_t seed) {
  PerChip p;
  for (int c = 0; c < chips; ++c) {
    const auto v = random_values(static_cast<std::size_t>(shape.volume()), seed + c, -1.f, 1.f);
    p.tensors.push_back(make_tensor(v, shape, dt, layout, "x.chip" + std::to_string(c)));
    p.specs.push_back(p.tensors.back().spec());
    p.values.push_back(to_float(p.tensors.back()));
  }
  return p;
}

std::vector<Tensor> outputs_for(const TensorSpec& spec, int chips) {
  std::vector<Tensor> out;
  for (int c = 0; c < chips; ++c) out.push_back(Tensor::empty(spec));
  return out;
}

// Slice `slice` of `n` along dim of a row-major array.
std::vector<float> take_slice(const std::vector<float>& v, const Shape& shape, int dim, int n, int slice) {
  int64_t outer = 1, inner = 1;
  for (int d = 0; d < dim; ++d) outer *= shape[d];
  for (int d = dim + 1; d < shape.rank(); ++d) inner *= shape[d];
  const int64_t run = shape[dim] / n * inner;
  std::vector<float> out;
  for (int64_t o = 0; o < outer; ++o) {
    const auto* s = v.data() + o * shape[dim] * inner + slice * run;
    out.insert(out.end(), s, s + run);
  }
  return out;
}

OpConfig ccl_config(DataType dt, Layout layout) { return host_config(dt, layout); }

TEST(Ccl, AllGatherConcatenatesInChipOrder) {
  struct Case {
    Shape shape;
    int dim;
    DataType dt;
    Layout layout;
  };
  const std::vector<Case> cases = {
      {{1, 1, 32, 64}, -1, DataType::BFLOAT16, Layout::TILE}, {{2, 3, 40}, 0, DataType::FLOAT32, Layout::ROW_MAJOR},
      {{1, 64, 96}, -2, DataType::BFLOAT16, Layout::TILE},    {{4, 5}, 1, DataType::INT32, Layout::ROW_MAJOR},
      {{1, 1, 32, 64}, 3, DataType::BFLOAT8_B, Layout::TILE}, {{3, 2, 7}, 0, DataType::UINT32, Layout::TILE}};
  for (const std::string name : {"ttnn:n300", "ttnn:t3k", "ttnn:galaxy"}) {
    Device& dev = *device(name);
    const int chips = dev.spec().mesh.chips();
    for (const Case& c : cases) {
      SCOPED_TRACE(name + " " + c.shape.str() + " dim " + std::to_string(c.dim) + " " + std::string(to_string(c.dt)));
      const PerChip in = per_chip(chips, c.shape, c.dt, c.layout, 10);
      const AllGatherArgs args{in.specs, c.dim};
      const OpConfig cfg = ccl_config(c.dt, c.layout);
      AllGatherOp::validate(args, cfg, dev.spec());
      const TensorSpec out_spec = AllGatherOp::output_spec(args, cfg);
      auto out = outputs_for(out_spec, chips);
      auto ctx = context(dev);
      AllGatherOp::run(args, in.tensors, out, cfg, ctx);
      // Expected: the inputs concatenated along dim.
      const int dim = c.dim < 0 ? c.dim + c.shape.rank() : c.dim;
      std::vector<float> want(static_cast<std::size_t>(out_spec.shape.volume()));
      int64_t outer = 1, inner = 1;
      for (int d = 0; d < dim; ++d) outer *= c.shape[d];
      for (int d = dim + 1; d < c.shape.rank(); ++d) inner *= c.shape[d];
      const int64_t run = c.shape[dim] * inner;
      for (int64_t o = 0; o < outer; ++o) {
        for (int ch = 0; ch < chips; ++ch) {
          std::copy_n(in.values[ch].begin() + o * run, run, want.begin() + (o * chips + ch) * run);
        }
      }
      for (int ch = 0; ch < chips; ++ch) EXPECT_EQ(to_float(out[ch]), want) << "chip " << ch;
    }
  }
}

// The ring model of ccl.hpp, written out: slice c starts on chip c+1, bf16 after each add.
std::vector<float> ring_sum_bf16(const PerChip& in, const Shape& shape, int dim, int chips, int c) {
  std::vector<float> acc = take_slice(in.values[(c + 1) % chips], shape, dim, chips, c);
  for (int step = 1; step < chips; ++step) {
    const auto s = take_slice(in.values[(c + 1 + step) % chips], shape, dim, chips, c);
    for (std::size_t i = 0; i < acc.size(); ++i) acc[i] = bfloat16_to_float(float_to_bfloat16(acc[i] + s[i]));
  }
  return acc;
}

// Not on ttnn:galaxy: these shapes do not split into 32 tile-aligned slices.
TEST(Ccl, ReduceScatterThenAllGatherEqualsAllReduce) {
  struct Case {
    Shape shape;
    DataType dt;
    Layout layout;
  };
  for (const std::string name : {"ttnn:n300", "ttnn:t3k"}) {
    Device& dev = *device(name);
    const int chips = dev.spec().mesh.chips();
    for (const Case& c : {Case{{1, 1, 32, 512}, DataType::BFLOAT16, Layout::TILE},
                          Case{{2, 3, 16}, DataType::FLOAT32, Layout::ROW_MAJOR},
                          Case{{1, 1, 64, 256}, DataType::BFLOAT8_B, Layout::TILE}}) {
      SCOPED_TRACE(name + " " + c.shape.str() + " " + std::string(to_string(c.dt)));
      const PerChip in = per_chip(chips, c.shape, c.dt, c.layout, 40);
      const OpConfig cfg = ccl_config(c.dt, c.layout);
      auto ctx = context(dev);
      const ReduceScatterArgs rs{in.specs, -1};
      ReduceScatterOp::validate(rs, cfg, dev.spec());
      auto scattered = outputs_for(ReduceScatterOp::output_spec(rs, cfg), chips);
      ReduceScatterOp::run(rs, in.tensors, scattered, cfg, ctx);

      // Against the plain double sum of the inputs.
      std::vector<double> total(in.values[0].size(), 0.0);
      for (const auto& v : in.values)
        for (std::size_t i = 0; i < v.size(); ++i) total[i] += v[i];
      const std::vector<float> total_f(total.begin(), total.end());
      for (int ch = 0; ch < chips; ++ch) {
        const auto got = to_float(scattered[ch]);
        const auto want = to_double(take_slice(total_f, c.shape, c.shape.rank() - 1, chips, ch));
        EXPECT_GE(pcc(got, want), c.dt == DataType::FLOAT32 ? 0.999999 : 0.999) << "chip " << ch;
        if (c.dt == DataType::BFLOAT16) {
          EXPECT_EQ(got, ring_sum_bf16(in, c.shape, c.shape.rank() - 1, chips, ch));
        }
      }

      std::vector<TensorSpec> rs_specs;
      for (const auto& t : scattered) rs_specs.push_back(t.spec());
      const AllGatherArgs ag{rs_specs, -1};
      auto gathered = outputs_for(AllGatherOp::output_spec(ag, cfg), chips);
      AllGatherOp::run(ag, scattered, gathered, cfg, ctx);

      const AllReduceArgs ar{in.specs};
      AllReduceOp::validate(ar, cfg, dev.spec());
      auto reduced = outputs_for(AllReduceOp::output_spec(ar, cfg), chips);
      AllReduceOp::run(ar, in.tensors, reduced, cfg, ctx);
      for (int ch = 0; ch < chips; ++ch) {
        ASSERT_EQ(std::memcmp(gathered[ch].raw(), reduced[ch].raw(), static_cast<std::size_t>(reduced[ch].bytes())), 0)
            << "chip " << ch;
      }
    }
  }
}

TEST(Ccl, AllReduceOfAnUnevenWidthSumsInChipOrder) {
  Device& n300 = *device("ttnn:n300");
  const Shape shape{3, 5};
  const PerChip in = per_chip(2, shape, DataType::BFLOAT16, Layout::ROW_MAJOR, 70);
  const AllReduceArgs ar{in.specs};
  const OpConfig cfg = ccl_config(DataType::BFLOAT16, Layout::ROW_MAJOR);
  AllReduceOp::validate(ar, cfg, n300.spec());
  auto out = outputs_for(AllReduceOp::output_spec(ar, cfg), 2);
  auto ctx = context(n300);
  AllReduceOp::run(ar, in.tensors, out, cfg, ctx);
  for (int ch = 0; ch < 2; ++ch) {
    const auto got = to_float(out[ch]);
    for (std::size_t i = 0; i < got.size(); ++i) {
      ASSERT_EQ(got[i], bfloat16_to_float(float_to_bfloat16(in.values[0][i] + in.values[1][i])));
    }
  }
}

TEST(Ccl, HostMeshSumsInFp32) {
  DeviceSpec spec = host_cpu_spec();
  spec.name = "cpu-mesh";
  spec.mesh = MeshShape{1, 4};
  Device mesh(spec);
  const Shape shape{2, 8};
  const PerChip in = per_chip(4, shape, DataType::BFLOAT16, Layout::ROW_MAJOR, 90);
  const ReduceScatterArgs rs{in.specs, 1};
  const OpConfig cfg = ccl_config(DataType::BFLOAT16, Layout::ROW_MAJOR);
  ReduceScatterOp::validate(rs, cfg, mesh.spec());
  auto out = outputs_for(ReduceScatterOp::output_spec(rs, cfg), 4);
  auto ctx = context(mesh);
  ReduceScatterOp::run(rs, in.tensors, out, cfg, ctx);
  for (int ch = 0; ch < 4; ++ch) {
    const auto got = to_float(out[ch]);
    for (int64_t r = 0; r < 2; ++r) {
      for (int64_t j = 0; j < 2; ++j) {
        const std::size_t at = static_cast<std::size_t>(r * 8 + ch * 2 + j);
        const float sum = ((in.values[0][at] + in.values[1][at]) + in.values[2][at]) + in.values[3][at];
        EXPECT_EQ(got[static_cast<std::size_t>(r * 2 + j)], bfloat16_to_float(float_to_bfloat16(sum)));
      }
    }
  }
}

TEST(CclValidation, EachErrorOnce) {
  const DeviceSpec t3k = device("ttnn:t3k")->spec();
  const DeviceSpec n150 = device("ttnn:n150")->spec();
  const TensorSpec x{"x", Shape{1, 1, 32, 256}, DataType::BFLOAT16, Layout::TILE, {}};
  const std::vector<TensorSpec> eight(8, x);
  const OpConfig cfg = ccl_config(DataType::BFLOAT16, Layout::TILE);
  ReduceScatterOp::validate({eight, -1}, cfg, t3k);
  expect_error(
      [&] {
        AllGatherOp::validate({std::vector<TensorSpec>(3, x), -1}, cfg, t3k);
      },
      ErrorKind::ShapeMismatch, {"all_gather", "3 per-chip", "8 chips"});
  auto odd = eight;
  odd[5].shape = Shape{1, 1, 32, 128};
  expect_error([&] { AllReduceOp::validate({odd}, cfg, t3k); }, ErrorKind::ShapeMismatch,
               {"all_reduce", "chip 5", "[1, 1, 32, 128]", "args.inputs[5]"});
  auto narrow =
      std::vector<TensorSpec>(8, TensorSpec{"x", Shape{1, 1, 32, 100}, DataType::BFLOAT16, Layout::ROW_MAJOR, {}});
  expect_error(
      [&] {
        ReduceScatterOp::validate({narrow, -1}, ccl_config(DataType::BFLOAT16, Layout::ROW_MAJOR), t3k);
      },
      ErrorKind::ShapeMismatch, {"reduce_scatter", "extent 100", "8 equal slices"});
  expect_error(
      [&] {
        ReduceScatterOp::validate({eight, -2}, cfg, t3k);
      },
      ErrorKind::InvalidConfig, {"reduce_scatter", "4 elements", "multiple of 32"});
  expect_error(
      [&] {
        AllGatherOp::validate({std::vector<TensorSpec>(1, x), -1}, cfg, n150);
      },
      ErrorKind::Unsupported, {"all_gather", "ttnn:n150", "single chip", "multi-chip"});
  expect_error(
      [&] {
        AllGatherOp::validate({eight, 4}, cfg, t3k);
      },
      ErrorKind::InvalidConfig, {"dim 4", "out of range"});
  expect_error(
      [&] {
        AllGatherOp::validate({eight, -1}, ccl_config(DataType::FLOAT32, Layout::TILE), t3k);
      },
      ErrorKind::InvalidConfig, {"all_gather", "BFLOAT16 TILE", "FLOAT32"});
  auto ints = std::vector<TensorSpec>(8, TensorSpec{"i", Shape{8, 8}, DataType::INT32, Layout::ROW_MAJOR, {}});
  expect_error([&] { AllReduceOp::validate({ints}, ccl_config(DataType::INT32, Layout::ROW_MAJOR), t3k); },
               ErrorKind::InvalidConfig, {"all_reduce", "INT32"});
}

TEST(CclCost, RingStepsAndBytes) {
  const DeviceSpec t3k = device("ttnn:t3k")->spec();
  const TensorSpec x{"x", Shape{1, 1, 32, 8192}, DataType::BFLOAT16, Layout::TILE, {}};
  const std::vector<TensorSpec> eight(8, x);
  const OpConfig cfg = ccl_config(DataType::BFLOAT16, Layout::TILE);
  const Cost rs = ReduceScatterOp::cost({eight, -1}, cfg, t3k);
  const Cost ar = AllReduceOp::cost({eight}, cfg, t3k);
  const Cost ag = AllGatherOp::cost({eight, -1}, cfg, t3k);
  EXPECT_GT(rs.collective_s, 0.0);
  EXPECT_NEAR(ar.collective_s, 2 * rs.collective_s, 1e-15);
  // Gathering 8 full inputs moves 8x the bytes of scattering one.
  EXPECT_GT(ag.collective_s, rs.collective_s);
}

}  // namespace
}  // namespace ttt::test
