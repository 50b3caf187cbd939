package dev.evomerge.driver.search;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class GenomeSpaceTest {
  private static final List<String> MODELS = List.of("org/a", "org/b", "org/c");

  private static GenomeSpace.Builder ties() {
    return GenomeSpace.builder("ties", MODELS)
        .baseModel("org/base")
        .gene("weight", 0, 1)
        .gene("density", 0.1, 1)
        .gene("lambda", 0.5, 1.5);
  }

  private static Genome random(GenomeSpace space, long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    Bounds b = space.bounds();
    double[] x = new double[b.dimension()];
    for (int i = 0; i < x.length; i++) {
      x[i] = b.lower(i) + r.nextDouble() * b.width(i);
    }
    return new Genome(x);
  }

  @Test
  void layerGroupsCoverAllLayersWhenTheCountDoesNotDivide() {
    assertEquals(
        List.of(
            new GenomeSpace.LayerGroup(0, 4),
            new GenomeSpace.LayerGroup(4, 8),
            new GenomeSpace.LayerGroup(8, 10)),
        GenomeSpace.partition(10, 4));
    assertEquals(2, GenomeSpace.partition(8, 4).size());
    assertEquals(List.of(new GenomeSpace.LayerGroup(0, 32)), GenomeSpace.partition(32, 0));
  }

  @Test
  void genesPerModelGroupAndFilterWithReadableNames() {
    GenomeSpace space = ties().layerGroups(10, 4).filters("self_attn", "mlp").build();
    // (weight, density) x 3 models x 3 groups x 3 cells + lambda x 3 groups x 3 cells
    assertEquals(2 * 3 * 3 * 3 + 3 * 3, space.dimension());
    // weight of model 2, group 2, filter mlp: 2 * 9 + 2 * 3 + 1
    assertEquals("weight[model=2][layers 8-9][mlp]", space.geneNames().get(25));
    assertEquals("lambda[layers 0-3][rest]", space.geneNames().get(54 + 2));
    assertEquals(0.1, space.bounds().lower(27));
    // crossover blocks are the (group, filter) cells
    assertEquals(space.bounds().block(25), space.bounds().block(54 + 2 * 3 + 1));
  }

  @Test
  void decodesAGlobalGenomeToMergekitsModelsForm() {
    GenomeSpace space =
        GenomeSpace.builder("linear", List.of("a", "b"))
            .gene("weight", 0, 1)
            .dtype("bfloat16")
            .build();
    Map<String, Object> yaml = space.decode(new Genome(new double[] {0.25, 0.75})).toMergekitMap();
    assertEquals(
        Map.of(
            "merge_method", "linear",
            "models",
                List.of(
                    Map.of("model", "a", "parameters", Map.of("weight", 0.25)),
                    Map.of("model", "b", "parameters", Map.of("weight", 0.75))),
            "dtype", "bfloat16"),
        yaml);
  }

  @Test
  void decodesLayerGroupsToSlicesWithTheBaseInEachSlice() {
    GenomeSpace space = ties().layerGroups(10, 4).filters("mlp").build();
    MergeRecipe r = space.decode(random(space, 1));
    assertEquals(3, r.slices().size());
    MergeRecipe.Slice last = r.slices().get(2);
    assertEquals("org/base", last.sources().get(0).model());
    assertEquals(8, last.sources().get(1).layerStart());
    assertEquals(10, last.sources().get(1).layerEnd());
    assertInstanceOf(ParamValue.Filtered.class, last.sources().get(1).parameters().get("weight"));
    assertTrue(last.parameters().containsKey("lambda"));
    Map<String, Object> yaml = r.toMergekitMap();
    @SuppressWarnings("unchecked")
    Map<String, Object> source =
        (Map<String, Object>)
            ((List<?>) ((Map<?, ?>) ((List<?>) yaml.get("slices")).get(2)).get("sources")).get(1);
    assertEquals(List.of(8, 10), source.get("layer_range"));
  }

  @Test
  void softmaxWeightsSumToOnePerGroupAndFilter() {
    GenomeSpace space =
        ties()
            .layerGroups(10, 4)
            .filters("self_attn", "mlp")
            .parameterisation(GenomeSpace.Parameterisation.SOFTMAX)
            .build();
    for (long seed = 0; seed < 5; seed++) {
      MergeRecipe r = space.decode(random(space, seed));
      for (MergeRecipe.Slice slice : r.slices()) {
        for (String tensor : List.of("x.self_attn.q", "x.mlp.up", "x.input_layernorm")) {
          double sum = 0;
          for (MergeRecipe.SliceSource src : slice.sources()) {
            ParamValue w = src.parameters().get("weight");
            if (w != null) {
              double v = w.valueAt(0, tensor);
              assertTrue(v > 0 && v < 1, "weight " + v);
              sum += v;
            }
          }
          assertEquals(1.0, sum, 1e-12);
        }
      }
    }
  }

  @Test
  void smoothGenesAreGradientAnchorsOverDepth() {
    GenomeSpace space = ties().layerGroups(10, 4).smooth(true).build();
    Genome g = random(space, 3);
    MergeRecipe r = space.decode(g);
    assertTrue(r.slices().isEmpty());
    ParamValue w = r.models().get(1).parameters().get("weight");
    assertInstanceOf(ParamValue.Gradient.class, w);
    // anchor k of model 1 sits at depth k / 2 and is gene 3 + k
    for (int k = 0; k < 3; k++) {
      assertEquals(g.gene(3 + k), w.valueAt(k / 2.0, "any"), 1e-12);
    }
    assertEquals((g.gene(3) + g.gene(4)) / 2, w.valueAt(0.25, "any"), 1e-12);
  }

  private static void assertRoundTrip(GenomeSpace space) {
    for (long seed = 0; seed < 5; seed++) {
      Genome g = random(space, seed);
      MergeRecipe r = space.decode(g);
      MergeRecipe reparsed = MergeRecipe.fromMergekitMap(r.toMergekitMap());
      Genome back = space.encode(reparsed);
      for (int i = 0; i < g.size(); i++) {
        assertEquals(g.gene(i), back.gene(i), 1e-9, space.geneNames().get(i));
      }
    }
  }

  @Test
  void rawGenomesSurviveDecodeYamlEncode() {
    assertRoundTrip(ties().build());
    assertRoundTrip(ties().layerGroups(10, 4).build());
    assertRoundTrip(ties().layerGroups(10, 4).filters("self_attn", "mlp").build());
    assertRoundTrip(ties().layerGroups(10, 3).filters("mlp").smooth(true).build());
    assertRoundTrip(
        GenomeSpace.builder("slerp", List.of("b"))
            .baseModel("a")
            .gene("t", 0, 1)
            .layerGroups(6, 2)
            .build());
  }

  @Test
  void softmaxGenomesSurviveTheRoundTripUpToTheirWeights() {
    GenomeSpace space =
        ties()
            .layerGroups(10, 4)
            .filters("mlp")
            .parameterisation(GenomeSpace.Parameterisation.SOFTMAX)
            .build();
    for (long seed = 0; seed < 5; seed++) {
      MergeRecipe r = space.decode(random(space, seed));
      MergeRecipe again =
          space.decode(space.encode(MergeRecipe.fromMergekitMap(r.toMergekitMap())));
      for (int s = 0; s < r.slices().size(); s++) {
        for (int m = 1; m <= 3; m++) {
          for (String t : List.of("a.mlp", "a.norm")) {
            assertEquals(
                r.slices().get(s).sources().get(m).parameters().get("weight").valueAt(0, t),
                again.slices().get(s).sources().get(m).parameters().get("weight").valueAt(0, t),
                1e-9);
          }
        }
      }
    }
  }

  @Test
  void encodesAHandWrittenRecipeAtEachGroupsMiddleLayer() {
    // weight is a gradient 0 -> 1 over 10 layers; groups [0, 5) and [5, 10) have middle layers
    // 2 and 7, i.e. depths 2/9 and 7/9; density and lambda come from the top level
    Map<String, Object> yaml =
        Map.of(
            "merge_method",
            "ties",
            "base_model",
            "org/base",
            "models",
            List.of(
                Map.of("model", "org/a", "parameters", Map.of("weight", List.of(0.0, 1.0))),
                Map.of(
                    "model",
                    "org/b",
                    "parameters",
                    Map.of(
                        "weight",
                        List.of(Map.of("filter", "mlp", "value", 0.9), Map.of("value", 0.2))))),
            "parameters",
            Map.of("density", 0.5, "lambda", 1.2, "normalize", true));
    GenomeSpace space = ties().layerGroups(10, 5).filters("mlp").build();
    Genome g = space.encode(MergeRecipe.fromMergekitMap(yaml));
    Map<String, Double> byName = new java.util.HashMap<>();
    for (int i = 0; i < g.size(); i++) {
      byName.put(space.geneNames().get(i), g.gene(i));
    }
    assertEquals(2.0 / 9, byName.get("weight[model=0][layers 0-4][mlp]"), 1e-12);
    assertEquals(7.0 / 9, byName.get("weight[model=0][layers 5-9][rest]"), 1e-12);
    assertEquals(0.9, byName.get("weight[model=1][layers 0-4][mlp]"), 1e-12);
    assertEquals(0.2, byName.get("weight[model=1][layers 5-9][rest]"), 1e-12);
    // org/c is not in the recipe: mergekit's default weight 1
    assertEquals(1.0, byName.get("weight[model=2][layers 0-4][rest]"), 1e-12);
    assertEquals(0.5, byName.get("density[model=2][layers 5-9][mlp]"), 1e-12);
    assertEquals(1.2, byName.get("lambda[layers 5-9][rest]"), 1e-12);
  }

  @Test
  void encodingClampsValuesOutsideTheBounds() {
    GenomeSpace space = ties().build();
    MergeRecipe r =
        new MergeRecipe(
            "ties", "org/base", Map.of("lambda", ParamValue.of(9)), List.of(), List.of(), null);
    Genome g = space.encode(r);
    assertEquals(1.5, g.gene(space.dimension() - 1));
  }

  @Test
  void seedGenomesAreTheUniformAverageAndEachSource() {
    GenomeSpace raw = ties().build();
    List<Genome> seeds = raw.seedGenomes();
    assertEquals(4, seeds.size());
    MergeRecipe uniform = raw.decode(seeds.get(0));
    for (MergeRecipe.ModelEntry e : uniform.models()) {
      assertEquals(1.0 / 3, e.parameters().get("weight").valueAt(0, ""), 1e-12);
    }
    MergeRecipe second = raw.decode(seeds.get(2));
    assertEquals(0.0, second.models().get(0).parameters().get("weight").valueAt(0, ""));
    assertEquals(1.0, second.models().get(1).parameters().get("weight").valueAt(0, ""));

    GenomeSpace soft = ties().parameterisation(GenomeSpace.Parameterisation.SOFTMAX).build();
    MergeRecipe softUniform = soft.decode(soft.seedGenomes().get(0));
    for (MergeRecipe.ModelEntry e : softUniform.models()) {
      assertEquals(1.0 / 3, e.parameters().get("weight").valueAt(0, ""), 1e-12);
    }
    MergeRecipe softSecond = soft.decode(soft.seedGenomes().get(2));
    double w0 = softSecond.models().get(0).parameters().get("weight").valueAt(0, "");
    double w1 = softSecond.models().get(1).parameters().get("weight").valueAt(0, "");
    assertTrue(w1 > 0.5 && w1 > 2 * w0, w0 + " " + w1);
  }

  @Test
  void sourceBiasedSeedsGiveTheSourceItsShare() {
    GenomeSpace raw = ties().build();
    List<Genome> seeds = raw.seedGenomes(1.0, 0.6);
    assertEquals(1 + 3 + 3, seeds.size());
    MergeRecipe biased = raw.decode(seeds.get(4 + 2)); // share 0.6, model 2
    assertEquals(0.2, biased.models().get(0).parameters().get("weight").valueAt(0, ""), 1e-12);
    assertEquals(0.6, biased.models().get(2).parameters().get("weight").valueAt(0, ""), 1e-12);
  }

  @Test
  void rejectsMisconfiguredSpacesWithHelpfulMessages() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class, () -> GenomeSpace.builder("tie", MODELS).build());
    assertTrue(e.getMessage().contains("did you mean 'ties'"), e.getMessage());
    e =
        assertThrows(
            IllegalArgumentException.class,
            () -> GenomeSpace.builder("linear", MODELS).gene("density", 0, 1).build());
    assertTrue(e.getMessage().contains("not a gene of linear"), e.getMessage());
    assertThrows(
        IllegalArgumentException.class,
        () -> GenomeSpace.builder("ties", MODELS).gene("weight", 0, 1).build()); // no base
    assertThrows(
        IllegalArgumentException.class,
        () ->
            GenomeSpace.builder("linear", List.of("a"))
                .gene("weight", 0, 1)
                .parameterisation(GenomeSpace.Parameterisation.SOFTMAX)
                .build());
    assertThrows(IllegalArgumentException.class, () -> ties().gene("weight", 0, 2).build());
  }

  @Test
  void aStrategyOverTheSpaceOnlyProposesDecodableRecipes() {
    GenomeSpace space =
        GenomeSpace.builder("ties", MODELS)
            .baseModel("org/base")
            .gene("weight", -4, 4) // logits
            .gene("density", 0.1, 1)
            .layerGroups(10, 4)
            .parameterisation(GenomeSpace.Parameterisation.SOFTMAX)
            .build();
    SearchRun run =
        SearchRun.start(new SearchRun.Spec("ga", Map.of(), 1), space, StoppingRules.budget(400));
    assertEquals(space.seedGenomes(), run.ask().subList(0, 4));
    while (run.stopReason().isEmpty()) {
      List<Genome> c = run.ask();
      double[] f = new double[c.size()];
      for (int i = 0; i < f.length; i++) {
        MergeRecipe r = space.decode(c.get(i));
        // reward weight on org/b in the first slice
        f[i] = r.slices().get(0).sources().get(2).parameters().get("weight").valueAt(0, "");
      }
      run.tell(c, f);
    }
    assertTrue(run.best().fitness() > 0.9, "best " + run.best().fitness());
  }
}
