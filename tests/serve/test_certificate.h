// A self-signed certificate for the TLS tests' local servers.
#ifndef QUANTFARM_TESTS_SERVE_TEST_CERTIFICATE_H_
#define QUANTFARM_TESTS_SERVE_TEST_CERTIFICATE_H_

#include <cstdlib>
#include <string>

namespace qf::testing {

// Writes a certificate for 127.0.0.1 and localhost (valid two days) and its key as PEM
// files, with the openssl command; false when that fails.
inline bool MakeSelfSignedCertificate(const std::string& cert, const std::string& key) {
  const std::string command =
      "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 "
      "-addext subjectAltName=IP:127.0.0.1,DNS:localhost -keyout '" +
      key + "' -out '" + cert + "' > /dev/null 2>&1";
  return std::system(command.c_str()) == 0;
}

}  // namespace qf::testing

#endif  // QUANTFARM_TESTS_SERVE_TEST_CERTIFICATE_H_
