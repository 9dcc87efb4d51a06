package dev.orrery.core;

/**
 * Marker for every message, event and snapshot that crosses a serialization boundary (remoting, the
 * journal, the snapshot store). It is bound to Pekko's {@code jackson-json} serializer in
 * {@code serialization.conf}; Java serialization stays off.
 */
public interface JsonSerializable {}
