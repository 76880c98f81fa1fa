#include "ga/evaluation_fingerprint.h"

#include <xxhash.h>

#include <bit>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include "backtest/strategy.h"
#include "backtest/timeframe.h"

namespace qf::ga {

namespace {

// Tagged, length-prefixed fields: no two different field lists give the same text.
class CanonicalText {
 public:
  void Text(const char* key, const std::string& value) {
    out_ += key;
    out_ += '=';
    out_ += std::to_string(value.size());
    out_ += ':';
    out_ += value;
    out_ += ';';
  }
  void Int(const char* key, int64_t value) { Text(key, std::to_string(value)); }
  // The exact bits, as 16 hex digits.
  void Bits(const char* key, double value) {
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx",
                  static_cast<unsigned long long>(std::bit_cast<uint64_t>(value)));
    Text(key, hex);
  }
  const std::string& str() const { return out_; }

 private:
  std::string out_;
};

Fingerprint Hash(const void* data, std::size_t size) {
  const XXH128_hash_t h = XXH3_128bits(data, size);
  XXH128_canonical_t canonical;
  XXH128_canonicalFromHash(&canonical, h);
  Fingerprint out;
  static_assert(sizeof canonical.digest == sizeof out);
  std::memcpy(out.data(), canonical.digest, out.size());
  return out;
}

int DigitsFor(double precision) {
  return static_cast<int>(std::ceil(-std::log10(precision) - 1e-9));
}

void AppendValue(std::string& out, const ParamSpec& spec, double v, double precision) {
  char buf[64];
  if (v == 0) v = 0.0;  // -0 and 0 are the same parameter value
  if (spec.type == ParamType::kInt && std::isfinite(v) && v == std::floor(v) &&
      std::fabs(v) < 9.0e18) {
    out += std::to_string(static_cast<int64_t>(v));
    return;
  }
  if (!std::isfinite(v)) {
    out += std::isnan(v) ? "nan" : (v > 0 ? "inf" : "-inf");
    return;
  }
  const auto result =
      precision == 0 ? std::to_chars(buf, buf + sizeof buf, v)
                     : std::to_chars(buf, buf + sizeof buf, v,
                                     std::chars_format::scientific, DigitsFor(precision));
  out.append(buf, result.ptr);
}

}  // namespace

void ValidateParamPrecision(double precision) {
  if (precision == 0) return;
  if (!(precision >= kMinParamPrecision && precision <= kMaxParamPrecision)) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%g", precision);
    throw std::invalid_argument(std::string("parameter precision ") + buf +
                                " must be 0 (exact) or in [1e-15, 0.1]");
  }
}

std::string CanonicalParams(const ParamSpace& space, const Genome& genome,
                            double precision) {
  ValidateParamPrecision(precision);
  if (genome.size() != space.size()) {
    throw std::invalid_argument("fingerprint: " + std::to_string(genome.size()) +
                                " values for " + std::to_string(space.size()) +
                                " parameters");
  }
  std::string out;
  for (std::size_t i = 0; i < genome.size(); ++i) {
    const ParamSpec& spec = space.specs()[i];
    out += spec.name;
    out += '=';
    AppendValue(out, spec, genome[i], precision);
    out += ';';
  }
  return out;
}

EvaluationContext::EvaluationContext(const EvolveConfig& config, const DataHashes& data,
                                     double precision, uint32_t engine_version)
    : windows_(config.windows), precision_(precision) {
  ValidateParamPrecision(precision);
  if (data.symbols.size() != config.symbols.size()) {
    throw std::invalid_argument("fingerprint: " + std::to_string(data.symbols.size()) +
                                " data hashes for " +
                                std::to_string(config.symbols.size()) + " symbols");
  }
  for (std::size_t i = 0; i < data.symbols.size(); ++i) {
    if (data.symbols[i].empty()) {
      throw std::invalid_argument("fingerprint: no data hash for symbol '" +
                                  config.symbols[i] + "'");
    }
  }
  const Timeframe timeframe = Timeframe::Parse(config.timeframe);
  for (const std::string& name : config.strategies) {
    const Strategy& strategy = FindStrategy(name);
    CanonicalText c;
    c.Text("domain", "quantfarm.evaluation_fingerprint.v1");
    c.Int("engine_version", engine_version);
    c.Text("strategy", std::string(strategy.name()));
    c.Text("timeframe", timeframe.name);
    c.Int("timeframe_seconds", timeframe.seconds);
    c.Bits("bars_per_year", timeframe.bars_per_year);
    const bool pair = strategy.needs_pair();
    if (pair && data.symbol2.empty()) {
      throw std::invalid_argument("fingerprint: pair strategy '" + name +
                                  "' needs the data hash of symbol2");
    }
    c.Int("markets", static_cast<int64_t>(data.symbols.size()));
    for (const std::string& hash : data.symbols) {
      c.Text("market", hash);
      if (pair) c.Text("second", data.symbol2);
    }
    c.Text("metric", config.fitness.metric);
    c.Int("min_trades", config.fitness.min_trades);
    c.Bits("max_drawdown", config.fitness.max_drawdown);
    c.Text("aggregate", config.fitness.aggregate == Aggregate::kMin    ? "min"
                       : config.fitness.aggregate == Aggregate::kMean ? "mean"
                                                                      : "mean_plus_min");
    c.Bits("in_sample", config.split.in_sample);
    c.Int("folds", config.split.folds);
    c.Text("fill", config.engine.fill == FillTiming::kClose ? "close" : "next-open");
    c.Bits("commission_bps", config.engine.costs.commission_bps);
    c.Bits("slippage_bps", config.engine.costs.slippage_bps);
    c.Bits("position_size", config.engine.position_size);
    c.Int("allow_short", config.engine.allow_short ? 1 : 0);
    contexts_.push_back(Hash(c.str().data(), c.str().size()));
    spaces_.push_back(&strategy.space());
  }
}

Fingerprint EvaluationContext::Of(const EvalRequest& request) const {
  if (request.strategy >= contexts_.size()) {
    throw std::invalid_argument("fingerprint: strategy index " +
                                std::to_string(request.strategy) + " of " +
                                std::to_string(contexts_.size()));
  }
  const Fingerprint& context = contexts_[request.strategy];
  std::string bytes(reinterpret_cast<const char*>(context.data()), context.size());
  bytes += CanonicalParams(*spaces_[request.strategy], request.genome, precision_);
  if (request.window != 0) {  // exact bits of the window's fractions
    if (request.window > windows_.size()) {
      throw std::invalid_argument("fingerprint: fitness window " +
                                  std::to_string(request.window) + " of " +
                                  std::to_string(windows_.size()));
    }
    const FitnessWindow& w = windows_[request.window - 1];
    for (double f : {w.begin, w.end}) {
      const auto bits = std::bit_cast<uint64_t>(f);
      for (int b = 7; b >= 0; --b) bytes += static_cast<char>((bits >> (8 * b)) & 0xff);
    }
    bytes += "window;min_trades*width;";  // WindowFitnessSpec scales min_trades
  }
  return Hash(bytes.data(), bytes.size());
}

std::string FingerprintHex(const Fingerprint& fingerprint) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (uint8_t b : fingerprint) {
    out += kDigits[b >> 4];
    out += kDigits[b & 15];
  }
  return out;
}

}  // namespace qf::ga
