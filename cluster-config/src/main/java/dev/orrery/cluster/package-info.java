/**
 * Node assembly: {@code orrery serve}, the layered configuration, the database (embedded or external),
 * the sharded entities and the HTTP edge, started in that order and stopped in reverse by coordinated
 * shutdown. It depends on every other module and nothing depends on it.
 */
package dev.orrery.cluster;
