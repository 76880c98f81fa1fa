#include "backtest/param_grid.h"

#include <charconv>
#include <cmath>
#include <stdexcept>
#include <string_view>

namespace qf {

namespace {

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (true) {
    const std::size_t pos = s.find(sep, start);
    parts.push_back(s.substr(start, pos == std::string_view::npos ? pos : pos - start));
    if (pos == std::string_view::npos) break;
    start = pos + 1;
  }
  return parts;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

double ParseNumber(std::string_view text, std::string_view item) {
  text = Trim(text);
  double v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size() ||
      !std::isfinite(v)) {
    throw std::invalid_argument("grid item '" + std::string(item) + "': '" +
                                std::string(text) + "' is not a number");
  }
  return v;
}

std::vector<double> ItemValues(const ParamSpec& spec, std::string_view value,
                               std::string_view item) {
  std::vector<double> values;
  if (value.find(':') != std::string_view::npos) {
    const auto parts = Split(value, ':');
    if (parts.size() > 3) {
      throw std::invalid_argument("grid item '" + std::string(item) +
                                  "': expected lo:hi or lo:hi:step");
    }
    const double lo = ParseNumber(parts[0], item);
    const double hi = ParseNumber(parts[1], item);
    const double step = parts.size() == 3 ? ParseNumber(parts[2], item) : spec.step;
    if (!(step > 0)) {
      throw std::invalid_argument("grid item '" + std::string(item) +
                                  "': step must be > 0");
    }
    if (hi < lo) {
      throw std::invalid_argument("grid item '" + std::string(item) + "': hi < lo");
    }
    const double count = std::floor((hi - lo) / step + 1e-9) + 1;
    if (count > 1e7) {
      throw std::invalid_argument("grid item '" + std::string(item) + "' has too many values");
    }
    ParamSpec axis = spec;
    axis.min = lo;
    axis.step = step;
    for (std::size_t i = 0; i < static_cast<std::size_t>(count); ++i) {
      values.push_back(GridPoint(axis, static_cast<double>(i)));
    }
  } else {
    for (auto v : Split(value, '|')) values.push_back(ParseNumber(v, item));
  }
  ParamSpace single({spec});
  for (double v : values) {
    try {
      single.CheckBounds({v});
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument("grid item '" + std::string(item) + "': " + e.what());
    }
  }
  return values;
}

}  // namespace

std::vector<ParamValues> ExpandGrid(const ParamSpace& space, const std::string& spec,
                                    std::size_t max_sets) {
  std::vector<std::vector<double>> axes;
  for (const auto& s : space.specs()) axes.push_back({s.default_value});
  std::vector<bool> seen(space.size(), false);
  if (!Trim(spec).empty()) {
    for (auto raw : Split(spec, ',')) {
      const std::string_view item = Trim(raw);
      const std::size_t eq = item.find('=');
      if (eq == std::string_view::npos) {
        throw std::invalid_argument("grid item '" + std::string(item) +
                                    "': expected name=values");
      }
      const std::string name(Trim(item.substr(0, eq)));
      const int index = space.IndexOf(name);
      if (index < 0) {
        std::string names;
        for (const auto& s : space.specs()) names += (names.empty() ? "" : ", ") + s.name;
        throw std::invalid_argument("grid item '" + std::string(item) +
                                    "': unknown parameter '" + name + "'; parameters: " +
                                    names);
      }
      if (seen[static_cast<std::size_t>(index)]) {
        throw std::invalid_argument("grid names parameter '" + name + "' twice");
      }
      seen[static_cast<std::size_t>(index)] = true;
      axes[static_cast<std::size_t>(index)] =
          ItemValues(space.specs()[static_cast<std::size_t>(index)], item.substr(eq + 1),
                     item);
    }
  }
  double total = 1;
  for (const auto& a : axes) total *= static_cast<double>(a.size());
  if (total > static_cast<double>(max_sets)) {
    throw std::invalid_argument("grid has " + std::to_string(static_cast<long long>(total)) +
                                " parameter sets; the limit is " + std::to_string(max_sets));
  }
  std::vector<ParamValues> sets;
  sets.reserve(static_cast<std::size_t>(total));
  std::vector<std::size_t> idx(axes.size(), 0);
  for (std::size_t k = 0; k < static_cast<std::size_t>(total); ++k) {
    ParamValues v(axes.size());
    for (std::size_t a = 0; a < axes.size(); ++a) v[a] = axes[a][idx[a]];
    sets.push_back(std::move(v));
    for (std::size_t a = axes.size(); a-- > 0;) {
      if (++idx[a] < axes[a].size()) break;
      idx[a] = 0;
    }
  }
  return sets;
}

}  // namespace qf
