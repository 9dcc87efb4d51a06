package dev.orrery.ledger.tenant;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import org.pcollections.ConsPStack;
import org.pcollections.HashTreePSet;
import org.pcollections.PSet;
import org.pcollections.PStack;

/**
 * The reservation ids a tenant settled most recently: the newest {@link #CAPACITY} minus at most one
 * {@link #GENERATION}, so that a step re-dispatched after a crash is not charged again for a call it
 * already settled. Immutable, like the state it is part of.
 *
 * <p>Ids gather in a small persistent generation; a full generation is frozen into an immutable set, and
 * the oldest frozen one is dropped whole. Adding an id is an update of a tree of at most a generation, and
 * forgetting costs nothing per id. (One 50,000-entry persistent set with its order, trimmed by one id per
 * settlement, took about a fifth of a node's CPU under the gateway's load.)
 */
public final class RecentSettlements {
  /**
   * Ids frozen together; also how many of the oldest may already be forgotten. Large, because a look-up
   * of an id not settled yet (every new settlement, twice) probes every frozen generation: with 24
   * generations of 2,000 those probes were 7 % of a node's CPU under the gateway's load.
   */
  static final int GENERATION = 10_000;
  /**
   * At most how many ids are remembered. Re-dispatch follows a crash within seconds to minutes; at 1,000
   * calls a second this covers about a minute, and keeps snapshots to a few megabytes.
   */
  public static final int CAPACITY = 60_000;
  private static final int FROZEN = CAPACITY / GENERATION - 1;

  public static final RecentSettlements EMPTY =
      new RecentSettlements(List.of(), List.of(), HashTreePSet.empty(), ConsPStack.empty());

  /** Oldest first; each generation's ids in the order they were settled. */
  private final List<List<String>> frozenOrder;
  /** The same generations, for look-ups. */
  private final List<Set<String>> frozen;
  private final PSet<String> current;
  /** The current generation, newest first. */
  private final PStack<String> currentOrder;

  private RecentSettlements(List<List<String>> frozenOrder, List<Set<String>> frozen, PSet<String> current,
      PStack<String> currentOrder) {
    this.frozenOrder = frozenOrder;
    this.frozen = frozen;
    this.current = current;
    this.currentOrder = currentOrder;
  }

  /** From a snapshot's list, oldest first. */
  @JsonCreator
  public static RecentSettlements of(List<String> order) {
    RecentSettlements s = EMPTY;
    for (String id : order) s = s.plus(id);
    return s;
  }

  public boolean contains(String reservationId) {
    return current.contains(reservationId) || inFrozen(reservationId);
  }

  private boolean inFrozen(String reservationId) {
    for (int i = frozen.size() - 1; i >= 0; i--) { // newest first: a re-dispatched step's settlement is recent
      if (frozen.get(i).contains(reservationId)) return true;
    }
    return false;
  }

  public RecentSettlements plus(String reservationId) {
    // The tree is walked once: its plus finds an id it has already (the same size), rather than a look-up first.
    PSet<String> nextCurrent = current.plus(reservationId);
    if (nextCurrent.size() == current.size() || inFrozen(reservationId)) return this;
    PStack<String> nextOrder = currentOrder.plus(reservationId);
    if (nextCurrent.size() < GENERATION) return new RecentSettlements(frozenOrder, frozen, nextCurrent, nextOrder);
    List<String> order = new ArrayList<>(nextOrder);
    Collections.reverse(order);
    List<List<String>> nextFrozenOrder = new ArrayList<>(frozenOrder);
    List<Set<String>> nextFrozen = new ArrayList<>(frozen);
    nextFrozenOrder.add(List.copyOf(order));
    // From the order's array, not from the persistent set: iterating that set's trees was most of what a
    // freeze cost. The ids are distinct (plus adds none twice), as Set.of requires.
    nextFrozen.add(Set.of(order.toArray(String[]::new)));
    if (nextFrozen.size() > FROZEN) {
      nextFrozenOrder.remove(0);
      nextFrozen.remove(0);
    }
    return new RecentSettlements(List.copyOf(nextFrozenOrder), List.copyOf(nextFrozen), HashTreePSet.empty(),
        ConsPStack.empty());
  }

  public int size() {
    int n = current.size();
    for (Set<String> g : frozen) n += g.size();
    return n;
  }

  /** What a snapshot stores: every remembered id, oldest first. */
  @JsonValue
  public List<String> order() {
    List<String> all = new ArrayList<>(size());
    frozenOrder.forEach(all::addAll);
    List<String> newest = new ArrayList<>(currentOrder);
    Collections.reverse(newest);
    all.addAll(newest);
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
