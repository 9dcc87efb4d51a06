/**
 * The HTTP edge: pekko-http routes per resource, the error envelope every failure answers with, and the
 * binding that drains on coordinated shutdown. It composes the capability modules; nothing depends on it
 * but the node assembly.
 */
package dev.orrery.edge;
