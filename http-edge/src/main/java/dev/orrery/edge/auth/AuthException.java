package dev.orrery.edge.auth;

/**
 * A credential was refused. The message is short and fixed (for example "token expired") and never contains
 * the token, the key or the underlying parser's message, so it is safe to log and to return to the client.
 */
public final class AuthException extends RuntimeException {

  private static final long serialVersionUID = 1L;

  public AuthException(String message) {
    // No cause on purpose: a JOSE parser's message can quote the decoded header or claims of the token.
    super(message);
  }
}
