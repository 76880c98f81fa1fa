#include "ga/island_model.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "backtest/strategy.h"
#include "ga/genome.h"

namespace qf::ga {
namespace {

const Strategy& Ema() { return FindStrategy("ema_crossover"); }
const Strategy& Rsi() { return FindStrategy("rsi_mean_reversion"); }

IslandSpec SpecOf(const Strategy& s, int group = 0) {
  const Strategy* p = &s;
  return {&s.space(), group,
          [p](const Genome& g) { return p->Inconsistency(g).empty(); }};
}

std::vector<IslandSpec> Specs(const Strategy& s, int islands) {
  return std::vector<IslandSpec>(static_cast<std::size_t>(islands), SpecOf(s));
}

// Peak at fast = 17, slow = 63.
double EmaToy(const Genome& g) {
  return -(g[0] - 17) * (g[0] - 17) - (g[1] - 63) * (g[1] - 63);
}

double RsiToy(const Genome& g) {
  return -std::abs(g[0] - 20) - std::abs(g[1] - 25.0) - std::abs(g[2] - 80.0);
}

std::vector<double> Evaluate(const IslandModel& model,
                             const std::function<double(const Genome&)>& f) {
  std::vector<double> out;
  for (const auto& ind : model.population()) out.push_back(f(ind.genome));
  return out;
}

std::vector<std::string> Keys(const IslandModel& model) {
  std::vector<std::string> out;
  for (const auto& ind : model.population()) out.push_back(GenomeKey(ind.genome));
  return out;
}

std::set<std::string> IslandKeys(const IslandModel& model, int island) {
  std::set<std::string> out;
  for (const auto& ind : model.population()) {
    if (ind.island == island) out.insert(GenomeKey(ind.genome));
  }
  return out;
}

GaParams Small() {
  GaParams p;
  p.population = 40;
  p.islands = 4;
  return p;
}

// No crossover, no mutation: an island only ever holds its own genomes or migrants.
GaParams CopyOnly() {
  GaParams p = Small();
  p.crossover_rate = 0;
  p.mutation_rate = 0;
  return p;
}

TEST(IslandModel, SplitsThePopulationWithRemainders) {
  GaParams p = Small();
  p.population = 10;
  p.islands = 3;
  p.elitism = 1;
  p.migration_size = 1;
  IslandModel model(p, Specs(Ema(), 3));
  EXPECT_EQ(IslandSizes(10, 3), (std::vector<int>{4, 3, 3}));
  ASSERT_EQ(model.population().size(), 10u);
  const std::vector<int> islands = {0, 0, 0, 0, 1, 1, 1, 2, 2, 2};
  for (std::size_t k = 0; k < 10; ++k) {
    EXPECT_EQ(model.population()[k].island, islands[k]);
    EXPECT_EQ(model.population()[k].id, k);
  }
  EXPECT_EQ(model.island_begin(2), 7u);
  EXPECT_EQ(model.island_size(0), 4);
}

TEST(IslandModel, IdsAreUniqueOverTheRun) {
  IslandModel model(Small(), Specs(Ema(), 4));
  std::set<uint64_t> ids;
  for (int gen = 0; gen < 6; ++gen) {
    EXPECT_EQ(model.generation(), gen);
    for (std::size_t k = 0; k < model.population().size(); ++k) {
      EXPECT_EQ(model.population()[k].id, static_cast<uint64_t>(gen) * 40 + k);
      EXPECT_TRUE(ids.insert(model.population()[k].id).second);
    }
    model.Advance(Evaluate(model, EmaToy));
  }
}

TEST(IslandModel, EveryGenomeIsValidAndOnTheGrid) {
  GaParams p = Small();
  p.crossover = CrossoverKind::kSbx;
  for (const Strategy* s : AllStrategies()) {
    IslandModel model(p, Specs(*s, 4));
    for (int gen = 0; gen < 5; ++gen) {
      for (const auto& ind : model.population()) {
        ASSERT_NO_THROW(s->Validate(ind.genome)) << s->name();
        ASSERT_EQ(Snap(s->space(), ind.genome), ind.genome) << s->name();
      }
      model.Advance(std::vector<double>(model.population().size(), 0.0));
    }
  }
}

TEST(IslandModel, ElitismKeepsTheBest) {
  GaParams p = Small();
  p.mutation_rate = 0.5;
  IslandModel model(p, Specs(Ema(), 4));
  double previous = -1e300;
  for (int gen = 0; gen < 20; ++gen) {
    const auto fitness = Evaluate(model, EmaToy);
    const double best = *std::max_element(fitness.begin(), fitness.end());
    EXPECT_GE(best, previous) << "generation " << gen;
    previous = best;
    // Per island too: the island's best is copied into its slot 0.
    std::vector<Genome> island_best(4);
    for (int i = 0; i < 4; ++i) {
      const std::size_t b = model.island_begin(i);
      const auto first = fitness.begin() + static_cast<std::ptrdiff_t>(b);
      const auto top = std::max_element(first, first + model.island_size(i));
      island_best[static_cast<std::size_t>(i)] =
          model.population()[static_cast<std::size_t>(top - fitness.begin())].genome;
    }
    model.Advance(fitness);
    for (int i = 0; i < 4; ++i) {
      EXPECT_EQ(model.population()[model.island_begin(i)].genome,
                island_best[static_cast<std::size_t>(i)]);
    }
  }
}

TEST(IslandModel, ElitesAreRankedWithTiesToTheLowerSlot) {
  GaParams p = CopyOnly();
  p.elitism = 3;
  p.migration_interval = 0;
  IslandModel model(p, Specs(Ema(), 4));
  std::vector<double> fitness(40, 0.0);
  fitness[5] = 2;  // island 0: slot 5 best, slots 2 and 7 tie for second
  fitness[2] = 1;
  fitness[7] = 1;
  const auto before = model.population();
  model.Advance(fitness);
  EXPECT_EQ(model.population()[0].genome, before[5].genome);
  EXPECT_EQ(model.population()[1].genome, before[2].genome);
  EXPECT_EQ(model.population()[2].genome, before[7].genome);
}

TEST(IslandModel, MigrationMovesTheBestToTheNextIslandAtTheInterval) {
  GaParams p = CopyOnly();
  p.migration_interval = 3;
  p.migration_size = 2;
  IslandModel model(p, Specs(Ema(), 4));
  int migrations = 0;
  for (int gen = 0; gen < 9; ++gen) {
    const auto before = model.population();
    const auto fitness = Evaluate(model, EmaToy);
    std::vector<std::set<std::string>> own(4);
    for (int i = 0; i < 4; ++i) own[static_cast<std::size_t>(i)] = IslandKeys(model, i);
    model.Advance(fitness);
    const bool migrate = (gen + 1) % 3 == 0;
    for (int i = 0; i < 4; ++i) {
      const int from = (i + 3) % 4;
      const std::size_t end = model.island_begin(i) + 10;
      if (migrate) {
        // The two best of island `from`, best first, in the last two slots of island i.
        std::vector<std::size_t> order(10);
        for (std::size_t s = 0; s < 10; ++s) order[s] = model.island_begin(from) + s;
        std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
          return fitness[a] > fitness[b];
        });
        EXPECT_EQ(model.population()[end - 2].genome, before[order[0]].genome);
        EXPECT_EQ(model.population()[end - 1].genome, before[order[1]].genome);
        ++migrations;
      } else {
        for (const auto& key : IslandKeys(model, i)) {
          EXPECT_TRUE(own[static_cast<std::size_t>(i)].count(key))
              << "island " << i << " received a genome at generation " << gen;
        }
      }
    }
  }
  EXPECT_EQ(migrations, 12);
}

