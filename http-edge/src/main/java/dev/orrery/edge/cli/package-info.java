/**
 * The {@code orrery runs …} commands and the small Java client they use: plain HTTP to a node's
 * {@code /api/v1/runs} routes with the JDK's {@code HttpClient} and Jackson, no actor system. The client
 * knows the edge contract's shapes only as JSON trees, so it depends on nothing else of ours.
 */
package dev.orrery.edge.cli;
