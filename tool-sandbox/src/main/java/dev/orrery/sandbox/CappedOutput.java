package dev.orrery.sandbox;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/**
 * An output stream that keeps the first {@code limit} bytes written to it and counts (but drops) the
 * rest, so a program that prints without end cannot fill the node's memory. Thread-safe: a pump thread
 * writes while the caller reads the result after the program ended.
 */
public final class CappedOutput extends OutputStream {
  /** The start of the line appended to a truncated output. */
  public static final String TRUNCATION_MARKER = "[output truncated";

  private final int limit;
  private final ByteArrayOutputStream kept;
  private long total;

  public CappedOutput(int limit) {
    if (limit < 0) throw new IllegalArgumentException("limit must be >= 0, was " + limit);
    this.limit = limit;
    this.kept = new ByteArrayOutputStream(Math.min(limit, 8192));
  }

  @Override
  public synchronized void write(int b) {
    if (total < limit) kept.write(b);
    total++;
  }

  @Override
  public synchronized void write(byte[] b, int off, int len) {
    long room = limit - total;
    if (room > 0) kept.write(b, off, (int) Math.min(room, len));
    total += len;
  }

  public synchronized boolean truncated() {
    return total > limit;
  }

  public synchronized long totalBytes() {
    return total;
  }

  /** What was kept, as UTF-8 (a character cut at the limit becomes a replacement character). */
  public synchronized String text() {
    return kept.toString(StandardCharsets.UTF_8);
  }

  /** What was kept, followed by a marker line when something was dropped. */
  public synchronized String textWithMarker() {
    if (!truncated()) return text();
    return text() + "\n" + TRUNCATION_MARKER + ": kept " + limit + " of " + total + " bytes]\n";
  }
}
