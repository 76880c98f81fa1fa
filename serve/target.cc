#include "serve/target.h"

namespace qf::serve {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::optional<std::string> PercentDecode(std::string_view text, bool plus_as_space) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size()) return std::nullopt;
      const int hi = HexValue(text[i + 1]);
      const int lo = HexValue(text[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_as_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::optional<Target> ParseTarget(std::string_view target) {
  if (const auto hash = target.find('#'); hash != std::string_view::npos) {
    target = target.substr(0, hash);
  }
  // Absolute form: drop "scheme://authority".
  if (const auto scheme = target.find("://");
      scheme != std::string_view::npos && !target.starts_with('/')) {
    const auto path_start = target.find_first_of("/?", scheme + 3);
    if (path_start == std::string_view::npos) {
      target = "/";
    } else if (target[path_start] == '?') {
      return std::nullopt;  // "http://host?x": no path
    } else {
      target = target.substr(path_start);
    }
  }
  if (!target.starts_with('/')) return std::nullopt;

  Target out;
  const auto question = target.find('?');
  auto path = PercentDecode(target.substr(0, question), /*plus_as_space=*/false);
  if (!path || path->find('\0') != std::string::npos) return std::nullopt;
  out.path = std::move(*path);
  if (question == std::string_view::npos) return out;

  std::string_view rest = target.substr(question + 1);
  while (!rest.empty()) {
    const auto amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    if (pair.empty()) continue;
    const auto eq = pair.find('=');
    auto name = PercentDecode(pair.substr(0, eq), /*plus_as_space=*/true);
    auto value = PercentDecode(
        eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1),
        /*plus_as_space=*/true);
    if (!name || !value) return std::nullopt;
    out.query[std::move(*name)] = std::move(*value);
  }
  return out;
}

}  // namespace qf::serve