TEST(IslandModel, NoMigrationWhenTheIntervalIsZero) {
  GaParams p = CopyOnly();
  p.migration_interval = 0;
  IslandModel model(p, Specs(Ema(), 4));
  std::vector<std::set<std::string>> initial(4);
  for (int i = 0; i < 4; ++i) initial[static_cast<std::size_t>(i)] = IslandKeys(model, i);
  for (int gen = 0; gen < 12; ++gen) model.Advance(Evaluate(model, EmaToy));
  for (int i = 0; i < 4; ++i) {
    for (const auto& key : IslandKeys(model, i)) {
      EXPECT_TRUE(initial[static_cast<std::size_t>(i)].count(key));
    }
  }
}

TEST(IslandModel, GroupsDoNotExchange) {
  GaParams p = CopyOnly();
  p.migration_interval = 1;
  // Islands 0 and 2 evolve ema_crossover, 1 and 3 sma_crossover (same space shape).
  const Strategy& sma = FindStrategy("sma_crossover");
  IslandModel model(p,
                    {SpecOf(Ema(), 0), SpecOf(sma, 1), SpecOf(Ema(), 0), SpecOf(sma, 1)});
  std::vector<std::set<std::string>> group(2);
  for (int i = 0; i < 4; ++i) {
    for (const auto& k : IslandKeys(model, i))
      group[static_cast<std::size_t>(i % 2)].insert(k);
  }
  for (int gen = 0; gen < 6; ++gen) model.Advance(Evaluate(model, EmaToy));
  for (int i = 0; i < 4; ++i) {
    for (const auto& key : IslandKeys(model, i)) {
      EXPECT_TRUE(group[static_cast<std::size_t>(i % 2)].count(key)) << "island " << i;
    }
  }
  // Within a group, migration did happen: island 2 holds genomes first seen on island 0.
  IslandModel fresh(p,
                    {SpecOf(Ema(), 0), SpecOf(sma, 1), SpecOf(Ema(), 0), SpecOf(sma, 1)});
  const auto island0 = IslandKeys(fresh, 0);
  fresh.Advance(Evaluate(fresh, EmaToy));
  int imported = 0;
  for (const auto& key : IslandKeys(fresh, 2)) imported += island0.count(key) > 0 ? 1 : 0;
  EXPECT_GE(imported, 2);
}

