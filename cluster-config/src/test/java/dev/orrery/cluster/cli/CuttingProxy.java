package dev.orrery.cluster.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A TCP proxy in front of a node that breaks the first {@code cuts} event streams ({@code GET …/events})
 * after {@code bytes} bytes of their answer, the way a flaky network or a proxy's idle timeout would, but
 * never before a whole event with an {@code id} has gone through (a run's first event, which carries its
 * workflow, can be longer than {@code bytes}: a cut inside it left the client nothing to resume from). It
 * remembers the request head of every event stream, to see what a client sent when it came back.
 */
final class CuttingProxy implements AutoCloseable {
  private final ServerSocket server;
  private final int targetPort;
  private final int bytes;
  private final AtomicInteger cutsLeft;
  private final List<String> eventRequests = new CopyOnWriteArrayList<>();
  private final List<Socket> sockets = new CopyOnWriteArrayList<>();

  CuttingProxy(int targetPort, int cuts, int bytes) throws IOException {
    this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    this.targetPort = targetPort;
    this.bytes = bytes;
    this.cutsLeft = new AtomicInteger(cuts);
    daemon(this::accept);
  }

  String url() {
    return "http://127.0.0.1:" + server.getLocalPort();
  }

  /** The request heads of the event streams asked for, in order. */
  List<String> eventRequests() {
    return eventRequests;
  }

  private void accept() {
    while (!server.isClosed()) {
      try {
        Socket client = server.accept();
        Socket upstream = new Socket(InetAddress.getLoopbackAddress(), targetPort);
        sockets.add(client);
        sockets.add(upstream);
        Connection c = new Connection(client, upstream);
        daemon(c::up);
        daemon(c::down);
      } catch (IOException e) {
        return; // closed
      }
    }
  }

  private final class Connection {
    private final Socket client;
    private final Socket upstream;
    /** Set when this connection carries an event stream that is to be cut. */
    private volatile boolean doomed;
    private int sentSinceEvents;
    /** The answer so far, to see whether an event with an id has gone through whole. */
    private final StringBuilder answer = new StringBuilder();

    Connection(Socket client, Socket upstream) {
      this.client = client;
      this.upstream = upstream;
    }

    void up() {
      pump(client, upstream, (chunk, n) -> {
        String text = new String(chunk, 0, n, StandardCharsets.ISO_8859_1);
        int at = text.indexOf("GET /api/v1/runs/");
        if (at >= 0 && text.indexOf("/events", at) > 0) {
          int end = text.indexOf("\r\n\r\n", at);
          eventRequests.add(text.substring(at, end < 0 ? text.length() : end));
          if (cutsLeft.getAndDecrement() > 0) doomed = true;
        }
      });
    }

    void down() {
      pump(upstream, client, (chunk, n) -> {
        if (!doomed) return;
        sentSinceEvents += n;
        answer.append(new String(chunk, 0, n, StandardCharsets.ISO_8859_1));
        int id = answer.lastIndexOf("\nid:");
        if (sentSinceEvents >= bytes && id >= 0 && answer.indexOf("\n\n", id) > 0) {
          closeQuietly(client);
          closeQuietly(upstream);
        }
      });
    }
  }

  private interface Tap {
    void seen(byte[] chunk, int n);
  }

  private static void pump(Socket from, Socket to, Tap tap) {
    byte[] buffer = new byte[512];
    try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
      int n;
      while ((n = in.read(buffer)) >= 0) {
        out.write(buffer, 0, n);
        out.flush();
        tap.seen(buffer, n);
      }
    } catch (IOException e) {
      // one side hung up (or was cut): so does the other
    } finally {
      closeQuietly(from);
      closeQuietly(to);
    }
  }

  private static void daemon(Runnable task) {
    Thread t = new Thread(task, "cutting-proxy");
    t.setDaemon(true);
    t.start();
  }

  private static void closeQuietly(Socket socket) {
    try {
      socket.close();
    } catch (IOException e) {
      // already closed
    }
  }

  @Override
  public void close() throws IOException {
    server.close();
    for (Socket s : sockets) closeQuietly(s);
  }
}
