package dev.orrery.bench;

import dev.orrery.router.fake.FakeProviderServer;
import java.time.Duration;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;

/**
 * The benchmarks' upstream: the fault-injecting fake provider as a process of its own, answering the
 * OpenAI and Anthropic wire protocols on 127.0.0.1 after a fixed latency, with request recording off.
 * Arguments: {@code latency-ms} (default 0). Prints {@code UPSTREAM <port>} once it listens.
 */
public final class FakeUpstreamMain {
  public static void main(String[] args) throws Exception {
    long latencyMs = args.length > 0 ? Long.parseLong(args[0]) : 0;
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "fake-upstream", loopbackServer(""));
    FakeProviderServer server = FakeProviderServer.start(system);
    server.setRecording(false);
    server.setLatency(Duration.ofMillis(latencyMs));
    System.out.println("UPSTREAM " + server.port());
    system.getWhenTerminated().toCompletableFuture().join();
  }

  /** A local actor system's settings for a bench server on loopback with thousands of connections, plus {@code more}. */
  static Config loopbackServer(String more) {
    return ConfigFactory.parseString(
        "pekko.loglevel = WARNING\n"
            + "pekko.actor.provider = local\n"
            + "pekko.http.server.max-connections = 4096\n"
            + "pekko.http.server.backlog = 1024\n"
            + more)
        .withFallback(ConfigFactory.defaultReference());
  }
}
