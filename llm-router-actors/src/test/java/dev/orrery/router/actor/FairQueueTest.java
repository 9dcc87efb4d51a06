package dev.orrery.router.actor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class FairQueueTest {
  @Test
  void tenantsAreServedInRoundRobinWhateverTheirBacklog() {
    var q = new FairQueue<String>(t -> 1);
    for (int i = 0; i < 1000; i++) q.add("A", "A" + i);
    q.add("B", "B0");
    q.add("C", "C0");
    assertEquals(List.of("A0", "B0", "C0", "A1", "A2"), poll(q, 5));
    assertEquals(997, q.size());
  }

  @Test
  void weightsSetHowManyATenantGetsPerTurn() {
    var q = new FairQueue<String>(t -> Map.of("A", 3).getOrDefault(t, 1));
    for (int i = 0; i < 10; i++) {
      q.add("A", "A" + i);
      q.add("B", "B" + i);
    }
    assertEquals(List.of("A0", "A1", "A2", "B0", "A3", "A4", "A5", "B1"), poll(q, 8));
  }

  @Test
  void removedItemsLeaveNoEmptyTenantBehind() {
    var q = new FairQueue<Integer>(t -> 1);
    for (int i = 0; i < 10; i++) q.add(i % 2 == 0 ? "even" : "odd", i);
    List<Integer> removed = new ArrayList<>();
    q.removeIf(i -> i % 2 == 1, removed::add);
    assertEquals(5, removed.size());
    assertEquals(List.of(0, 2, 4, 6, 8), poll(q, 5));
    assertNull(q.poll());
    assertEquals(0, q.size());
  }

  private static <T> List<T> poll(FairQueue<T> q, int n) {
    List<T> out = new ArrayList<>();
    for (int i = 0; i < n; i++) out.add(q.poll());
    return out;
  }
}
