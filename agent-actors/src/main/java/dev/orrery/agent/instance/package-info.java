/**
 * The AgentInstance entity: one agent's conversation, event-sourced turn by turn (model replies, tool
 * calls, tool results, answers), and the loop that drives it through the LLM port and the tools interface.
 */
package dev.orrery.agent.instance;
