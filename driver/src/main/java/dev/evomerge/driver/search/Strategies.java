package dev.evomerge.driver.search;

import java.util.List;
import java.util.Map;

/**
 * Creates a strategy from its name and options, as the config layer gives them. An unknown name,
 * option or choice is an error that names the nearest valid one. Names and options (defaults in
 * brackets):
 *
 * <ul>
 *   <li>{@code random}: populationSize [10] (candidates per ask).
 *   <li>{@code de}: variant evolver|rand1bin [evolver], crossover element|block [element],
 *       populationSize [max(10, initial genomes)], F [0.5], CR [0.5 evolver, 0.9 rand1bin],
 *       bestProbability [0.2 evolver, 0 rand1bin].
 *   <li>{@code cmaes}: start (number or list) [first initial genome, else the bounds' centre],
 *       sigma0 [mean bound width / 6], populationSize [4 + floor(3 ln n)], restarts [0] (IPOP),
 *       populationIncrease [2], tolX [1e-12], tolFun [1e-12], maxCondition [1e14].
 *   <li>{@code ga}: populationSize [max(20, initial genomes)], elite [2], selection tournament|rank
 *       [tournament], tournamentSize [3], truncation [0.3] (rank selection's share), crossover
 *       uniform|blend [uniform], crossoverRate [0.9], blendAlpha [0], mutationRate [1],
 *       mutationSigma [0.1] (of each gene's bound width).
 *   <li>{@code nsga2}: populationSize [max(20, initial genomes), even], crossoverRate [0.9],
 *       etaCrossover [15], etaMutation [20], mutationRate [0 = 1/n].
 *   <li>{@code elitist-gaussian}: populationSize [10], elite [3], sigma [0.1 of the width]; needs
 *       the same bounds on every gene.
 *   <li>{@code evolver} ({@link EvolverSearch}, genomes are whole populations): individuals (set by
 *       the run: one per source), populationSize [individuals] (trials per generation), F [0.5], CR
 *       [0.5]; starts from the first initial genome.
 * </ul>
 */
public final class Strategies {
  public static final List<String> NAMES =
      List.of("random", "de", "cmaes", "ga", "nsga2", "elitist-gaussian", "evolver");

  private Strategies() {}

  /** A strategy over a genome space, seeded with the space's uniform and source genomes. */
  public static SearchStrategy create(
      String name, Map<String, Object> options, GenomeSpace space, long seed) {
    return create(name, options, space.bounds(), space.seedGenomes(), seed);
  }

  /**
   * A strategy over {@code bounds}. {@code initial} genomes (sources, uniform average, user
   * recipes, an earlier run's final population) start the population of the population-based
   * strategies; CMA-ES starts from the first one unless {@code start} is given; random search
   * ignores them.
   */
  public static SearchStrategy create(
      String name, Map<String, Object> options, Bounds bounds, List<Genome> initial, long seed) {
    Options o = new Options(name, options);
    SearchStrategy s =
        switch (name) {
          case "random" -> new RandomSearch(bounds, o.getInt("populationSize", 10), seed);
          case "de" -> de(o, bounds, initial, seed);
          case "cmaes" -> cmaes(o, bounds, initial, seed);
          case "ga" -> ga(o, bounds, initial, seed);
          case "nsga2" ->
              new Nsga2(
                  bounds,
                  o.getInt("populationSize", Math.max(20, even(initial.size()))),
                  o.getDouble("crossoverRate", 0.9),
                  o.getDouble("etaCrossover", 15),
                  o.getDouble("etaMutation", 20),
                  o.getDouble("mutationRate", 0),
                  initial,
                  seed);
          case "elitist-gaussian" -> elitist(o, bounds, seed);
          case "evolver" -> evolver(o, bounds, initial, seed);
          default ->
              throw new IllegalArgumentException(
                  String.format(
                      "Unknown search strategy '%s'; did you mean '%s'? Valid: %s",
                      name, Names.nearest(name, NAMES), NAMES));
        };
    o.checkAllRead();
    return s;
  }

  /**
   * A local refinement around {@code around} (e.g. the best of a finished run): CMA-ES started
   * there with sigma {@code sigmaFraction} of the mean bound width. A spec, so the refinement is
   * itself a resumable {@link SearchRun}.
   */
  public static SearchRun.Spec refinement(
      Genome around, Bounds bounds, double sigmaFraction, long seed) {
    bounds.checkGenome(around, "The refinement centre");
    double width = 0;
    for (int i = 0; i < bounds.dimension(); i++) {
      width += bounds.width(i) / bounds.dimension();
    }
    List<Double> start = java.util.Arrays.stream(around.genes()).boxed().toList();
    return new SearchRun.Spec(
        "cmaes", Map.of("start", start, "sigma0", sigmaFraction * width), seed);
  }

