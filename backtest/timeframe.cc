#include "backtest/timeframe.h"

#include <cctype>
#include <stdexcept>

namespace qf {

Timeframe Timeframe::Parse(const std::string& text) {
  std::size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) {
    ++digits;
  }
  const std::string unit = text.substr(digits);
  long long count = 0;
  if (digits > 0 && digits <= 6) count = std::stoll(text.substr(0, digits));
  constexpr double kTradingDays = 252.0;
  constexpr double kSessionSeconds = 6.5 * 3600.0;
  Timeframe tf;
  tf.name = text;
  if (count >= 1) {
    const double n = static_cast<double>(count);
    if (unit == "s") {
      tf.seconds = count;
      tf.bars_per_year = kTradingDays * kSessionSeconds / n;
    } else if (unit == "m") {
      tf.seconds = count * 60;
      tf.bars_per_year = kTradingDays * kSessionSeconds / (60.0 * n);
    } else if (unit == "h") {
      tf.seconds = count * 3600;
      tf.bars_per_year = kTradingDays * kSessionSeconds / (3600.0 * n);
    } else if (unit == "d") {
      tf.seconds = count * 86400;
      tf.bars_per_year = kTradingDays / n;
    } else if (unit == "w") {
      tf.seconds = count * 7 * 86400;
      tf.bars_per_year = 52.0 / n;
    } else if (unit == "mo") {
      tf.seconds = count * 30 * 86400;
      tf.bars_per_year = 12.0 / n;
    }
  }
  if (tf.seconds == 0) {
    throw std::invalid_argument("invalid timeframe '" + text +
                                "': expected <N><unit> with unit s, m, h, d, w or mo "
                                "(e.g. 1d, 5m, 1h)");
  }
  return tf;
}

}  // namespace qf