TEST(IslandModel, SingleIslandGroupsSkipMigration) {
  GaParams p = CopyOnly();
  p.population = 30;
  p.islands = 3;
  p.migration_interval = 1;
  IslandModel model(p, {SpecOf(Ema(), 0), SpecOf(Ema(), 1), SpecOf(Ema(), 1)});
  const auto initial = IslandKeys(model, 0);
  for (int gen = 0; gen < 5; ++gen) model.Advance(Evaluate(model, EmaToy));
  for (const auto& key : IslandKeys(model, 0)) EXPECT_TRUE(initial.count(key));
}

TEST(IslandModel, SameSeedAndFitnessGiveBitIdenticalPopulations) {
  for (CrossoverKind kind :
       {CrossoverKind::kUniform, CrossoverKind::kBlend, CrossoverKind::kSbx}) {
    GaParams p = Small();
    p.crossover = kind;
    p.migration_interval = 2;
    IslandModel a(p, Specs(Rsi(), 4));
    IslandModel b(p, Specs(Rsi(), 4));
    for (int gen = 0; gen < 10; ++gen) {
      ASSERT_EQ(Keys(a), Keys(b)) << "generation " << gen;
      a.Advance(Evaluate(a, RsiToy));
      b.Advance(Evaluate(b, RsiToy));
    }
    EXPECT_EQ(GenomeKey(a.best().genome), GenomeKey(b.best().genome));
    EXPECT_EQ(a.best().id, b.best().id);
  }
}

TEST(IslandModel, DifferentSeedsGiveDifferentPopulations) {
  GaParams p = Small();
  IslandModel a(p, Specs(Rsi(), 4));
  p.seed = 43;
  IslandModel b(p, Specs(Rsi(), 4));
  EXPECT_NE(Keys(a), Keys(b));
  a.Advance(Evaluate(a, RsiToy));
  b.Advance(Evaluate(b, RsiToy));
  EXPECT_NE(Keys(a), Keys(b));
}

TEST(IslandModel, OutcomeDependsOnlyOnTheFitnessPassedIn) {
  // Same params, different fitness history -> different populations; replaying the
  // same history reproduces them (no hidden state such as call counts).
  IslandModel a(Small(), Specs(Ema(), 4));
  IslandModel b(Small(), Specs(Ema(), 4));
  const auto fa = Evaluate(a, EmaToy);
  std::vector<double> fb = fa;
  std::reverse(fb.begin(), fb.end());
  a.Advance(fa);
  b.Advance(fb);
  EXPECT_NE(Keys(a), Keys(b));
  IslandModel c(Small(), Specs(Ema(), 4));
  c.Advance(fa);
  EXPECT_EQ(Keys(a), Keys(c));
}

