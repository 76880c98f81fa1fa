#include "search/evaluation_tasks.h"

#include <chrono>
#include <cstdint>
#include <cstring>
#include <stdexcept>

namespace qf::search {

namespace {

constexpr int kBlockFields = 6;

void PutDouble(std::string& out, double v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof v);
}

}  // namespace

std::string FitnessTask(std::span<const ga::EvalRequest> requests) {
  return "F" + ga::EncodeRequests(requests);
}

std::string BlocksTask(std::span<const ga::EvalRequest> requests, int blocks) {
  std::string out = "B";
  const auto b = static_cast<uint32_t>(blocks);
  out.append(reinterpret_cast<const char*>(&b), sizeof b);
  return out + ga::EncodeRequests(requests);
}

std::string RunEvaluationTask(ga::FitnessEvaluator& evaluator, const std::string& task) {
  if (task.empty()) throw std::runtime_error("empty task message");
  if (task[0] == 'F') {
    const auto start = std::chrono::steady_clock::now();
    std::string out = ga::EncodeFitness(evaluator.Evaluate(ga::DecodeRequests(task.substr(1))));
    PutDouble(out, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    return out;
  }
  if (task[0] != 'B' || task.size() < 1 + sizeof(uint32_t)) {
    throw std::runtime_error("malformed task message (unknown kind)");
  }
  uint32_t blocks = 0;
  std::memcpy(&blocks, task.data() + 1, sizeof blocks);
  if (blocks < 1 || blocks > 64) throw std::runtime_error("malformed task message (blocks)");
  const auto requests = ga::DecodeRequests(task.substr(1 + sizeof blocks));
  const auto metrics = evaluator.BlockMetrics(requests, static_cast<int>(blocks));
  std::string out;
  for (const auto& per_request : metrics) {
    for (const auto& per_symbol : per_request) {
      for (const Metrics& m : per_symbol) {
        PutDouble(out, static_cast<double>(m.bars));
        PutDouble(out, m.sharpe);
        PutDouble(out, m.volatility);
        PutDouble(out, m.total_return);
        PutDouble(out, m.max_drawdown);
        PutDouble(out, static_cast<double>(m.trades));
      }
    }
  }
  return out;
}

std::vector<ga::Fitness> DecodeFitnessResult(const std::string& bytes, double* seconds) {
  if (bytes.size() < sizeof(double)) throw std::runtime_error("malformed result message");
  std::memcpy(seconds, bytes.data() + bytes.size() - sizeof(double), sizeof(double));
  return ga::DecodeFitness(bytes.substr(0, bytes.size() - sizeof(double)));
}

std::vector<std::vector<std::vector<Metrics>>> DecodeBlockMetrics(const std::string& bytes,
                                                                  std::size_t requests,
                                                                  std::size_t symbols,
                                                                  int blocks) {
  const std::size_t segments = static_cast<std::size_t>(blocks) + 1;
  if (bytes.size() != requests * symbols * segments * kBlockFields * sizeof(double)) {
    throw std::runtime_error("malformed block metrics message");
  }
  std::vector<std::vector<std::vector<Metrics>>> out(
      requests, std::vector<std::vector<Metrics>>(symbols, std::vector<Metrics>(segments)));
  const char* p = bytes.data();
  auto get = [&p] {
    double v;
    std::memcpy(&v, p, sizeof v);
    p += sizeof v;
    return v;
  };
  for (auto& per_request : out) {
    for (auto& per_symbol : per_request) {
      for (Metrics& m : per_symbol) {
        m.bars = static_cast<int64_t>(get());
        m.sharpe = get();
        m.volatility = get();
        m.total_return = get();
        m.max_drawdown = get();
        m.trades = static_cast<int64_t>(get());
      }
    }
  }
  return out;
}

}  // namespace qf::search
