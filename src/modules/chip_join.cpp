#include "chip_join.hpp"

#include "ttt/error.hpp"
#include "ttt/modules/tensor_parallel.hpp"

namespace ttt {

void ChipJoin::plan(OpKind kind, std::vector<TensorSpec> parts, const OpConfig& config, const std::string& out_name) {
  TTT_CHECK(kind == OpKind::all_reduce || kind == OpKind::all_gather, InvalidConfig,
            "ChipJoin: {} is not a collective (all_reduce, all_gather)", to_string(kind));
  kind_ = kind;
  config_ = config;
  parts_ = std::move(parts);
  reduce_args_ = ops::AllReduceArgs{parts_};
  gather_args_ = ops::AllGatherArgs{parts_, -1};
  outputs_.clear();
  const int ways = static_cast<int>(parts_.size());
  TensorSpec out = parts_.front();
  if (active()) {
    out = kind_ == OpKind::all_reduce ? ops::AllReduceOp::output_spec(reduce_args_, config_)
                                      : ops::AllGatherOp::output_spec(gather_args_, config_);
  }
  for (int c = 0; c < ways; ++c) {
    out.name = out_name + chip_suffix(c, ways);
    outputs_.push_back(out);
  }
}

void ChipJoin::plan(OpKind kind, const TensorSpec& chip0, const std::string& part_name, int ways,
                    const OpConfig& config, const std::string& out_name) {
  if (ways <= 1) {
    *this = ChipJoin{};
    return;
  }
  std::vector<TensorSpec> parts;
  for (int c = 0; c < ways; ++c) {
    parts.push_back(chip0);
    parts.back().name = part_name + chip_suffix(c, ways);
  }
  plan(kind, std::move(parts), config, out_name);
}

void ChipJoin::validate(const DeviceSpec& device) const {
  if (!active()) return;
  if (kind_ == OpKind::all_reduce) ops::AllReduceOp::validate(reduce_args_, config_, device);
  else ops::AllGatherOp::validate(gather_args_, config_, device);
}

Cost ChipJoin::cost(const DeviceSpec& device) const {
  if (!active()) return {};
  return kind_ == OpKind::all_reduce ? ops::AllReduceOp::cost(reduce_args_, config_, device)
                                     : ops::AllGatherOp::cost(gather_args_, config_, device);
}

void ChipJoin::reserve(ActivationArena& arena) const {
  if (!active()) return;
  for (std::size_t c = 0; c < outputs_.size(); ++c) arena.reserve(outputs_[c], static_cast<int>(c));
}

void ChipJoin::bind(ActivationArena& arena) {
  t_parts_.clear();
  t_outputs_.clear();
  if (!active()) return;
  for (const auto& p : parts_) t_parts_.push_back(arena.get(p.name));
  for (const auto& o : outputs_) t_outputs_.push_back(arena.get(o.name));
}

Tensor& ChipJoin::run(ops::ExecContext& ctx) {
  TTT_CHECK(active() && !t_outputs_.empty(), InvalidConfig, "ChipJoin: nothing to join or not bound (compile first)");
  if (kind_ == OpKind::all_reduce) ops::AllReduceOp::run(reduce_args_, t_parts_, t_outputs_, config_, ctx);
  else ops::AllGatherOp::run(gather_args_, t_parts_, t_outputs_, config_, ctx);
  return t_outputs_.front();
}

Tensor& ChipJoin::run_views(std::span<const Tensor> parts, ops::ExecContext& ctx) {
  TTT_CHECK(active() && parts.size() == parts_.size(), InvalidConfig, "ChipJoin: {} parts for {} chips", parts.size(),
            parts_.size());
  std::vector<TensorSpec> specs = parts_;
  for (std::size_t c = 0; c < specs.size(); ++c) specs[c].shape = parts[c].shape();
  std::vector<Tensor> outs;
  if (kind_ == OpKind::all_reduce) {
    const ops::AllReduceArgs args{specs};
    const Shape shape = ops::AllReduceOp::output_spec(args, config_).shape;
    for (auto& o : t_outputs_) outs.push_back(o.view(shape));
    ops::AllReduceOp::run(args, parts, outs, config_, ctx);
  } else {
    const ops::AllGatherArgs args{specs, -1};
    const Shape shape = ops::AllGatherOp::output_spec(args, config_).shape;
    for (auto& o : t_outputs_) outs.push_back(o.view(shape));
    ops::AllGatherOp::run(args, parts, outs, config_, ctx);
  }
  view_ = outs.front();
  return view_;
}

}  // namespace ttt