TEST(IslandModel, ReachesTheOptimumAndBeatsRandomSearch) {
  GaParams p;
  p.population = 64;
  p.islands = 4;
  const int generations = 30;
  IslandModel model(p, Specs(Ema(), 4));
  for (int gen = 0; gen < generations; ++gen) model.Advance(Evaluate(model, EmaToy));
  const double ga_best = model.best_fitness();

  // Random search with the same number of evaluations.
  double random_best = -1e300;
  const Strategy& ema = Ema();
  for (uint64_t i = 0; i < static_cast<uint64_t>(p.population * generations); ++i) {
    CounterRng rng(p.seed, 0, 0, i, RngOp::kRandomSearch);
    const Genome g = RandomGenome(ema.space(), rng);
    if (ema.Inconsistency(g).empty()) random_best = std::max(random_best, EmaToy(g));
  }
  EXPECT_GE(ga_best, -2.0) << ema.space().Describe(model.best().genome);
  EXPECT_GT(ga_best, random_best);
}

TEST(IslandModel, TracksTheBestEverWithTiesToTheLowerId) {
  GaParams p = Small();
  IslandModel model(p, Specs(Ema(), 4));
  EXPECT_FALSE(model.has_best());
  EXPECT_THROW(model.best(), std::logic_error);
  EXPECT_TRUE(model.island_best().empty());

  std::vector<double> fitness(40, 0.0);
  fitness[13] = 5;  // island 1
  fitness[27] = 5;  // island 2, same fitness, higher id
  fitness[35] = 1;  // island 3
  const auto gen0 = model.population();
  model.Advance(fitness);
  ASSERT_TRUE(model.has_best());
  EXPECT_EQ(model.best().id, 13u);
  EXPECT_EQ(model.best().genome, gen0[13].genome);
  EXPECT_EQ(model.best_fitness(), 5);
  const auto islands = model.island_best();
  ASSERT_EQ(islands.size(), 4u);
  EXPECT_EQ(islands[0].first.id, 0u);  // all zero: the lowest id
  EXPECT_EQ(islands[1].first.id, 13u);
  EXPECT_EQ(islands[2].first.id, 27u);
  EXPECT_EQ(islands[3].first.id, 35u);
  EXPECT_EQ(islands[3].second, 1.0);

  // An equal fitness later does not replace it; a better one does.
  std::vector<double> next(40, 5.0);
  model.Advance(next);
  EXPECT_EQ(model.best().id, 13u);
  next[39] = 6;
  model.Advance(next);
  EXPECT_EQ(model.best().id, 2 * 40u + 39);
  EXPECT_EQ(model.island_best()[3].first.id, 2 * 40u + 39);
}

TEST(IslandModel, AdvanceRejectsBadFitnessAndChangesNothing) {
  IslandModel model(Small(), Specs(Ema(), 4));
  const auto before = Keys(model);
  EXPECT_THROW(model.Advance(std::vector<double>(39, 0.0)), std::invalid_argument);
  std::vector<double> nan(40, 0.0);
  nan[7] = NAN;
  EXPECT_THROW(model.Advance(nan), std::invalid_argument);
  EXPECT_EQ(model.generation(), 0);
  EXPECT_EQ(Keys(model), before);
  EXPECT_FALSE(model.has_best());
}

