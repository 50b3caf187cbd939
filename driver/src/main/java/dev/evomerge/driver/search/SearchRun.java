package dev.evomerge.driver.search;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.common.base.Preconditions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.LongSupplier;

/**
 * One search: a strategy, its evaluation ledger, and its stopping rules. This is what the
 * generation loop drives ({@code while (run.stopReason().isEmpty()) { c = run.ask(); ...;
 * run.tell(c, fitness); save(run.checkpoint()); }}).
 *
 * <p>Checkpoints hold the strategy's name, options, seed, bounds and initial genomes plus the
 * ledger (every generation's candidates and fitness). Restoring rebuilds the strategy and replays
 * the ledger through ask/tell: strategies are deterministic functions of seed and fitness sequence,
 * so the restored state - generator included - is bit-for-bit the uninterrupted one, for every
 * strategy, without each one serialising its internals. Replay also checks that each regenerated
 * generation equals the recorded one, so a checkpoint restored under changed code or options fails
 * loudly instead of silently diverging.
 */
public final class SearchRun {
  /** Which strategy, how configured, from which seed. */
  public record Spec(String strategy, Map<String, Object> options, long seed) {
    public Spec {
      Preconditions.checkArgument(strategy != null, "No strategy named");
      options = options == null ? Map.of() : Map.copyOf(options);
    }
  }

  /** One generation of the ledger; {@code objectives} is null for single-objective runs. */
  public record Generation(List<Genome> candidates, double[] fitness, double[][] objectives) {}

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int FORMAT = 1;

  private final Spec spec;
  private final Bounds bounds;
  private final List<Genome> initial;
  private final StoppingRules stopping;
  private final SearchStrategy strategy;
  private final List<Generation> ledger = new ArrayList<>();
  private final List<Double> bestAfter = new ArrayList<>();
  private final LongSupplier clock;
  private final long startedNanos;
  private final long elapsedBeforeNanos;
  private long evaluations;

  private SearchRun(
      Spec spec,
      Bounds bounds,
      List<Genome> initial,
      StoppingRules stopping,
      LongSupplier clock,
      long elapsedBeforeNanos) {
    this.spec = spec;
    this.bounds = bounds;
    this.initial = List.copyOf(initial);
    this.stopping = stopping;
    this.strategy =
        Strategies.create(spec.strategy(), spec.options(), bounds, initial, spec.seed());
    this.clock = clock;
    this.startedNanos = clock.getAsLong();
    this.elapsedBeforeNanos = elapsedBeforeNanos;
  }

  public static SearchRun start(
      Spec spec, Bounds bounds, List<Genome> initial, StoppingRules stopping) {
    return new SearchRun(spec, bounds, initial, stopping, System::nanoTime, 0);
  }

  /** A run over a genome space, seeded with its uniform and source genomes. */
  public static SearchRun start(Spec spec, GenomeSpace space, StoppingRules stopping) {
    return start(spec, space.bounds(), space.seedGenomes(), stopping);
  }

  static SearchRun start(
      Spec spec, Bounds bounds, List<Genome> initial, StoppingRules stopping, LongSupplier clock) {
    return new SearchRun(spec, bounds, initial, stopping, clock, 0);
  }

  public SearchStrategy strategy() {
    return strategy;
  }

  public Spec spec() {
    return spec;
  }

  public Bounds bounds() {
    return bounds;
  }

  /** The next generation's candidates (the same list again if asked twice without a tell). */
  public List<Genome> ask() {
    return strategy.ask();
  }

  /** Fitness of the last ask's candidates, in order; NaN for a failed one. */
  public void tell(List<Genome> candidates, double[] fitness) {
    strategy.tell(candidates, fitness);
    record(new Generation(List.copyOf(candidates), fitness.clone(), null));
  }

  /** Per-objective scores of the last ask's candidates; needs a multi-objective strategy. */
  public void tell(List<Genome> candidates, double[][] objectives) {
    Preconditions.checkState(
        strategy instanceof MultiObjectiveStrategy,
        "Strategy %s takes one fitness per candidate, not per-objective scores",
        spec.strategy());
    ((MultiObjectiveStrategy) strategy).tell(candidates, objectives);
    double[][] copy = new double[objectives.length][];
    for (int i = 0; i < copy.length; i++) {
      copy[i] = objectives[i].clone();
    }
    record(new Generation(List.copyOf(candidates), null, copy));
  }

  private void record(Generation g) {
    ledger.add(g);
    evaluations += g.candidates().size();
    Evaluated best = strategy.best();
    bestAfter.add(best == null ? Double.NEGATIVE_INFINITY : best.fitness());
  }

  public Evaluated best() {
    return strategy.best();
  }

  public long evaluations() {
    return evaluations;
  }

  public int generations() {
    return ledger.size();
  }

  /** The ledger: every generation told so far. */
  public List<Generation> ledger() {
    return List.copyOf(ledger);
  }

  public Duration elapsed() {
    return Duration.ofNanos(elapsedBeforeNanos + clock.getAsLong() - startedNanos);
  }

  /** Why the run should stop now, or empty to go on. */
  public Optional<String> stopReason() {
    if (stopping.maxEvaluations() > 0 && evaluations >= stopping.maxEvaluations()) {
      return Optional.of("evaluation budget of " + stopping.maxEvaluations() + " reached");
    }
    if (stopping.maxWallClock() != null
        && !stopping.maxWallClock().isZero()
        && elapsed().compareTo(stopping.maxWallClock()) >= 0) {
      return Optional.of("wall-clock budget of " + stopping.maxWallClock() + " reached");
    }
    int k = stopping.plateauGenerations();
    if (k > 0 && bestAfter.size() > k) {
      double now = bestAfter.get(bestAfter.size() - 1);
      double then = bestAfter.get(bestAfter.size() - 1 - k);
      double gain = now - then;
      // -inf to -inf (everything failed) is no improvement; NaN compares false
      if (!(gain >= stopping.plateauThreshold()) || (now == then)) {
        return Optional.of(
            "best fitness improved by less than "
                + stopping.plateauThreshold()
                + " in "
                + k
                + " generations");
      }
    }
    return Optional.empty();
  }

