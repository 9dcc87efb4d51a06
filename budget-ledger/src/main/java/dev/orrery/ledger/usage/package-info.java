/**
 * The usage read side: settlements projected from the tenants' journals into PostgreSQL, exactly once,
 * and the queries that sum them by run, node, provider, model and day. Plain JDBC on a given DataSource.
 */
package dev.orrery.ledger.usage;
