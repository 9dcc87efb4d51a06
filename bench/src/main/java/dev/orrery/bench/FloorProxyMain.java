package dev.orrery.bench;

import com.typesafe.config.Config;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.japi.function.Function;

/**
 * The router benchmark's floor: the least a gateway built on the same HTTP stack as the node can do per
 * call. pekko-http's server takes each request and hands its body, unread, to pekko-http's client pool
 * towards the upstream; the upstream's answer goes back as it came. No key, no JSON, no actor, no ledger,
 * no journal. What this proxy reaches on a machine bounds what the node's gateway can reach there, so the
 * benchmark measures it in the same run (docs/benchmarks.md). Not part of the product.
 *
 * <p>Arguments: {@code upstream-url} (the upstream's chat completions URL) and {@code port}. Prints
 * {@code FLOOR <port>} once it listens.
 */
public final class FloorProxyMain {
  public static void main(String[] args) {
    String upstream = args[0];
    int port = Integer.parseInt(args[1]);
    // The node's provider pool settings where they matter per call: answers' headers kept raw, no retries,
    // enough connections for 32 (and 256) concurrent calls.
    Config config = FakeUpstreamMain.loopbackServer(
        "pekko.http.host-connection-pool.max-connections = 512\n"
            + "pekko.http.host-connection-pool.max-open-requests = 1024\n"
            + "pekko.http.host-connection-pool.max-retries = 0\n"
            + "pekko.http.host-connection-pool.client.parsing.modeled-header-parsing = off\n");
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "floor-proxy", config);
    Http http = Http.get(system);
    // Parsed and made once, as the node's adapters do: only the body changes from call to call.
    HttpRequest forward = HttpRequest.POST(upstream).addHeader(RawHeader.create("Authorization", "Bearer bench"));
    http.newServerAt("127.0.0.1", port)
        .bind((Function<HttpRequest, CompletionStage<HttpResponse>>)
            request -> http.singleRequest(forward.withEntity(request.entity()))
                .thenApply(FloorProxyMain::passOn))
        .toCompletableFuture().join();
    System.out.println("FLOOR " + port);
    system.getWhenTerminated().toCompletableFuture().join();
  }

  /** The upstream's answer with its entity, status and content type; its own headers stay behind. */
  private static HttpResponse passOn(HttpResponse answer) {
    return HttpResponse.create().withStatus(answer.status()).withEntity(answer.entity());
  }
}
