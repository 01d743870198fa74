// The files in tests/data/ (its README says where each came from); SB_TEST_DATA_DIR is set for
// every test binary by sb_test() in tests/CMakeLists.txt.
#pragma once

#include <fstream>
#include <sstream>
#include <string>

namespace sb::test_data {

// The whole file, or "" when it cannot be read (the test's own assertions then fail).
inline std::string Read(const std::string& name) {
  std::ifstream in(std::string(SB_TEST_DATA_DIR) + "/" + name, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace sb::test_data