  /** The genomes of an earlier run's final population, to warm-start another run. */
  public static List<Genome> warmStart(SearchStrategy finished) {
    return finished.population().stream().map(Evaluated::genome).toList();
  }

  private static int even(int k) {
    return k + (k % 2);
  }

  private static SearchStrategy de(Options o, Bounds bounds, List<Genome> initial, long seed) {
    String variant = o.getString("variant", "evolver", "evolver", "rand1bin");
    boolean evolver = variant.equals("evolver");
    String crossover = o.getString("crossover", "element", "element", "block");
    return new DifferentialEvolution(
        bounds,
        evolver ? DifferentialEvolution.Variant.EVOLVER : DifferentialEvolution.Variant.RAND_1_BIN,
        crossover.equals("block")
            ? DifferentialEvolution.Crossover.BLOCK
            : DifferentialEvolution.Crossover.ELEMENT,
        o.getInt("populationSize", Math.max(10, initial.size())),
        o.getDouble("F", 0.5),
        o.getDouble("CR", evolver ? 0.5 : 0.9),
        o.getDouble("bestProbability", evolver ? 0.2 : 0),
        initial,
        seed);
  }

  private static SearchStrategy cmaes(Options o, Bounds bounds, List<Genome> initial, long seed) {
    CmaEs.Config d = CmaEs.Config.defaults(bounds);
    double[] start =
        o.has("start")
            ? o.getVector("start", bounds.dimension())
            : initial.isEmpty() ? null : initial.get(0).genes();
    return new CmaEs(
        bounds,
        new CmaEs.Config(
            start,
            o.getDouble("sigma0", d.sigma0()),
            o.getInt("populationSize", 0),
            o.getInt("restarts", d.maxRestarts()),
            o.getDouble("populationIncrease", d.populationIncrease()),
            o.getDouble("tolX", d.tolX()),
            o.getDouble("tolFun", d.tolFun()),
            o.getDouble("maxCondition", d.maxCondition())),
        seed);
  }

  private static SearchStrategy ga(Options o, Bounds bounds, List<Genome> initial, long seed) {
    GeneticAlgorithm.Config d = GeneticAlgorithm.Config.defaults();
    String selection = o.getString("selection", "tournament", "tournament", "rank");
    String crossover = o.getString("crossover", "uniform", "uniform", "blend");
    return new GeneticAlgorithm(
        bounds,
        new GeneticAlgorithm.Config(
            o.getInt("populationSize", Math.max(d.populationSize(), initial.size())),
            o.getInt("elite", d.elite()),
            selection.equals("rank")
                ? GeneticAlgorithm.Selection.RANK
                : GeneticAlgorithm.Selection.TOURNAMENT,
            o.getInt("tournamentSize", d.tournamentSize()),
            o.getDouble("truncation", d.truncation()),
            crossover.equals("blend")
                ? GeneticAlgorithm.Recombination.BLEND
                : GeneticAlgorithm.Recombination.UNIFORM,
            o.getDouble("crossoverRate", d.crossoverRate()),
            o.getDouble("blendAlpha", d.blendAlpha()),
            o.getDouble("mutationRate", d.mutationRate()),
            o.getDouble("mutationSigma", d.mutationSigma())),
        initial,
        seed);
  }

  private static SearchStrategy evolver(Options o, Bounds bounds, List<Genome> initial, long seed) {
    if (initial.isEmpty()) {
      throw new IllegalArgumentException("evolver needs its initial population (the sources)");
    }
    return new EvolverSearch(
        bounds,
        o.getInt("individuals", 0),
        o.getInt("populationSize", o.getInt("individuals", 0)),
        o.getDouble("F", 0.5),
        o.getDouble("CR", 0.5),
        initial.get(0),
        seed);
  }

  private static SearchStrategy elitist(Options o, Bounds bounds, long seed) {
    for (int i = 1; i < bounds.dimension(); i++) {
      if (bounds.lower(i) != bounds.lower(0) || bounds.upper(i) != bounds.upper(0)) {
        throw new IllegalArgumentException(
            "elitist-gaussian needs the same bounds on every gene; use ga instead");
      }
    }
    return new ElitistGaussianStrategy(
        bounds.dimension(),
        o.getInt("populationSize", 10),
        o.getInt("elite", 3),
        o.getDouble("sigma", 0.1 * (bounds.upper(0) - bounds.lower(0))),
        bounds.lower(0),
        bounds.upper(0),
        seed);
  }
}
