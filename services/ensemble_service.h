#ifndef QUANTFARM_SERVICES_ENSEMBLE_SERVICE_H_
#define QUANTFARM_SERVICES_ENSEMBLE_SERVICE_H_

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "backtest/ensemble_strategy.h"
#include "backtest/market.h"
#include "services/ensemble_request.h"
#include "services/service.h"
#include "services/services_config.h"
#include "storage/ensemble_store.h"
#include "storage/sqlite_db.h"

namespace qf::services {

// The ensemble service: voting committees of strategy seeds, kept in the registry
// (EnsembleStore) so that every replica answers for every ensemble and they survive
// a restart. JSON in and out; errors are JsonError naming the problem and change
// nothing (a refused deploy or member change leaves the registry as it was).
//
//   GET    /ensemble                       {"ensembles": [ensemble, ...]}
//   POST   /ensemble/deploy                {"ensemble_name", "members": [{"strategy",
//          "params", "weight"?}], "voting"?, "threshold"?, "weighting"?: "equal" |
//          "sharpe", "symbol"?, "timeframe"?, "in_sample"?}  -> 201 ensemble
//   POST   /ensemble/deploy-pbt-survivors  {"ensemble_name", "experiment_name",
//          "top_n"?: 1..64 (5), "voting"?, "threshold"?, "weighting"?, "symbol"?}: the
//          experiment's top_n evaluations (any algorithm) -> 201 ensemble
//   GET    /ensemble/{name}                ensemble
//   DELETE /ensemble/{name}                {"name", "deleted": true}
//   POST   /ensemble/{name}/predict        {"symbol"} (its stored bars) | {"bars": [...]}
//          -> {"signal", "confidence", "num_models", "voting_method", "threshold",
//          "score", "members": [vote, ...], "version", "as_of", "ensemble", "symbol"}
//   POST   /ensemble/{name}/members        {"members": [...]} | one member -> ensemble
//   DELETE /ensemble/{name}/members/{id}   -> ensemble (at its next version)
//   GET    /ensemble/{name}/backtest[?symbol=S&in_sample=F&timeframe=T]  the vote
//          backtested as a strategy, in- and out-of-sample, next to each member's
//
// An ensemble is {"name", "voting", "threshold", "weighting", "symbol", "timeframe",
// "in_sample", "experiment", "version", "num_models", "members": [{"id", "strategy",
// "params", "weight", "sharpe", "source"}], "created_at", "updated_at"}. Weights: a
// member's own "weight", else 1 ("equal") or max(0, its in-sample Sharpe on "symbol")
// ("sharpe"). Sharpes are measured at deploy (and at each add) with the default
// engine on the first `in_sample` fraction of the symbol's stored bars.
//
// A predict answer is computed from one committed version: its "version" and
// "members" always belong together. Handle() is called by one thread at a time.
class EnsembleService : public Service {
 public:
  explicit EnsembleService(ServicesConfig config);

  std::string_view name() const override { return "ensemble"; }
  std::vector<Route> routes() const override;
  Response Handle(const Request& request) override;

 private:
  // An ensemble at one version, ready to vote.
  struct Compiled {
    StoredEnsemble stored;
    EnsembleSpec spec;
  };
  struct CachedMarket {
    std::filesystem::file_time_type stamp;
    Market market;
  };

  Response Dispatch(const Request& request);
  Response Deploy(const Request& request);
  Response DeployFromExperiment(const Request& request);
  Response Predict(const std::string& name, const Request& request);
  Response AddMembers(const std::string& name, const Request& request);
  Response RemoveMember(const std::string& name, const std::string& id);
  Response Backtest(const std::string& name, const Request& request);

  SqliteDb& Registry();
  // The current version of `name`, from the cache when its stamp (deployment and
  // version) is the stored one.
  std::shared_ptr<const Compiled> Current(const std::string& name);
  // Stored members for `e`, weighted and with Sharpes measured on e.symbol.
  std::vector<StoredEnsembleMember> Prepare(const StoredEnsemble& e,
                                            const std::vector<MemberRequest>& members,
                                            const std::vector<std::string>& sources);
  const Market& StoredMarket(const std::string& symbol, const std::string& timeframe);

  ServicesConfig config_;
  EnsembleDefaults defaults_;
  std::optional<SqliteDb> registry_;
  std::map<std::string, std::shared_ptr<const Compiled>> compiled_;
  std::map<std::string, CachedMarket> markets_;  // by "symbol@timeframe"
};

}  // namespace qf::services

#endif  // QUANTFARM_SERVICES_ENSEMBLE_SERVICE_H_
