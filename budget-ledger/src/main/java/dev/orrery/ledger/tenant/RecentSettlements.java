package dev.orrery.ledger.tenant;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The reservation ids a tenant settled most recently: the newest {@link #CAPACITY} minus at most one
 * {@link #GENERATION}, so that a step re-dispatched after a crash is not charged again for a call it
 * already settled. A value, like the state it is part of: adding an id gives a new one and leaves this
 * one as it was.
 *
 * <p>Underneath, the versions made from one another share one {@link Log}: the ids in the order they
 * were settled, and a hash map from each id to its place there. A version is a window of that log, so a
 * look-up is one hash probe and adding an id is one append. (A persistent hash tree for the newest ids
 * and frozen sets for the older ones cost a probe of each set per look-up and an allocating tree update
 * per add: 5–10 % of a node's CPU under the gateway's load.) The tenant's entity folds each settlement
 * twice: while deciding its batch, then, from the same state, in the event handler. The second fold
 * finds each id already at the place it would append it to and only moves its window. A version extended
 * in any other way than its log's newest (a branch) gets a log of its own, a copy. The one thing a version
 * that is not its log's newest may get wrong is a look-up of an id that was forgotten and settled again
 * after it (the hash map knows the id's newest place only); the entity looks ids up in the newest only.
 *
 * <p>Only the tenant's entity adds and looks up, one operation at a time. {@link #order()}, which a
 * snapshot reads on another thread, reads only the ids of its own window, written before the version was
 * made, from chunks that are never written again below a version's end.
 */
public final class RecentSettlements {
  /** Ids are forgotten a generation at a time, the oldest first. */
  static final int GENERATION = 10_000;
  /**
   * At most how many ids are remembered. Re-dispatch follows a crash within seconds to minutes; at 1,000
   * calls a second this covers about a minute, and keeps snapshots to a few megabytes.
   */
  public static final int CAPACITY = 60_000;

  /** No log yet: the first id gives a version its own, so this constant is never written through. */
  public static final RecentSettlements EMPTY = new RecentSettlements(null, null, 0, 0);

  /** The ids of a log, a chunk of {@link #GENERATION} per array; chunk {@code first} is {@code arrays[0]}. */
  private record Chunks(long first, String[][] arrays) {
    String at(long position) {
      long chunk = position / GENERATION - first;
      return chunk < 0 || chunk >= arrays.length ? null : arrays[(int) chunk][(int) (position % GENERATION)];
    }
  }

  /** The ids settled through one line of versions, and where each is. Touched by the entity's thread only. */
  private static final class Log {
    private final Map<String, Long> positions = new HashMap<>();
    /** Replaced when a chunk is added or forgotten, so that the versions made before keep theirs. */
    private Chunks chunks = new Chunks(0, new String[0][]);
    private long end;

    void append(String id) {
      int offset = (int) (end % GENERATION);
      if (offset == 0) {
        String[][] grown = Arrays.copyOf(chunks.arrays(), chunks.arrays().length + 1);
        grown[grown.length - 1] = new String[GENERATION];
        chunks = new Chunks(chunks.first(), grown);
      }
      chunks.arrays()[chunks.arrays().length - 1][offset] = id;
      positions.put(id, end);
      end++;
    }

    /** Forgets the chunks below {@code position}: no version a step behind the newest reads them again. */
    void forgetBefore(long position) {
      while (chunks.arrays().length > 0 && (chunks.first() + 1) * GENERATION <= position) {
        long base = chunks.first() * GENERATION;
        String[] oldest = chunks.arrays()[0];
        for (int i = 0; i < oldest.length; i++) positions.remove(oldest[i], base + i); // unless settled again since
        chunks = new Chunks(chunks.first() + 1, Arrays.copyOfRange(chunks.arrays(), 1, chunks.arrays().length));
      }
    }
  }

  private final Log log;
  /** This version's chunks, as the log had them when it was made. */
  private final Chunks chunks;
  /** This version's window of the log: positions {@code start} (inclusive) to {@code end}. */
  private final long start;
  private final long end;

  private RecentSettlements(Log log, Chunks chunks, long start, long end) {
    this.log = log;
    this.chunks = chunks;
    this.start = start;
    this.end = end;
  }

  /** From a snapshot's list, oldest first. */
  @JsonCreator
  public static RecentSettlements of(List<String> order) {
    RecentSettlements s = EMPTY;
    for (String id : order) s = s.plus(id);
    return s;
  }

  public boolean contains(String reservationId) {
    if (log == null) return false;
    Long position = log.positions.get(reservationId);
    return position != null && position >= start && position < end;
  }

  public RecentSettlements plus(String reservationId) {
    if (log == null) return new RecentSettlements(new Log(), null, 0, 0).plus(reservationId);
    if (end < log.end) {
      // Adding to a version that is not the newest: the entity's second fold of a batch finds the id where
      // its first fold put it.
      if (reservationId.equals(log.chunks.at(end))) return next();
      if (contains(reservationId)) return this;
      return of(order()).plus(reservationId);
    }
    if (contains(reservationId)) return this;
    log.append(reservationId);
    return next();
  }

  /** This version's window one id further, forgetting the oldest generation when it is full. */
  private RecentSettlements next() {
    long nextEnd = end + 1;
    if (nextEnd - start < CAPACITY) return new RecentSettlements(log, log.chunks, start, nextEnd);
    long nextStart = start + GENERATION;
    // One generation more than the window is kept, for the fold from the state a step behind.
    log.forgetBefore(nextStart - GENERATION);
    return new RecentSettlements(log, log.chunks, nextStart, nextEnd);
  }

  public int size() {
    return (int) (end - start);
  }

  /** What a snapshot stores: every remembered id, oldest first. */
  @JsonValue
  public List<String> order() {
    List<String> all = new ArrayList<>(size());
    for (long p = start; p < end; p++) all.add(chunks.at(p));
    return all;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof RecentSettlements other && order().equals(other.order());
  }

  @Override
  public int hashCode() {
    return order().hashCode();
  }

  @Override
  public String toString() {
    return "RecentSettlements(" + size() + ")";
  }
}
