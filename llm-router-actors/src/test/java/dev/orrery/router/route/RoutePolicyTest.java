package dev.orrery.router.route;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import dev.orrery.router.actor.ProviderStats;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The policies as the pure functions they are, with a seeded random source. */
class RoutePolicyTest {
  private static final ProviderStats.Snapshot UNKNOWN = new ProviderStats().snapshot();

  private static ProviderSettings provider(String name, ModelSettings... models) {
    var limits = dev.orrery.router.actor.ProviderLimits.fromConfig(
        ConfigFactory.load().getConfig("orrery.llm.provider-defaults"));
    return new ProviderSettings(name, ProviderSettings.Kind.OPENAI, "http://" + name + ".invalid", null, null,
        List.of(models), limits, null);
  }

  private static Candidate candidate(String name, double cost, ProviderStats.Snapshot stats) {
    return new Candidate(provider(name, new ModelSettings("m", 1, 1, 1)), new ModelSettings("m", 1, 1, 1), stats, cost);
  }

  private static List<String> names(List<Candidate> ordered) {
    return ordered.stream().map(c -> c.provider().name()).toList();
  }

  @Test
  void weightedDrawsTheFirstByWeightAndOrdersTheRestToo() {
    var route = new RouteSettings("r", RouteSettings.Policy.WEIGHTED, List.of("a", "b", "c"),
        Map.of("a", 6.0, "b", 3.0, "c", 1.0), 1, false);
    var policy = new WeightedPolicy(route);
    var random = new SplittableRandom(7);
    int[] first = new int[3];
    List<Candidate> all = List.of(candidate("a", 1, UNKNOWN), candidate("b", 1, UNKNOWN), candidate("c", 1, UNKNOWN));
    for (int i = 0; i < 10_000; i++) {
      List<Candidate> order = policy.order(all, random);
      assertEquals(3, order.size());
      first[List.of("a", "b", "c").indexOf(order.get(0).provider().name())]++;
    }
    assertEquals(0.6, first[0] / 10_000.0, 0.02);
    assertEquals(0.3, first[1] / 10_000.0, 0.02);
    assertEquals(0.1, first[2] / 10_000.0, 0.02);
  }

  @Test
  void costAwareTakesEachProvidersCheapestModelOfTheTier() {
    var policy = new CostAwarePolicy();
    ProviderSettings p = provider("p", new ModelSettings("big", 3, 15, 3), new ModelSettings("mid", 1, 4, 2),
        new ModelSettings("small", 0.1, 0.4, 1));
    assertEquals("small", policy.model(p, 1, 100, 100).name());
    assertEquals("mid", policy.model(p, 2, 100, 100).name());
    assertEquals("big", policy.model(p, 3, 100, 100).name());
    assertEquals(List.of("cheap", "dear"),
        names(policy.order(List.of(candidate("dear", 500, UNKNOWN), candidate("cheap", 20, UNKNOWN)), null)));
    // Other policies take the provider's first model of the tier.
    assertEquals("big", new FallbackPolicy().model(p, 1, 100, 100).name());
  }

  @Test
  void leastLatencyMeasuresTheUnknownFirstThenPrefersTheFastest() {
    var slow = new ProviderStats.Snapshot(900, 5, 0, 5, "CLOSED");
    var fast = new ProviderStats.Snapshot(40, 5, 0, 5, "CLOSED");
    var policy = new LeastLatencyPolicy();
    assertEquals(List.of("new", "fast", "slow"), names(policy.order(
        List.of(candidate("slow", 1, slow), candidate("fast", 1, fast), candidate("new", 1, UNKNOWN)), null)));
  }

  @Test
  void banditFavoursSuccessThenLatencyAndCost() {
    var policy = new BanditPolicy();
    var random = new SplittableRandom(11);
    var failing = new ProviderStats.Snapshot(50, 1, 15, 16, "CLOSED");
    var healthy = new ProviderStats.Snapshot(50, 15, 1, 16, "CLOSED");
    int failingFirst = 0;
    for (int i = 0; i < 1000; i++) {
      List<Candidate> order = policy.order(List.of(candidate("failing", 10, failing), candidate("healthy", 10, healthy)), random);
      if (order.get(0).provider().name().equals("failing")) failingFirst++;
    }
    assertTrue(failingFirst < 20, "failing first " + failingFirst + " of 1000");

    // Equally reliable: the faster and cheaper one wins more often, the other still gets explored.
    var good = new ProviderStats.Snapshot(100, 18, 1, 19, "CLOSED");
    var slowDear = new ProviderStats.Snapshot(2000, 18, 1, 19, "CLOSED");
    int slowFirst = 0;
    for (int i = 0; i < 1000; i++) {
      List<Candidate> order = policy.order(List.of(candidate("slow", 500, slowDear), candidate("quick", 50, good)), random);
      if (order.get(0).provider().name().equals("slow")) slowFirst++;
    }
    assertTrue(slowFirst < 100, "slow and dear first " + slowFirst + " of 1000");
  }

  @Test
  void betaSamplesHaveTheRightMean() {
    var random = new SplittableRandom(3);
    double sum = 0;
    for (int i = 0; i < 20_000; i++) sum += BanditPolicy.beta(3, 7, random);
    assertEquals(0.3, sum / 20_000, 0.01);
  }
}