void ExpectRejected(const GaParams& p, const std::string& field) {
  try {
    ValidateGaParams(p);
    ADD_FAILURE() << "accepted bad " << field;
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("'" + field + "'"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(IslandModel(p, Specs(Ema(), std::clamp(p.islands, 1, 1024))),
               std::invalid_argument);
}

TEST(IslandModel, RejectsBadParamsNamingTheField) {
  EXPECT_NO_THROW(ValidateGaParams(GaParams{}));
  auto with = [](auto change) {
    GaParams p;
    change(p);
    return p;
  };
  ExpectRejected(with([](GaParams& p) { p.islands = 0; }), "islands");
  ExpectRejected(with([](GaParams& p) { p.islands = 1025; }), "islands");
  ExpectRejected(with([](GaParams& p) { p.population = 7; }), "population");
  ExpectRejected(with([](GaParams& p) { p.population = 1'000'001; }), "population");
  ExpectRejected(with([](GaParams& p) { p.tournament_size = 0; }), "tournament_size");
  ExpectRejected(with([](GaParams& p) { p.crossover_rate = 1.01; }), "crossover_rate");
  ExpectRejected(with([](GaParams& p) { p.mutation_rate = -0.5; }), "mutation_rate");
  ExpectRejected(with([](GaParams& p) { p.mutation_rate = NAN; }), "mutation_rate");
  ExpectRejected(with([](GaParams& p) { p.mutation_sigma = 0; }), "mutation_sigma");
  ExpectRejected(with([](GaParams& p) { p.elitism = -1; }), "elitism");
  ExpectRejected(with([](GaParams& p) { p.elitism = 64; }), "elitism");  // island of 64
  ExpectRejected(with([](GaParams& p) { p.migration_size = 64; }), "migration_size");
  ExpectRejected(with([](GaParams& p) { p.migration_interval = -1; }),
                 "migration_interval");
  try {
    ValidateGaParams(with([](GaParams& p) { p.elitism = 70; }));
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("got 70"), std::string::npos) << e.what();
  }
}

TEST(IslandModel, RejectsBadSpecs) {
  EXPECT_THROW(IslandModel(Small(), Specs(Ema(), 3)), std::invalid_argument);
  auto specs = Specs(Ema(), 4);
  specs[2].space = nullptr;
  EXPECT_THROW(IslandModel(Small(), specs), std::invalid_argument);
  EXPECT_THROW(
      IslandModel(Small(), {SpecOf(Ema()), SpecOf(Rsi()), SpecOf(Ema()), SpecOf(Rsi())}),
      std::invalid_argument);  // one group, two spaces
}

TEST(IslandModel, NamesTheIslandWhenNoValidGenomeExists) {
  auto specs = Specs(Ema(), 4);
  specs[3].valid = [](const Genome&) { return false; };
  try {
    IslandModel model(Small(), specs);
    ADD_FAILURE() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("island 3"), std::string::npos) << e.what();
  }
}

TEST(IslandModel, EmptyValidAcceptsEverything) {
  auto specs = Specs(Ema(), 4);
  for (auto& s : specs) s.valid = nullptr;
  IslandModel model(Small(), specs);
  bool inconsistent = false;
  for (int gen = 0; gen < 3; ++gen) {
    for (const auto& ind : model.population()) {
      inconsistent = inconsistent || !Ema().Inconsistency(ind.genome).empty();
    }
    model.Advance(Evaluate(model, EmaToy));
  }
  EXPECT_TRUE(inconsistent);  // about half of ema_crossover's grid has fast >= slow
}

}  // namespace
}  // namespace qf::ga

namespace qf::ga {
namespace {

TEST(IslandModel, RestoredStateContinuesExactly) {
  const Strategy& s = FindStrategy("ema_crossover");
  auto specs = [&] {
    std::vector<IslandSpec> v;
    for (int i = 0; i < 3; ++i) {
      v.push_back({&s.space(), 0, [&s](const Genome& g) { return s.Inconsistency(g).empty(); }});
    }
    return v;
  };
  GaParams p;
  p.population = 30;
  p.islands = 3;
  p.migration_interval = 2;
  auto toy = [](const IslandModel& m) {
    std::vector<double> f;
    for (const auto& ind : m.population()) {
      f.push_back(-std::abs(ind.genome[0] - 17) - std::abs(ind.genome[1] - 63));
    }
    return f;
  };
  IslandModel straight(p, specs());
  IslandModel resumed(p, specs());
  for (int g = 0; g < 3; ++g) straight.Advance(toy(straight));
  resumed.Restore(straight.State());  // a checkpoint taken after generation 3
  for (int g = 0; g < 4; ++g) {
    straight.Advance(toy(straight));
    resumed.Advance(toy(resumed));
  }
  ASSERT_EQ(straight.population().size(), resumed.population().size());
  for (std::size_t k = 0; k < straight.population().size(); ++k) {
    EXPECT_EQ(straight.population()[k].genome, resumed.population()[k].genome);
    EXPECT_EQ(straight.population()[k].id, resumed.population()[k].id);
  }
  EXPECT_EQ(straight.best().genome, resumed.best().genome);
  EXPECT_EQ(straight.best_fitness(), resumed.best_fitness());
  IslandModelState bad = straight.State();
  bad.genomes.pop_back();
  EXPECT_THROW(resumed.Restore(bad), std::invalid_argument);
}

}  // namespace
}  // namespace qf::ga
