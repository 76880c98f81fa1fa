#ifndef QUANTFARM_BACKTEST_ENGINE_CONFIG_H_
#define QUANTFARM_BACKTEST_ENGINE_CONFIG_H_

namespace qf {

// When a position decided at the close of bar t is filled.
//  kNextOpen (default): at the open of bar t+1. No look-ahead: bar t+1's overnight
//    gap is earned by the old position, its open-to-close move by the new one.
//  kClose: at the close of bar t itself (optimistic; for comparison with tools that
//    assume it). Bar t+1's close-to-close move is earned by the new position.
enum class FillTiming { kNextOpen, kClose };

// Trading costs in basis points of traded notional, charged per side: closing a
// position pays them once, opening one pays them again (a reversal pays twice).
struct CostModel {
  double commission_bps = 1.0;
  double slippage_bps = 1.0;
  double PerSide() const { return (commission_bps + slippage_bps) * 1e-4; }
};

// Position model: a strategy's target is -1 (short), 0 (flat) or +1 (long); the
// exposure held is target * position_size, a fraction of current equity that is kept
// constant while the target is unchanged (no cost for that drift rebalancing).
struct EngineConfig {
  FillTiming fill = FillTiming::kNextOpen;
  double position_size = 1.0;  // (0, 10]
  bool allow_short = true;     // false: short targets become flat
  CostModel costs;

  // Throws std::invalid_argument naming the bad field.
  void Validate() const;
};

}  // namespace qf

#endif  // QUANTFARM_BACKTEST_ENGINE_CONFIG_H_
