#ifndef QUANTFARM_TESTS_GA_EXPECT_REJECTED_H_
#define QUANTFARM_TESTS_GA_EXPECT_REJECTED_H_

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

namespace qf::ga {

// `validate()` must throw std::invalid_argument naming 'key' and "got <got>".
template <class F>
void ExpectRejectedBy(F&& validate, const std::string& key, const std::string& got) {
  try {
    validate();
    FAIL() << "accepted bad " << key;
  } catch (const std::invalid_argument& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("'" + key + "'"), std::string::npos) << what;
    EXPECT_NE(what.find("got " + got), std::string::npos) << what;
  }
}

}  // namespace qf::ga

#endif  // QUANTFARM_TESTS_GA_EXPECT_REJECTED_H_
