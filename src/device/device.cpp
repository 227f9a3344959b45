#include "ttt/device.hpp"

namespace ttt {

Device::Device(DeviceSpec spec) : spec_(std::move(spec)), allocator_(std::make_unique<Allocator>(spec_)) {}

std::shared_ptr<Device> Device::open(std::string_view name) { return std::make_shared<Device>(spec_for(name)); }

}  // namespace ttt
