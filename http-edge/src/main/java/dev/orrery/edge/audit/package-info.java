/**
 * The audit log of the edge: every mutating API call with who made it and how it ended, in PostgreSQL.
 * Written by the edge's auth directive; read by {@code GET /api/v1/audit}.
 */
package dev.orrery.edge.audit;
