/**
 * How run events and run snapshots written by earlier code are read by this code: one Pekko
 * {@code JacksonMigration} per changed class, registered under {@code pekko.serialization.jackson.migrations}
 * in runtime-core's {@code reference.conf}, which also makes the serializer write each class's version
 * into the stored manifest ({@code <class>#<version>}). Migrations work on JSON trees only and never use
 * the current classes: they describe formats as they were. The rules are in docs/replay.md.
 */
package dev.orrery.core.run.migration;
