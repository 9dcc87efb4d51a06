package dev.orrery.router.actor;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.Predicate;
import java.util.function.ToIntFunction;

/**
 * Per-tenant FIFO sub-queues served in weighted round-robin: the tenant at the head of the ring gets up
 * to its weight of items, then goes to the back. A tenant with one waiting item is served within one
 * turn of the ring however many items another tenant has, which is what keeps a burst from starving a
 * single call. Empty sub-queues are dropped, so memory follows what waits. Not thread-safe.
 */
final class FairQueue<T> {
  private final ToIntFunction<String> weight;
  private final Map<String, ArrayDeque<T>> byTenant = new HashMap<>();
  /** Tenants with items, in service order; the head is being served. */
  private final ArrayDeque<String> ring = new ArrayDeque<>();
  private int servedInTurn;
  private int size;

  FairQueue(ToIntFunction<String> weight) {
    this.weight = weight;
  }

  int size() {
    return size;
  }

  boolean isEmpty() {
    return size == 0;
  }

  void add(String tenant, T item) {
    ArrayDeque<T> queue = byTenant.get(tenant);
    if (queue == null) {
      queue = new ArrayDeque<>();
      byTenant.put(tenant, queue);
      ring.addLast(tenant);
    }
    queue.addLast(item);
    size++;
  }

  /** The next item in weighted round-robin order, or null. */
  T poll() {
    String tenant = ring.peekFirst();
    if (tenant == null) return null;
    ArrayDeque<T> queue = byTenant.get(tenant);
    T item = queue.pollFirst();
    size--;
    servedInTurn++;
    if (queue.isEmpty()) {
      byTenant.remove(tenant);
      ring.pollFirst();
      servedInTurn = 0;
    } else if (servedInTurn >= Math.max(1, weight.applyAsInt(tenant))) {
      ring.addLast(ring.pollFirst());
      servedInTurn = 0;
    }
    return item;
  }

  /** Removes every item that matches, handing each to {@code removed}, in no particular order. */
  void removeIf(Predicate<T> matches, Consumer<T> removed) {
    String head = ring.peekFirst();
    Iterator<Map.Entry<String, ArrayDeque<T>>> tenants = byTenant.entrySet().iterator();
    while (tenants.hasNext()) {
      Map.Entry<String, ArrayDeque<T>> e = tenants.next();
      Iterator<T> items = e.getValue().iterator();
      while (items.hasNext()) {
        T item = items.next();
        if (matches.test(item)) {
          items.remove();
          size--;
          removed.accept(item);
        }
      }
      if (e.getValue().isEmpty()) {
        tenants.remove();
        ring.remove(e.getKey());
      }
    }
    if (head != null && !head.equals(ring.peekFirst())) servedInTurn = 0;
  }

  /** Removes everything, handing each item to {@code removed}. */
  void drain(Consumer<T> removed) {
    removeIf(item -> true, removed);
  }
}
