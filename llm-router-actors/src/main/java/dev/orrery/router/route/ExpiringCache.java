package dev.orrery.router.route;

import java.time.Duration;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A bounded map whose entries expire a fixed time after they were put: the oldest entry goes first when
 * it is full. Thread-safe through one lock, held only for map operations.
 */
final class ExpiringCache<K, V> {
  private record Entry<V>(V value, long expiresAt) {}

  private final long ttlNanos;
  private final int maxEntries;
  /** Insertion order is expiry order, since every entry lives the same time. */
  private final LinkedHashMap<K, Entry<V>> entries = new LinkedHashMap<>();

  ExpiringCache(Duration ttl, int maxEntries) {
    this.ttlNanos = ttl.toNanos();
    this.maxEntries = maxEntries;
  }

  synchronized V get(K key, long now) {
    Entry<V> e = entries.get(key);
    if (e == null) return null;
    if (e.expiresAt() - now <= 0) {
      entries.remove(key);
      return null;
    }
    return e.value();
  }

  synchronized void put(K key, V value, long now) {
    entries.remove(key); // a re-put moves to the back: it now expires last
    entries.put(key, new Entry<>(value, now + ttlNanos));
    Iterator<Map.Entry<K, Entry<V>>> oldest = entries.entrySet().iterator();
    while (oldest.hasNext()) {
      Map.Entry<K, Entry<V>> e = oldest.next();
      if (entries.size() > maxEntries || e.getValue().expiresAt() - now <= 0) oldest.remove(); else break;
    }
  }

  synchronized int size() {
    return entries.size();
  }
}
