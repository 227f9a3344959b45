#include "ttt/yaml_fields.hpp"

#include "ttt/error.hpp"

namespace ttt {

std::string yaml_where(const YamlContext& ctx, const YAML::Node& node) {
  const YAML::Mark mark = node.Mark();
  const std::string file = ctx.file.empty() ? "<string>" : ctx.file;
  if (mark.line < 0) return file;
  return fmt::format("{}:{}", file, mark.line + 1);
}

void yaml_fail(const YamlContext& ctx, const YAML::Node& node, const std::string& message) {
  fail(ErrorKind::InvalidConfig, "{}: key '{}': {}", yaml_where(ctx, node), ctx.path.empty() ? "<root>" : ctx.path,
       message);
}

}  // namespace ttt