  /** The whole run state as JSON; see the class comment. */
  public ObjectNode checkpoint() {
    ObjectNode root = JSON.createObjectNode();
    root.put("format", FORMAT);
    root.put("strategy", spec.strategy());
    root.set("options", JSON.valueToTree(spec.options()));
    root.put("seed", spec.seed());
    ObjectNode b = root.putObject("bounds");
    b.set("lower", doubles(bounds.lower()));
    b.set("upper", doubles(bounds.upper()));
    ArrayNode blocks = b.putArray("blocks");
    for (int id : bounds.blocks()) {
      blocks.add(id);
    }
    ArrayNode init = root.putArray("initial");
    for (Genome g : initial) {
      init.add(doubles(g.genes()));
    }
    ObjectNode stop = root.putObject("stopping");
    stop.put("maxEvaluations", stopping.maxEvaluations());
    if (stopping.maxWallClock() != null) {
      stop.put("maxWallClockMillis", stopping.maxWallClock().toMillis());
    }
    stop.put("plateauGenerations", stopping.plateauGenerations());
    stop.put("plateauThreshold", stopping.plateauThreshold());
    root.put("elapsedMillis", elapsed().toMillis());
    ArrayNode gens = root.putArray("generations");
    for (Generation g : ledger) {
      ObjectNode node = gens.addObject();
      ArrayNode cands = node.putArray("candidates");
      for (Genome genome : g.candidates()) {
        cands.add(doubles(genome.genes()));
      }
      if (g.fitness() != null) {
        node.set("fitness", doubles(g.fitness()));
      } else {
        ArrayNode objs = node.putArray("objectives");
        for (double[] o : g.objectives()) {
          objs.add(doubles(o));
        }
      }
    }
    return root;
  }

  public String checkpointJson() {
    return checkpoint().toString();
  }

  public static SearchRun restore(String json) {
    try {
      return restore(JSON.readTree(json));
    } catch (java.io.IOException e) {
      throw new IllegalArgumentException("Unreadable search checkpoint: " + e.getMessage(), e);
    }
  }

  /** Rebuilds a run from {@link #checkpoint()} by replaying its ledger. */
  public static SearchRun restore(JsonNode root) {
    return restore(root, System::nanoTime);
  }

  static SearchRun restore(JsonNode root, LongSupplier clock) {
    Preconditions.checkArgument(
        root.path("format").asInt() == FORMAT,
        "Unsupported search checkpoint format: %s",
        root.path("format"));
    @SuppressWarnings("unchecked")
    Map<String, Object> options = JSON.convertValue(root.get("options"), Map.class);
    Spec spec = new Spec(root.get("strategy").asText(), options, root.get("seed").asLong());
    JsonNode b = root.get("bounds");
    int[] blocks = new int[b.get("blocks").size()];
    for (int i = 0; i < blocks.length; i++) {
      blocks[i] = b.get("blocks").get(i).asInt();
    }
    Bounds bounds = new Bounds(doubles(b.get("lower")), doubles(b.get("upper")), blocks);
    List<Genome> initial = new ArrayList<>();
    for (JsonNode g : root.get("initial")) {
      initial.add(new Genome(doubles(g)));
    }
    JsonNode s = root.get("stopping");
    StoppingRules stopping =
        new StoppingRules(
            s.get("maxEvaluations").asLong(),
            s.has("maxWallClockMillis")
                ? Duration.ofMillis(s.get("maxWallClockMillis").asLong())
                : null,
            s.get("plateauGenerations").asInt(),
            s.get("plateauThreshold").asDouble());
    SearchRun run =
        new SearchRun(
            spec,
            bounds,
            initial,
            stopping,
            clock,
            Duration.ofMillis(root.get("elapsedMillis").asLong()).toNanos());
    int index = 0;
    for (JsonNode gen : root.get("generations")) {
      List<Genome> recorded = new ArrayList<>();
      for (JsonNode g : gen.get("candidates")) {
        recorded.add(new Genome(doubles(g)));
      }
      List<Genome> asked = run.ask();
      Preconditions.checkState(
          asked.equals(recorded),
          "Checkpoint replay diverged at generation %s: the strategy (code or options changed?)"
              + " no longer proposes the recorded candidates",
          index);
      if (gen.has("fitness")) {
        run.tell(asked, doubles(gen.get("fitness")));
      } else {
        double[][] objectives = new double[gen.get("objectives").size()][];
        for (int i = 0; i < objectives.length; i++) {
          objectives[i] = doubles(gen.get("objectives").get(i));
        }
        run.tell(asked, objectives);
      }
      index++;
    }
    return run;
  }

  /** Doubles as JSON numbers, the non-finite ones (failed candidates) as strings. */
  private static ArrayNode doubles(double[] values) {
    ArrayNode a = JSON.createArrayNode();
    for (double v : values) {
      if (Double.isFinite(v)) {
        a.add(v);
      } else {
        a.add(Double.toString(v));
      }
    }
    return a;
  }

  private static double[] doubles(JsonNode node) {
    double[] out = new double[node.size()];
    for (int i = 0; i < out.length; i++) {
      JsonNode v = node.get(i);
      out[i] = v.isTextual() ? Double.parseDouble(v.asText()) : v.doubleValue();
    }
    return out;
  }
}
