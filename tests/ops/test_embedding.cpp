#include <gtest/gtest.h>

#include <cstring>

#include "elementwise_test_util.hpp"
#include "ops/embedding/embedding.hpp"

namespace ttt::test {
namespace {

using ops::EmbeddingArgs;
using ops::EmbeddingOp;

Tensor make_ids(const std::vector<int>& ids, const Shape& shape, DataType dtype, Layout layout = Layout::ROW_MAJOR) {
  std::vector<float> f(ids.begin(), ids.end());
  return make_tensor(f, shape, dtype, layout, "ids");
}

TEST(Embedding, RowsMatchTheTableInEveryFormat) {
  const int64_t vocab = 50, hidden = 172;
  const auto tv = random_values(static_cast<std::size_t>(vocab * hidden), 3, -1.f, 1.f);
  const std::vector<int> ids = {0, 49, 7, 7, 13, 1, 22, 48};
  const Shape ids_shape{2, 4};
  struct Case {
    std::string device;
    DataType table;
    DataType ids;
    Layout ids_layout;
    DataType out;
    Layout out_layout;
  };
  const std::vector<Case> cases = {
      {"cpu", DataType::FLOAT32, DataType::INT32, Layout::ROW_MAJOR, DataType::FLOAT32, Layout::ROW_MAJOR},
      {"cpu", DataType::BFLOAT16, DataType::UINT32, Layout::ROW_MAJOR, DataType::BFLOAT16, Layout::ROW_MAJOR},
      {"cpu", DataType::BFLOAT16, DataType::INT32, Layout::TILE, DataType::FLOAT32, Layout::ROW_MAJOR},
      {"cpu", DataType::FLOAT32, DataType::INT32, Layout::ROW_MAJOR, DataType::BFLOAT16, Layout::ROW_MAJOR},
      {"cpu", DataType::FLOAT32, DataType::INT32, Layout::ROW_MAJOR, DataType::BFLOAT8_B, Layout::TILE},
      {"ttnn:n150", DataType::BFLOAT16, DataType::UINT32, Layout::ROW_MAJOR, DataType::BFLOAT16, Layout::TILE},
      {"ttnn:n150", DataType::BFLOAT16, DataType::UINT32, Layout::ROW_MAJOR, DataType::BFLOAT16, Layout::ROW_MAJOR},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.device + " " + std::string(to_string(c.table)) + " -> " + std::string(to_string(c.out)) + " " +
                 std::string(to_string(c.out_layout)));
    Device& dev = *device(c.device);
    const Tensor table = make_tensor(tv, Shape{vocab, hidden}, c.table, Layout::ROW_MAJOR, "tok_embeddings.weight");
    const Tensor id_tensor = make_ids(ids, ids_shape, c.ids, c.ids_layout);
    const EmbeddingArgs args{id_tensor.spec(), table.spec()};
    const OpConfig cfg = host_config(c.out, c.out_layout);
    EmbeddingOp::validate(args, cfg, dev.spec());
    const TensorSpec out_spec = EmbeddingOp::output_spec(args, cfg);
    EXPECT_EQ(out_spec.shape, (Shape{2, 4, hidden}));
    const auto tq = to_float(table);
    std::vector<float> rows_ref;
    for (int id : ids) rows_ref.insert(rows_ref.end(), tq.begin() + id * hidden, tq.begin() + (id + 1) * hidden);
    const auto expected = quantized(rows_ref, out_spec.shape, c.out, c.out_layout);
    auto ctx = context(dev);
    Tensor out = Tensor::empty(out_spec);
    EmbeddingOp::run(args, id_tensor, table, out, cfg, ctx);
    EXPECT_EQ(max_abs_diff(to_float(out), expected), 0.0);
    // The span overload gives the same bytes.
    Tensor out2 = Tensor::empty(out_spec);
    const std::vector<int32_t> ids32(ids.begin(), ids.end());
    EmbeddingOp::run(args, std::span<const int32_t>(ids32), table, out2, cfg, ctx);
    EXPECT_EQ(std::memcmp(out.raw(), out2.raw(), static_cast<std::size_t>(out.bytes())), 0);
  }
}

TEST(Embedding, OutOfRangeIdNamesIdPositionAndVocab) {
  Device& cpu = *device("cpu");
  const Tensor table = make_tensor(random_values(32 * 8, 1), Shape{32, 8}, DataType::FLOAT32, Layout::ROW_MAJOR, "emb");
  const Tensor ids = make_ids({1, 2, 3, 4, 5, 40}, Shape{2, 3}, DataType::INT32);
  const EmbeddingArgs args{ids.spec(), table.spec()};
  const OpConfig cfg = host_config();
  Tensor out = Tensor::empty(EmbeddingOp::output_spec(args, cfg));
  auto ctx = context(cpu);
  expect_error([&] { EmbeddingOp::run(args, ids, table, out, cfg, ctx); }, ErrorKind::InvalidConfig,
               {"token id 40", "position [1, 2]", "vocab size 32"});
  const std::vector<int32_t> neg = {0, -3, 1, 1, 1, 1};
  expect_error([&] { EmbeddingOp::run(args, neg, table, out, cfg, ctx); }, ErrorKind::InvalidConfig,
               {"token id -3", "position [0, 1]"});
}

TEST(EmbeddingValidation, EachErrorOnce) {
  const DeviceSpec cpu = device("cpu")->spec();
  const DeviceSpec n150 = device("ttnn:n150")->spec();
  const TensorSpec ids{"ids", Shape{1, 32}, DataType::UINT32, Layout::ROW_MAJOR, {}};
  const TensorSpec table{"emb", Shape{128256, 2048}, DataType::BFLOAT16, Layout::ROW_MAJOR, {}};
  EmbeddingOp::validate({ids, table}, device_config(), n150);
  TensorSpec f_ids = ids;
  f_ids.dtype = DataType::FLOAT32;
  expect_error(
      [&] {
        EmbeddingOp::validate({f_ids, table}, device_config(), n150);
      },
      ErrorKind::InvalidConfig, {"embedding", "ids dtype FLOAT32", "INT32, UINT32"});
  TensorSpec tiled = table;
  tiled.layout = Layout::TILE;
  expect_error(
      [&] {
        EmbeddingOp::validate({ids, tiled}, host_config(), cpu);
      },
      ErrorKind::InvalidConfig, {"table 'emb'", "TILE", "ROW_MAJOR"});
  TensorSpec f32_table = table;
  f32_table.dtype = DataType::FLOAT32;
  expect_error(
      [&] {
        EmbeddingOp::validate({ids, f32_table}, device_config(), n150);
      },
      ErrorKind::InvalidConfig, {"table dtype FLOAT32", "BFLOAT16"});
  expect_error(
      [&] {
        EmbeddingOp::validate({ids, TensorSpec{"emb", Shape{100}}}, host_config(), cpu);
      },
      ErrorKind::ShapeMismatch, {"[vocab, hidden]"});
  const Cost c = EmbeddingOp::cost({ids, table}, device_config(), n150);
  EXPECT_GT(c.total_s(), 0.0);
}

}  // namespace
}  // namespace ttt::test
