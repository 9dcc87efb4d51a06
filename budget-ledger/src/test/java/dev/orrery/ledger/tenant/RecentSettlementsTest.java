package dev.orrery.ledger.tenant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A tenant remembers its recent settlements, forgets the oldest, and keeps them through a snapshot. */
class RecentSettlementsTest {

  private static RecentSettlements settle(int from, int to) {
    RecentSettlements s = RecentSettlements.EMPTY;
    for (int i = from; i < to; i++) s = s.plus("r" + i);
    return s;
  }

  @Test
  void aSettledIdIsRememberedAndASecondSettlementChangesNothing() {
    RecentSettlements s = RecentSettlements.EMPTY.plus("r1");
    assertTrue(s.contains("r1"));
    assertFalse(s.contains("r2"));
    assertSame(s, s.plus("r1"));
    assertEquals(1, s.size());
  }

  @Test
  void anIdOfAnOlderGenerationIsNotAddedAgain() {
    RecentSettlements s = settle(0, RecentSettlements.GENERATION + 5); // r0 is in a frozen generation now
    assertSame(s, s.plus("r0"));
    assertSame(s, s.plus("r" + (RecentSettlements.GENERATION + 2))); // and this one in the current
    assertEquals(RecentSettlements.GENERATION + 5, s.size());
    assertEquals(s.order(), s.plus("r0").order());
  }

  @Test
  void theNewestAreRememberedAndTheOldestForgottenWholeGenerationsAtATime() {
    int total = RecentSettlements.CAPACITY + 3 * RecentSettlements.GENERATION + 17;
    RecentSettlements s = settle(0, total);
    int kept = s.size();
    assertTrue(kept <= RecentSettlements.CAPACITY && kept >= RecentSettlements.CAPACITY - RecentSettlements.GENERATION,
        "kept " + kept);
    for (int i = total - kept; i < total; i++) assertTrue(s.contains("r" + i), "r" + i + " is among the newest");
    for (int i = 0; i < total - kept; i++) assertFalse(s.contains("r" + i), "r" + i + " is among the oldest");
  }

  @Test
  void aSnapshotKeepsThemOldestFirstAndReadsBackTheSame() throws Exception {
    RecentSettlements s = settle(0, 2 * RecentSettlements.GENERATION + 5);
    List<String> order = s.order();
    assertEquals("r0", order.get(0));
    assertEquals("r" + (order.size() - 1), order.get(order.size() - 1));
    ObjectMapper json = new ObjectMapper();
    String text = json.writeValueAsString(s);
    assertTrue(text.startsWith("[\"r0\",\"r1\""), text.substring(0, 20));
    RecentSettlements back = json.readValue(text, RecentSettlements.class);
    assertEquals(s, back);
    assertTrue(back.contains("r4004") && back.contains("r0"));
  }

  @Test
  void foldingTheSameIdsAgainFromTheStateBeforeGivesTheSameAndChangesNeitherVersion() {
    RecentSettlements before = settle(0, RecentSettlements.CAPACITY - 3); // the next adds forget a generation
    RecentSettlements first = before;
    for (int i = 0; i < 10; i++) first = first.plus("n" + i);
    RecentSettlements second = before;
    for (int i = 0; i < 10; i++) second = second.plus("n" + i);
    assertEquals(first, second);
    assertEquals(first.size(), second.size());
    assertTrue(second.contains("n9") && second.contains("r" + RecentSettlements.GENERATION));
    assertFalse(second.contains("r0"), "the oldest generation is forgotten");
    assertTrue(before.contains("r0") && !before.contains("n0"), "the state before is as it was");
    assertEquals(RecentSettlements.CAPACITY - 3, before.size());
  }

  @Test
  void aVersionExtendedTwoWaysKeepsBothApart() {
    RecentSettlements base = settle(0, 100);
    RecentSettlements a = base.plus("a");
    RecentSettlements b = base.plus("b");
    RecentSettlements a2 = a.plus("a2");
    assertTrue(a.contains("a") && !a.contains("b") && !a.contains("a2"));
    assertTrue(b.contains("b") && !b.contains("a"));
    assertTrue(a2.contains("a") && a2.contains("a2") && !a2.contains("b"));
    assertFalse(base.contains("a") || base.contains("b"));
    assertEquals(List.of("r98", "r99", "b"), b.order().subList(98, 101));
    assertEquals(101, b.size());
    assertEquals(102, a2.size());
  }
}
