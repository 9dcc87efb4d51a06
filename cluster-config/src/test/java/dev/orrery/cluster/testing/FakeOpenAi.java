package dev.orrery.cluster.testing;

import dev.orrery.router.fake.FakeProviderServer;
import java.util.Map;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;

/**
 * A fake OpenAI-compatible provider on loopback (with the actor system it runs on) for a node to call,
 * recording what it is sent: the provider side of the tests that script a model.
 */
public final class FakeOpenAi implements AutoCloseable {
  /** The node's settings for scripted providers: no router retries, so the fake sees every call once. */
  public static final Map<String, Object> NO_RETRIES = Map.of("orrery.llm.provider-defaults.max-retries", 0);

  private final ActorTestKit kit = ActorTestKit.create();
  private final FakeProviderServer server = FakeProviderServer.start(kit.system());

  public FakeProviderServer server() {
    return server;
  }

  /** The environment that makes a node's only provider this one (as a user's OPENAI_* variables would). */
  public Map<String, String> env() {
    return Map.of("OPENAI_API_KEY", "test-key", "OPENAI_BASE_URL", server.openAiBaseUrl());
  }

  /** A node on {@code db} whose only provider is this one, without router retries. */
  public TestNode startNode(SharedPostgres.TestDatabase db) throws Exception {
    return TestNode.start(db, NO_RETRIES, env());
  }

  /** Closes a node of this provider (if it started), then the provider. */
  public void close(TestNode node) throws Exception {
    try {
      if (node != null) node.close();
    } finally {
      close();
    }
  }

  @Override
  public void close() {
    try {
      server.close();
    } finally {
      kit.shutdownTestKit();
    }
  }
}
