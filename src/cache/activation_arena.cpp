#include "ttt/activation_arena.hpp"

#include <fmt/format.h>

#include "ttt/error.hpp"

namespace ttt {

namespace {

constexpr int64_t kSliceAlignment = 64;

// A per-call buffer: host bytes plus their device placement, released together.
class PerCallStorage final : public Storage {
 public:
  PerCallStorage(std::shared_ptr<Device> device, const Allocation& allocation, std::size_t bytes)
      : heap_(bytes), device_(std::move(device)), allocation_(allocation) {}
  ~PerCallStorage() override {
    try {
      device_->allocator().deallocate(allocation_);
    } catch (...) {
      // Nothing to do in a destructor: the allocator already reports double frees.
    }
  }
  std::byte* data() override { return heap_.data(); }
  std::size_t size() const override { return heap_.size(); }

 private:
  HeapStorage heap_;
  std::shared_ptr<Device> device_;
  Allocation allocation_;
};

}  // namespace

std::string layer_shared_key(std::string_view name) {
  constexpr std::string_view kPrefix = "layers.";
  if (name.substr(0, kPrefix.size()) != kPrefix) return std::string(name);
  std::size_t i = kPrefix.size();
  while (i < name.size() && name[i] >= '0' && name[i] <= '9') ++i;
  if (i == kPrefix.size() || i >= name.size() || name[i] != '.') return std::string(name);
  return fmt::format("layers.*{}", name.substr(i));
}

ActivationArena::ActivationArena(std::shared_ptr<Device> device, CachePolicy policy, std::string name,
                                 bool share_layers)
    : device_(std::move(device)), policy_(policy), name_(std::move(name)), share_layers_(share_layers) {
  TTT_CHECK(device_ != nullptr, InvalidConfig, "activation arena '{}' needs a device", name_);
}

ActivationArena::~ActivationArena() {
  try {
    reset();
  } catch (...) {
  }
}

void ActivationArena::reserve(const TensorSpec& spec, int chip) {
  TTT_CHECK(!spec.name.empty(), InvalidConfig, "activation arena '{}': a reserved buffer needs a name ({})", name_,
            spec.str());
  TTT_CHECK(!contains(spec.name), InvalidConfig, "activation arena '{}': '{}' is reserved twice", name_, spec.name);
  Slot s;
  s.spec = spec;
  s.chip = chip;
  if (share_layers_ && policy_ != CachePolicy::never) {
    const std::string key = fmt::format("{}#{}", layer_shared_key(spec.name), chip);
    if (key != fmt::format("{}#{}", spec.name, chip)) {
      const auto it = shared_.find(key);
      if (it != shared_.end()) {
        const Slot& first = slots_.find(it->second)->second;
        if (first.placed && first.spec.shape == spec.shape && first.spec.dtype == spec.dtype &&
            first.spec.layout == spec.layout && first.spec.memory_config == spec.memory_config) {
          s.alias_of = it->second;
          s.placed = true;
          slots_.emplace(spec.name, std::move(s));
          return;
        }
      } else {
        shared_.emplace(key, spec.name);
      }
    }
  }
  if (policy_ != CachePolicy::never) {
    try {
      s.allocation = device_->allocator().allocate(spec, chip);
      s.placed = true;
    } catch (const Error& e) {
      if (e.kind() != ErrorKind::OutOfMemory) throw;
      if (policy_ == CachePolicy::always)
        fail(ErrorKind::OutOfMemory, "activation arena '{}' (policy always): {}", name_, e.detail());
      // auto: leave it to per-call allocation, where it only has to fit beside what
      // is live at that moment.
    }
  }
  const std::string name = spec.name;
  slots_.emplace(name, std::move(s));
  if (slots_.find(name)->second.placed) pending_.push_back(name);
}

void ActivationArena::commit() {
  if (pending_.empty()) return;
  int64_t total = 0;
  for (const std::string& n : pending_) total += round_up(slots_.find(n)->second.spec.bytes(), kSliceAlignment);
  auto block = std::make_shared<HeapStorage>(static_cast<std::size_t>(total));
  int64_t offset = 0;
  for (const std::string& n : pending_) {
    Slot& s = slots_.find(n)->second;
    s.full = Tensor(s.spec, block, static_cast<std::size_t>(offset), device_.get());
    offset += round_up(s.spec.bytes(), kSliceAlignment);
  }
  blocks_.push_back(std::move(block));
  host_bytes_ += total;
  pending_.clear();
}

bool ActivationArena::contains(std::string_view name) const { return slots_.find(name) != slots_.end(); }

bool ActivationArena::aliased(std::string_view name) const {
  auto it = slots_.find(name);
  return it != slots_.end() && !it->second.alias_of.empty();
}

bool ActivationArena::placed(std::string_view name) const {
  auto it = slots_.find(name);
  return it != slots_.end() && it->second.placed;
}

ActivationArena::Slot& ActivationArena::slot(std::string_view name, const char* what) {
  auto it = slots_.find(name);
  if (it == slots_.end() || !it->second.placed) {
    fail(ErrorKind::InvalidConfig, "activation arena '{}': {}('{}'): {}; held buffers: {}", name_, what, name,
         it == slots_.end() ? "no buffer of that name was reserved"
                            : "it is allocated per call (policy never, or it did not fit at reserve time); use acquire",
         fmt::join(names(), ", "));
  }
  Slot& s = it->second;
  if (!s.alias_of.empty() && !s.full.defined()) {
    Slot& first = slot(s.alias_of, what);
    s.full = first.full.renamed(s.spec.name);
  }
  if (!s.full.defined()) commit();
  return s;
}

const Tensor& ActivationArena::get(std::string_view name) { return slot(name, "get").full; }

const Tensor& ActivationArena::get(std::string_view name, const Shape& shape) {
  return view_of(slot(name, "get"), shape);
}

const Tensor& ActivationArena::view_of(Slot& s, const Shape& shape) {
  if (shape == s.full.shape()) return s.full;
  // Made once per shape change: a steady loop at one shape allocates nothing.
  if (!s.view.defined() || !(s.view.shape() == shape)) s.view = s.full.view(shape);
  return s.view;
}

const Tensor& ActivationArena::acquire(const TensorSpec& spec, int chip) {
  auto it = slots_.find(spec.name);
  if (it != slots_.end() && it->second.placed) {
    Slot& s = it->second;
    TTT_CHECK(spec.dtype == s.spec.dtype && spec.layout == s.spec.layout, InvalidConfig,
              "activation arena '{}': '{}' acquired as {} {} but reserved as {} {}", name_, spec.name,
              to_string(spec.dtype), to_string(spec.layout), to_string(s.spec.dtype), to_string(s.spec.layout));
    return view_of(slot(spec.name, "acquire"), spec.shape);
  }
  TTT_CHECK(it != slots_.end() || policy_ != CachePolicy::always, InvalidConfig,
            "activation arena '{}' (policy always): '{}' was not reserved at compile time; reserve it, or use policy "
            "auto or never",
            name_, spec.name);
  if (it == slots_.end()) {
    Slot s;
    s.spec = spec;
    s.chip = chip;
    it = slots_.emplace(spec.name, std::move(s)).first;
  }
  return fresh(it->second, spec, chip);
}

const Tensor& ActivationArena::fresh(Slot& s, const TensorSpec& spec, int chip) {
  // Drop the previous call's buffer first so the two never need room at once.
  s.fresh = Tensor();
  const Allocation a = device_->allocator().allocate(spec, chip);
  auto storage = std::make_shared<PerCallStorage>(device_, a, static_cast<std::size_t>(spec.bytes()));
  s.fresh = Tensor(spec, std::move(storage), 0, device_.get());
  return s.fresh;
}

void ActivationArena::reset() {
  for (auto& [name, s] : slots_) {
    if (s.placed && s.alias_of.empty()) device_->allocator().deallocate(s.allocation);
  }
  slots_.clear();
  shared_.clear();
  pending_.clear();
  blocks_.clear();
  host_bytes_ = 0;
}

std::vector<std::string> ActivationArena::names() const {
  std::vector<std::string> out;
  out.reserve(slots_.size());
  for (const auto& [name, s] : slots_) out.push_back(name);
  return out;
}

int64_t ActivationArena::device_bytes() const {
  int64_t sum = 0;
  for (const auto& [name, s] : slots_) {
    if (s.placed && s.alias_of.empty()) sum += s.allocation.total_bytes();
  }
  return sum;
}

}  // namespace ttt
