// Plain-text tables for the ttt command: columns sized to their widest cell.
#pragma once

#include <string>
#include <vector>

namespace ttt::cli {

class Table {
 public:
  explicit Table(std::vector<std::string> header) : header_(std::move(header)) {}
  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  std::string str() const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

std::string human_bytes(double bytes);  // "1.50 MiB"

}  // namespace ttt::cli
