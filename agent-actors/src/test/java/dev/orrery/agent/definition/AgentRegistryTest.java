package dev.orrery.agent.definition;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import com.typesafe.config.ConfigFactory;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.pattern.StatusReply;
import org.apache.pekko.persistence.testkit.PersistenceTestKitPlugin;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

class AgentRegistryTest {
  private static final ActorTestKit kit = ActorTestKit.create(PersistenceTestKitPlugin.getInstance().config()
      .withFallback(ConfigFactory.load()));
  private static final Duration WAIT = Duration.ofSeconds(10);
  private static final AgentRegistry.Setup SETUP = new AgentRegistry.Setup(AgentCatalog.load(Optional.empty()),
      Clock.systemUTC(), Duration.ofMinutes(1));

  @AfterAll
  static void shutdown() {
    kit.shutdownTestKit();
  }

  @Test
  void aNameOfTheCatalogContinuesAfterItsBundledVersion() {
    var registry = kit.spawn(AgentRegistry.create(UUID.randomUUID().toString(), SETUP));

    AgentVersion v2 = create(registry, "name: support_triage\nsystem_prompt: Ours.\n");
    AgentVersion v3 = create(registry, "name: support_triage\nsystem_prompt: Ours, better.\n");

    assertEquals(2, v2.version());
    assertEquals(3, v3.version());
    assertFalse(v3.bundled());
  }

  @Test
  void aNewNameStartsAtOneAndVersionsSurviveARestart() {
    String tenant = UUID.randomUUID().toString();
    var registry = kit.spawn(AgentRegistry.create(tenant, SETUP));
    assertEquals(1, create(registry, "name: mine\nsystem_prompt: One.\n").version());
    assertEquals(2, create(registry, "name: mine\nsystem_prompt: Two.\n").version());
    assertEquals(2, create(registry, "name: mine\nsystem_prompt: Two.\n").version(),
        "the same definition again (a retried create) is the version it made");
    kit.stop(registry, WAIT);

    var recovered = kit.spawn(AgentRegistry.create(tenant, SETUP));
    List<AgentVersion> versions = list(recovered);
    assertEquals(List.of(1, 2), versions.stream().map(AgentVersion::version).toList());
    assertEquals("Two.", versions.get(1).definition().systemPrompt());
    assertEquals(3, create(recovered, "name: mine\nsystem_prompt: Three.\n").version());
  }

  @Test
  void tenantsHaveTheirOwnVersions() {
    var a = kit.spawn(AgentRegistry.create(UUID.randomUUID().toString(), SETUP));
    var b = kit.spawn(AgentRegistry.create(UUID.randomUUID().toString(), SETUP));
    create(a, "name: mine\nsystem_prompt: A.\n");

    assertEquals(List.of(), list(b));
    assertEquals(1, create(b, "name: mine\nsystem_prompt: B.\n").version());
  }

  private static AgentVersion create(ActorRef<AgentRegistry.Command> registry, String yaml) {
    TestProbe<StatusReply<AgentVersion>> probe = kit.createTestProbe();
    registry.tell(new AgentRegistry.Create(AgentDefinition.read(yaml, "test"), probe.getRef()));
    @SuppressWarnings("unchecked")
    StatusReply<AgentVersion> reply = probe.expectMessageClass(StatusReply.class, WAIT);
    return reply.getValue();
  }

  private static List<AgentVersion> list(ActorRef<AgentRegistry.Command> registry) {
    TestProbe<StatusReply<AgentRegistry.Versions>> probe = kit.createTestProbe();
    registry.tell(new AgentRegistry.ListVersions(probe.getRef()));
    @SuppressWarnings("unchecked")
    StatusReply<AgentRegistry.Versions> reply = probe.expectMessageClass(StatusReply.class, WAIT);
    return reply.getValue().versions();
  }
}
